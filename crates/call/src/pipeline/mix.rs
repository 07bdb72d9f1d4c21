//! A call's received audio: one 20 ms clock for every member's jitter buffer, their decoded
//! audio mixed into one stream that the speaker plays and echo cancellation hears as the far
//! end (one render stream, however many people talk).

use super::playback::Playback;
use super::{sleep_until, AudioOutput, RecvCounters};
use media::jitter::{JitterBuffer, Playout};
use media::opus_codec::OpusDecoder;
use media::AudioFrame;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The call's audio mixer thread; members join and leave it while it runs.
pub struct AudioMix {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    members: Mutex<Vec<Member>>,
    next_id: AtomicU64,
    stop: AtomicBool,
    /// Mixed 20 ms frames handed to the speaker and echo cancellation.
    mixed_frames: AtomicU64,
}

/// One member's audio as the mixer pulls it.
struct Member {
    id: u64,
    jb: Arc<Mutex<JitterBuffer>>,
    dec: OpusDecoder,
    counters: Arc<RecvCounters>,
}

/// A member's place in the mix; leaving it (drop) takes the member out.
pub struct MixInput {
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for MixInput {
    fn drop(&mut self) {
        lock(&self.shared.members).retain(|m| m.id != self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AudioMix {
    /// Starts the mixer: it plays to `output` when there is one (headless: decodes and counts
    /// only) and feeds `apm` the mix as its far end.
    pub fn start(
        apm: Option<media::apm::AudioProcessor>,
        output: Option<Arc<AudioOutput>>,
    ) -> std::io::Result<Arc<Self>> {
        let shared = Arc::new(Shared {
            members: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            mixed_frames: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("simu-audio-mix".into())
            .spawn(move || run(&s, apm, output))?;
        Ok(Arc::new(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Adds a member whose packets arrive in `jb`; its levels and losses go to `counters`.
    pub fn join(
        &self,
        jb: Arc<Mutex<JitterBuffer>>,
        counters: Arc<RecvCounters>,
    ) -> Result<MixInput, media::opus_codec::OpusError> {
        let dec = OpusDecoder::new()?;
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.shared.members).push(Member {
            id,
            jb,
            dec,
            counters,
        });
        Ok(MixInput {
            id,
            shared: self.shared.clone(),
        })
    }

    /// How many members are mixed now.
    #[cfg(test)]
    pub fn members(&self) -> usize {
        lock(&self.shared.members).len()
    }

    /// Mixed frames played (or, headless, produced) so far.
    #[cfg(test)]
    pub fn mixed_frames(&self) -> u64 {
        self.shared.mixed_frames.load(Ordering::Relaxed)
    }

    /// Stops the thread and waits for it (blocking: call it off the runtime).
    pub fn close(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for AudioMix {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// Every 20 ms: one frame from each member (decoded, rebuilt from FEC or concealed), mixed.
fn run(shared: &Shared, apm: Option<media::apm::AudioProcessor>, output: Option<Arc<AudioOutput>>) {
    let mut playback = output.map(Playback::new);
    let frame_len = Duration::from_millis(u64::from(media::AUDIO_FRAME_MS));
    let mut next = Instant::now();
    let mut frames = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        sleep_until(next);
        next += frame_len;
        if Instant::now() > next + frame_len * 5 {
            next = Instant::now() + frame_len;
        }
        frames.clear();
        for m in lock(&shared.members).iter_mut() {
            if let Some(f) = m.pull() {
                frames.push(f);
            }
        }
        let Some(mixed) = media::mix::mix(&frames) else {
            continue;
        };
        shared.mixed_frames.fetch_add(1, Ordering::Relaxed);
        if let Some(a) = &apm {
            a.analyze_render(&mixed);
        }
        if let Some(p) = &mut playback {
            p.play(&mixed);
        }
    }
}

impl Member {
    /// This member's next 20 ms, or `None` while its buffer is still filling.
    fn pull(&mut self) -> Option<AudioFrame> {
        let (playout, target, stats) = {
            let mut j = lock(&self.jb);
            let p = j.pop();
            (p, j.target(), j.stats)
        };
        let c = &self.counters;
        c.audio_jitter_target_ms
            .store(target.as_millis() as u64, Ordering::Relaxed);
        c.audio_concealed
            .store(stats.concealed + stats.stretched, Ordering::Relaxed);
        c.audio_fec_recovered.store(stats.fec, Ordering::Relaxed);
        let pcm = match &playout {
            Playout::Waiting => return None,
            Playout::Packet(p) => self.dec.decode(p),
            Playout::Fec(next_packet) => self.dec.decode_fec(next_packet),
            Playout::Conceal => self.dec.conceal(),
        };
        match pcm {
            Ok(samples) => {
                let frame = AudioFrame {
                    samples: samples.to_vec(),
                    capture_us: 0,
                };
                c.audio_level_centi_db.store(
                    (-frame.level_dbfs() * 100.0).max(0.0) as u64,
                    Ordering::Relaxed,
                );
                c.audio_frames.fetch_add(1, Ordering::Relaxed);
                Some(frame)
            }
            Err(e) => {
                c.audio_decode_errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "audio decode failed");
                None
            }
        }
    }
}
