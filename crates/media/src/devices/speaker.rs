//! The speaker: 48 kHz mono frames in, cpal playback on its own thread out, resampled to the
//! device's rate and copied to every channel. The queue holds at most 200 ms (older audio is
//! dropped so delay cannot grow); an empty queue plays silence and counts an underrun.

use super::resample::ToChunks;
use super::stream_thread::StreamThread;
use super::DeviceError;
use crate::audio::Tone;
use crate::frame::AudioFrame;
use crate::SAMPLE_RATE;
use cpal::traits::DeviceTrait;
use cpal::{SizedSample, StreamConfig};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<f32>>,
    gone: Mutex<Option<String>>,
    underruns: AtomicU64,
}

/// An open output device; playback stops when it is dropped.
pub struct Speaker {
    name: String,
    shared: Arc<Shared>,
    chunks: ToChunks,
    pending: Vec<f32>,
    cap: usize,
    _stream: StreamThread,
}

impl Speaker {
    /// Opens `name` (`None`: the system default output).
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
        } = super::opening(name, false)?;
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let stream = StreamThread::spawn("simu-speaker", &label, move || match format {
            cpal::SampleFormat::F32 => build::<f32>(&device, &stream_config, thread_shared),
            cpal::SampleFormat::I16 => build::<i16>(&device, &stream_config, thread_shared),
            cpal::SampleFormat::I32 => build::<i32>(&device, &stream_config, thread_shared),
            cpal::SampleFormat::U16 => build::<u16>(&device, &stream_config, thread_shared),
            other => Err(format!("unsupported sample format {other:?}")),
        })?;
        let chunks = ToChunks::new(SAMPLE_RATE, rate, (rate / 50) as usize)
            .map_err(|e| DeviceError::Open(label.clone(), e))?;
        tracing::info!(device = %label, rate, ?format, "speaker open");
        Ok(Self {
            name: label,
            shared,
            chunks,
            pending: Vec::new(),
            cap: rate as usize / 5,
            _stream: stream,
        })
    }

    /// Plays on the Pulse sink `device` (48 kHz mono: Pulse converts); the blocking writes of
    /// 10 ms chunks pace the thread.
    fn open_pulse(device: &str) -> Result<Self, DeviceError> {
        let label = device.to_string();
        let shared = Arc::new(Shared::default());
        let (player, on_gone) = (shared.clone(), shared.clone());
        let wanted = label.clone();
        let mut chunk = vec![0.0f32; super::pulse::CHUNK];
        let stream = StreamThread::spawn_loop(
            "simu-speaker",
            &label,
            move || super::pulse::open(&wanted, false, Duration::from_millis(40)),
            move |s| {
                fill(&player, &mut chunk);
                super::pulse::write(s, &chunk)
            },
            move |e| *on_gone.gone.lock().unwrap_or_else(|p| p.into_inner()) = Some(e),
        )?;
        let chunks = ToChunks::new(SAMPLE_RATE, SAMPLE_RATE, (SAMPLE_RATE / 50) as usize)
            .map_err(|e| DeviceError::Open(label.clone(), e))?;
        tracing::info!(device = %label, "speaker open (PulseAudio)");
        Ok(Self {
            name: label,
            shared,
            chunks,
            pending: Vec::new(),
            cap: SAMPLE_RATE as usize / 5,
            _stream: stream,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues a frame for playout; fails once the device has gone.
    pub fn play(&mut self, frame: &AudioFrame) -> Result<(), DeviceError> {
        if let Some(e) = self
            .shared
            .gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(DeviceError::Open(self.name.clone(), e));
        }
        self.pending
            .extend(frame.samples.iter().map(|&s| f32::from(s) / 32768.0));
        while self.pending.len() >= self.chunks.needs() {
            let rest = self.pending.split_off(self.chunks.needs());
            let out = self.chunks.process(&self.pending);
            self.pending = rest;
            let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.extend(out);
            let excess = q.len().saturating_sub(self.cap);
            q.drain(..excess);
        }
        Ok(())
    }

    /// Times the device found nothing to play.
    pub fn underruns(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }
}

fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, String>
where
    T: SizedSample + cpal::FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let on_error = {
        let shared = shared.clone();
        move |e: cpal::StreamError| {
            *shared.gone.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
    };
    let mut mono: Vec<f32> = Vec::new();
    device
        .build_output_stream(
            config,
            move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
                // Grown once to the callback's size, then reused: no allocation per callback.
                mono.resize(data.len() / channels, 0.0);
                fill(&shared, &mut mono);
                for (frame, &s) in data.chunks_mut(channels).zip(&mono) {
                    frame.fill(T::from_sample(s));
                }
            },
            on_error,
            None,
        )
        .map_err(|e| e.to_string())
}

/// Takes the next samples to play into `out`; silence (and an underrun) where there are none.
fn fill(shared: &Shared, out: &mut [f32]) {
    let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    let mut short = false;
    for s in out.iter_mut() {
        *s = q.pop_front().unwrap_or_else(|| {
            short = true;
            0.0
        });
    }
    if short {
        shared.underruns.fetch_add(1, Ordering::Relaxed);
    }
}

impl crate::source::AudioSink for Speaker {
    fn play(&mut self, frame: &AudioFrame) -> Result<(), crate::source::SourceError> {
        Speaker::play(self, frame).map_err(|e| crate::source::SourceError::Gone(e.to_string()))
    }
    fn name(&self) -> String {
        self.name.clone()
    }
}

/// Plays a tone on `name` for `duration` (blocking; call it off the async runtime).
pub fn speaker_test(
    name: Option<&str>,
    freq: f32,
    duration: Duration,
) -> Result<String, DeviceError> {
    let mut speaker = Speaker::open(name)?;
    let mut tone = Tone::new(freq, -12.0);
    let start = Instant::now();
    let frame = Duration::from_millis(u64::from(crate::AUDIO_FRAME_MS));
    let mut next = start;
    // Keep ~120 ms queued ahead of the device (its own buffer is ~100 ms), then let it drain.
    while start.elapsed() < duration {
        speaker.play(&tone.frame_at(0))?;
        next += frame;
        if let Some(wait) = next.checked_duration_since(Instant::now() + frame * 6) {
            std::thread::sleep(wait);
        }
    }
    std::thread::sleep(frame * 8);
    Ok(speaker.name().to_string())
}
