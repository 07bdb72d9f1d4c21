//! Where a call's received audio is played, following the user's choice of speaker.

use media::{AudioFrame, AudioSink};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Opens an output device by name (`None`: the system default).
pub type OpenOutput = Arc<dyn Fn(Option<&str>) -> Result<Box<dyn AudioSink>, String> + Send + Sync>;

/// Where a call's received audio is played: how to open a device and the user's current choice,
/// which the decoder thread follows mid-call.
pub struct AudioOutput {
    open: OpenOutput,
    choice: Mutex<Option<String>>,
    version: AtomicU64,
}

impl AudioOutput {
    pub fn new(open: OpenOutput, choice: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            open,
            choice: Mutex::new(choice),
            version: AtomicU64::new(0),
        })
    }

    /// Switches playback to `device` from the next packet on.
    pub fn select(&self, device: Option<String>) {
        *self.choice.lock().unwrap_or_else(|p| p.into_inner()) = device;
        self.version.fetch_add(1, Ordering::Release);
    }

    fn current(&self) -> Option<String> {
        self.choice
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The open device, reopened when the choice changes or (every 2 s) after it failed.
pub(super) struct Playback {
    output: Arc<AudioOutput>,
    sink: Option<Box<dyn AudioSink>>,
    version: u64,
    retry_at: Option<Instant>,
}

impl Playback {
    pub(super) fn new(output: Arc<AudioOutput>) -> Self {
        Self {
            output,
            sink: None,
            version: u64::MAX,
            retry_at: None,
        }
    }

    pub(super) fn play(&mut self, frame: &AudioFrame) {
        let version = self.output.version.load(Ordering::Acquire);
        let due = self.retry_at.is_none_or(|t| Instant::now() >= t);
        if version != self.version || (self.sink.is_none() && due) {
            self.version = version;
            let choice = self.output.current();
            match (self.output.open)(choice.as_deref()) {
                Ok(s) => {
                    tracing::info!(device = %s.name(), "playing received audio");
                    self.sink = Some(s);
                    self.retry_at = None;
                }
                // A device that will not open leaves playback where it was, if anywhere.
                Err(e) => {
                    tracing::warn!(device = ?choice, error = %e, "audio output refused; retrying in 2 s");
                    self.retry_at = Some(Instant::now() + Duration::from_secs(2));
                }
            }
        }
        if let Some(sink) = &mut self.sink {
            if let Err(e) = sink.play(frame) {
                tracing::warn!(error = %e, "audio output lost");
                self.sink = None;
                self.retry_at = Some(Instant::now() + Duration::from_secs(2));
            }
        }
    }
}
