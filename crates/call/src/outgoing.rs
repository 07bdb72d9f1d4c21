//! A call's outgoing media: the microphone and camera opened once, one encoder per kind, and
//! every leg fed from them (a mesh call sends the same picture to each member, at a size
//! that fits them all: `quality::for_receivers`).

use crate::fanout::Fanout;
use crate::pipeline::{self, Encoded, MediaControl, MediaTrouble, SendCounters};
use media::{AudioSource, FrameSink, VideoSource};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Encoded video frames a leg's writer may fall behind by before it loses one.
const VIDEO_QUEUE: usize = 4;
/// Encoded 20 ms audio packets a leg's writer may fall behind by.
const AUDIO_QUEUE: usize = 16;

/// What one leg sends: its queues of the call's encoded media, and the shared controls.
pub struct LegSend {
    pub control: Arc<MediaControl>,
    pub counters: Arc<SendCounters>,
    pub audio: Option<mpsc::Receiver<Encoded>>,
    pub video: Option<mpsc::Receiver<Encoded>>,
}

/// The call's capture and encoder threads; ended by `close`.
pub struct Outgoing {
    control: Arc<MediaControl>,
    counters: Arc<SendCounters>,
    apm: Option<media::apm::AudioProcessor>,
    preview: Arc<FrameSink>,
    audio: Option<Arc<Fanout>>,
    video: Option<Arc<Fanout>>,
    errors: mpsc::Sender<MediaTrouble>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Outgoing {
    /// Starts the microphone's encoder (when there is one); the camera comes with `add_video`.
    /// Device and codec trouble comes out of the returned receiver.
    pub fn start(
        audio: Option<Box<dyn AudioSource>>,
        apm: Option<media::apm::AudioProcessor>,
        control: Arc<MediaControl>,
        preview: Arc<FrameSink>,
    ) -> std::io::Result<(Self, mpsc::Receiver<MediaTrouble>)> {
        let (errors, errors_rx) = mpsc::channel(8);
        let mut out = Self {
            control,
            counters: Arc::new(SendCounters::default()),
            apm,
            preview,
            audio: None,
            video: None,
            errors,
            threads: Vec::new(),
        };
        if let Some(src) = audio {
            let fanout = Arc::new(Fanout::new(AUDIO_QUEUE));
            out.threads.push(pipeline::spawn_audio_sender(
                src,
                out.apm.clone(),
                out.control.clone(),
                fanout.clone(),
                out.errors.clone(),
            )?);
            out.audio = Some(fanout);
        }
        Ok((out, errors_rx))
    }

    /// Starts sending video from `src` (once; later calls keep the camera there is).
    pub fn add_video(&mut self, src: Box<dyn VideoSource>) -> std::io::Result<()> {
        if self.video.is_some() {
            return Ok(());
        }
        let fanout = Arc::new(Fanout::new(VIDEO_QUEUE));
        self.threads.push(pipeline::spawn_video_sender(
            src,
            self.control.clone(),
            self.preview.clone(),
            fanout.clone(),
            self.counters.clone(),
            self.errors.clone(),
        )?);
        self.video = Some(fanout);
        Ok(())
    }

    pub fn has_video(&self) -> bool {
        self.video.is_some()
    }

    /// Echo cancellation, for the mixer that feeds it the far end.
    pub fn apm(&self) -> Option<&media::apm::AudioProcessor> {
        self.apm.as_ref()
    }

    pub fn control(&self) -> &Arc<MediaControl> {
        &self.control
    }

    /// A leg's share: its own queues of what is encoded from now on.
    pub fn subscribe(&self) -> LegSend {
        LegSend {
            control: self.control.clone(),
            counters: self.counters.clone(),
            audio: self.audio.as_ref().map(|f| f.subscribe()),
            video: self.video.as_ref().map(|f| f.subscribe()),
        }
    }

    /// A queue of the encoded video, for a leg that turns video on mid-call.
    pub fn subscribe_video(&self) -> Option<mpsc::Receiver<Encoded>> {
        self.video.as_ref().map(|f| f.subscribe())
    }

    /// Stops capture and encoding and waits for the threads.
    pub async fn close(mut self) {
        self.control.stop();
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}
