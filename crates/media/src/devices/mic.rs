//! The microphone as an `AudioSource`: cpal capture on its own thread, mixed to mono, resampled
//! to 48 kHz and cut into 20 ms frames. Latency stays bounded: when the sound card runs ahead of
//! the call's clock the oldest audio is dropped, when it falls behind the gap is filled with
//! silence, and a device that disappears is reported as `SourceError::Gone`.

use super::resample::ToChunks;
use super::stream_thread::StreamThread;
use super::DeviceError;
use crate::frame::AudioFrame;
use crate::source::{AudioSource, SourceError};
use crate::{AUDIO_FRAME_SAMPLES, SAMPLE_RATE};
use cpal::traits::DeviceTrait;
use cpal::{SizedSample, StreamConfig};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the capture callback shares with the reader.
#[derive(Default)]
struct Shared {
    samples: Mutex<Captured>,
    ready: Condvar,
}

#[derive(Default)]
struct Captured {
    mono: VecDeque<f32>,
    gone: Option<String>,
}

/// An open microphone; capture stops when it is dropped.
pub struct Microphone {
    name: String,
    shared: Arc<Shared>,
    chunks: ToChunks,
    pending: Vec<f32>,
    _stream: StreamThread,
}

impl Microphone {
    /// Opens `name` (`None`: the system default input; `pulse:…`: a Pulse source).
    pub fn open(name: Option<&str>) -> Result<Self, DeviceError> {
        if let Some(device) = name.and_then(super::pulse::device_of) {
            return Self::open_pulse(device);
        }
        let super::Opening {
            device,
            label,
            rate,
            format,
            config: stream_config,
        } = super::opening(name, true)?;
        let shared = Arc::new(Shared::default());
        // Device samples kept at most (about 100 ms) before the oldest are dropped.
        let cap = rate as usize / 10;
        let thread_shared = shared.clone();
        let stream = StreamThread::spawn("simu-mic", &label, move || match format {
            cpal::SampleFormat::F32 => build::<f32>(&device, &stream_config, thread_shared, cap),
            cpal::SampleFormat::I16 => build::<i16>(&device, &stream_config, thread_shared, cap),
            cpal::SampleFormat::I32 => build::<i32>(&device, &stream_config, thread_shared, cap),
            cpal::SampleFormat::U16 => build::<u16>(&device, &stream_config, thread_shared, cap),
            other => Err(format!("unsupported sample format {other:?}")),
        })?;
        let chunks = ToChunks::new(rate, SAMPLE_RATE, AUDIO_FRAME_SAMPLES)
            .map_err(|e| DeviceError::Open(label.clone(), e))?;
        tracing::info!(device = %label, rate, ?format, "microphone open");
        Ok(Self {
            name: label,
            shared,
            chunks,
            pending: Vec::new(),
            _stream: stream,
        })
    }
}

impl Microphone {
    /// Captures from the Pulse source `device` (48 kHz mono: Pulse converts).
    fn open_pulse(device: &str) -> Result<Self, DeviceError> {
        let label = device.to_string();
        let shared = Arc::new(Shared::default());
        let cap = SAMPLE_RATE as usize / 10;
        let (reader, on_gone) = (shared.clone(), shared.clone());
        let wanted = label.clone();
        let mut buf = Vec::with_capacity(super::pulse::CHUNK);
        let stream = StreamThread::spawn_loop(
            "simu-mic",
            &label,
            move || super::pulse::open(&wanted, true, Duration::from_millis(20)),
            move |s| {
                super::pulse::read(s, &mut buf)?;
                append(&reader, buf.iter().copied(), cap);
                Ok(())
            },
            move |e| lost(&on_gone, e),
        )?;
        let chunks = ToChunks::new(SAMPLE_RATE, SAMPLE_RATE, AUDIO_FRAME_SAMPLES)
            .map_err(|e| DeviceError::Open(label.clone(), e))?;
        tracing::info!(device = %label, "microphone open (PulseAudio)");
        Ok(Self {
            name: label,
            shared,
            chunks,
            pending: Vec::new(),
            _stream: stream,
        })
    }
}

/// Appends captured mono samples, dropping the oldest beyond `cap` (bounded latency).
fn append(shared: &Shared, mono: impl Iterator<Item = f32>, cap: usize) {
    let mut c = shared.samples.lock().unwrap_or_else(|p| p.into_inner());
    c.mono.extend(mono);
    let excess = c.mono.len().saturating_sub(cap);
    c.mono.drain(..excess);
    shared.ready.notify_all();
}

/// The device stopped: the reader reports it as gone.
fn lost(shared: &Shared, error: String) {
    let mut c = shared.samples.lock().unwrap_or_else(|p| p.into_inner());
    c.gone = Some(error);
    shared.ready.notify_all();
}

/// Builds a capture stream for one sample type: mix to mono, append, trim to `cap`.
fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    shared: Arc<Shared>,
    cap: usize,
) -> Result<cpal::Stream, String>
where
    T: SizedSample,
    f32: cpal::FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let on_error = {
        let shared = shared.clone();
        move |e: cpal::StreamError| lost(&shared, e.to_string())
    };
    device
        .build_input_stream(
            config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                let mono = data.chunks(channels).map(|frame| {
                    frame
                        .iter()
                        .map(|&s| cpal::Sample::to_sample::<f32>(s))
                        .sum::<f32>()
                        / channels as f32
                });
                append(&shared, mono, cap);
            },
            on_error,
            None,
        )
        .map_err(|e| e.to_string())
}

impl AudioSource for Microphone {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        let need = self.chunks.needs();
        {
            let mut c = self
                .shared
                .samples
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            // Wait up to three frames for the device to deliver; a stalled device yields silence.
            let deadline = std::time::Instant::now()
                + Duration::from_millis(3 * u64::from(crate::AUDIO_FRAME_MS));
            while c.mono.len() + self.pending.len() < need && c.gone.is_none() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                c = self
                    .shared
                    .ready
                    .wait_timeout(c, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            if let Some(e) = &c.gone {
                return Err(SourceError::Gone(format!("{}: {e}", self.name)));
            }
            let take = need.saturating_sub(self.pending.len()).min(c.mono.len());
            self.pending.extend(c.mono.drain(..take));
        }
        self.pending.resize(need, 0.0);
        let out = self.chunks.process(&self.pending);
        self.pending.clear();
        let samples = out
            .iter()
            .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .collect();
        Ok(AudioFrame {
            samples,
            capture_us: crate::now_micros(),
        })
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// A microphone opened on first use, on the media thread that reads it (opening can take a
/// moment and must not hold up the caller); a device that will not open is a `SourceError`.
pub struct LazyMicrophone {
    name: Option<String>,
    mic: Option<Microphone>,
}

impl LazyMicrophone {
    pub fn new(name: Option<String>) -> Self {
        Self { name, mic: None }
    }
}

impl AudioSource for LazyMicrophone {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        if self.mic.is_none() {
            self.mic = Some(
                Microphone::open(self.name.as_deref())
                    .map_err(|e| SourceError::Device(e.to_string()))?,
            );
        }
        match &mut self.mic {
            Some(m) => m.next_frame(),
            None => Err(SourceError::Device("microphone not open".into())),
        }
    }

    fn name(&self) -> String {
        self.mic
            .as_ref()
            .map(|m| m.name.clone())
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| "default".into())
    }
}

/// Reports the microphone's level (dBFS, every 100 ms) until `stop` is set; for settings screens.
pub fn level_meter(
    name: Option<&str>,
    stop: &std::sync::atomic::AtomicBool,
    mut on_level: impl FnMut(f32),
) -> Result<(), DeviceError> {
    let mut mic = Microphone::open(name)?;
    let mut peak = -100f32;
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let f = mic
            .next_frame()
            .map_err(|e| DeviceError::Open(mic.name.clone(), e.to_string()))?;
        peak = peak.max(f.level_dbfs());
        n += 1;
        if n == 5 {
            on_level(peak);
            peak = -100.0;
            n = 0;
        }
    }
    Ok(())
}
