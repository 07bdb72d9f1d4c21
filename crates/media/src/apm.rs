//! Echo cancellation, noise suppression and automatic gain control for the microphone (sonora,
//! a pure-Rust port of WebRTC's audio processing). The far end's audio is fed in as it is
//! played, whatever device plays it, so the echo canceller learns the path from the speakers
//! back into the microphone even when they are different devices.

use crate::frame::AudioFrame;
use crate::AUDIO_FRAME_SAMPLES;
use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression,
};
use sonora::{AudioProcessing, Config, StreamConfig};
use std::sync::{Arc, Mutex};

/// Samples per 10 ms chunk at 48 kHz (the processor works in 10 ms steps).
const CHUNK: usize = 480;

/// Which parts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApmSettings {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub gain_control: bool,
}

impl Default for ApmSettings {
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            noise_suppression: true,
            gain_control: true,
        }
    }
}

/// One call's audio processor, shared by the microphone thread and the playback thread.
#[derive(Clone)]
pub struct AudioProcessor {
    inner: Arc<Mutex<AudioProcessing>>,
}

impl AudioProcessor {
    pub fn new(s: ApmSettings) -> Self {
        let config = Config {
            high_pass_filter: Some(HighPassFilter::default()),
            echo_canceller: s.echo_cancellation.then(EchoCanceller::default),
            noise_suppression: s.noise_suppression.then(NoiseSuppression::default),
            // The adaptive digital gain is what raises a quiet talker; the default has only the limiter.
            gain_controller2: s.gain_control.then(|| GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let apm = AudioProcessing::builder()
            .config(config)
            .capture_config(StreamConfig::new(48_000, 1))
            .render_config(StreamConfig::new(48_000, 1))
            .build();
        Self {
            inner: Arc::new(Mutex::new(apm)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AudioProcessing> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cleans a 20 ms microphone frame in place.
    pub fn process_capture(&self, frame: &mut AudioFrame) {
        if frame.samples.len() != AUDIO_FRAME_SAMPLES {
            return;
        }
        let mut apm = self.lock();
        let mut out = [0i16; CHUNK];
        for chunk in frame.samples.chunks_exact_mut(CHUNK) {
            match apm.process_capture_i16(chunk, &mut out) {
                Ok(()) => chunk.copy_from_slice(&out),
                Err(e) => tracing::debug!(error = ?e, "capture processing skipped"),
            }
        }
    }

    /// Tells the echo canceller what is being played (the far end), 20 ms at a time.
    pub fn analyze_render(&self, frame: &AudioFrame) {
        if frame.samples.len() != AUDIO_FRAME_SAMPLES {
            return;
        }
        let mut apm = self.lock();
        let mut out = [0i16; CHUNK];
        for chunk in frame.samples.chunks_exact(CHUNK) {
            if let Err(e) = apm.process_render_i16(chunk, &mut out) {
                tracing::debug!(error = ?e, "render analysis skipped");
            }
        }
    }

    /// The echo canceller's echo return loss enhancement (dB), once it has one.
    pub fn erle_db(&self) -> Option<f64> {
        self.lock().statistics().echo_return_loss_enhancement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic speech-like noise: white noise shaped by a slow 4 Hz envelope (or
    /// without it: a steady hiss).
    struct Voice {
        seed: u64,
        n: u64,
        speechy: bool,
    }

    impl Voice {
        fn frame(&mut self, gain: f32) -> AudioFrame {
            let samples = (0..AUDIO_FRAME_SAMPLES)
                .map(|_| {
                    self.seed = self
                        .seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let white = ((self.seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0;
                    let env = if self.speechy {
                        0.55 + 0.45 * (self.n as f32 * 4.0 * std::f32::consts::TAU / 48_000.0).sin()
                    } else {
                        1.0
                    };
                    self.n += 1;
                    (white * env * gain * 32767.0) as i16
                })
                .collect();
            AudioFrame {
                samples,
                capture_us: 0,
            }
        }
    }

    /// A voiced talker: a 140 Hz buzz with harmonics, in 4 Hz syllables.
    fn talker(n: &mut u64, gain: f32) -> AudioFrame {
        let samples = (0..AUDIO_FRAME_SAMPLES)
            .map(|_| {
                let t = *n as f32 / 48_000.0;
                *n += 1;
                let syllable = (t * 4.0 * std::f32::consts::PI).sin().abs();
                let buzz: f32 = (1..=12)
                    .map(|k| (t * 140.0 * k as f32 * std::f32::consts::TAU).sin() / k as f32)
                    .sum();
                (buzz * 0.35 * syllable * gain * 32767.0) as i16
            })
            .collect();
        AudioFrame {
            samples,
            capture_us: 0,
        }
    }

    fn power(frames: &[AudioFrame]) -> f64 {
        let (sum, n) = frames
            .iter()
            .flat_map(|f| f.samples.iter())
            .fold((0.0, 0usize), |(s, n), &x| {
                (s + f64::from(x) * f64::from(x), n + 1)
            });
        sum / n.max(1) as f64
    }

    fn db(ratio: f64) -> f64 {
        10.0 * ratio.log10()
    }

    #[test]
    fn removes_the_far_end_heard_back_through_the_microphone() {
        let apm = AudioProcessor::new(ApmSettings {
            echo_cancellation: true,
            noise_suppression: false,
            gain_control: false,
        });
        let mut far = Voice {
            seed: 7,
            n: 0,
            speechy: true,
        };
        // The room: what is played comes back 40 ms later at a third of the level.
        let delay = 2;
        let mut history: Vec<AudioFrame> = Vec::new();
        let (mut echo_in, mut echo_out) = (Vec::new(), Vec::new());
        for i in 0..500 {
            let played = far.frame(0.3);
            apm.analyze_render(&played);
            history.push(played);
            let mut mic = match history.len().checked_sub(delay + 1) {
                Some(k) => AudioFrame {
                    samples: history[k].samples.iter().map(|s| s / 3).collect(),
                    capture_us: 0,
                },
                None => AudioFrame {
                    samples: vec![0; AUDIO_FRAME_SAMPLES],
                    capture_us: 0,
                },
            };
            let before = mic.clone();
            apm.process_capture(&mut mic);
            if i >= 400 {
                echo_in.push(before);
                echo_out.push(mic);
            }
        }
        let reduction = db(power(&echo_in) / power(&echo_out).max(1.0));
        assert!(
            reduction > 25.0,
            "echo reduced by only {reduction:.1} dB after 8 s"
        );
    }

    #[test]
    fn keeps_the_near_end_talker_while_cancelling_the_echo() {
        let apm = AudioProcessor::new(ApmSettings {
            echo_cancellation: true,
            noise_suppression: false,
            gain_control: false,
        });
        let mut far = Voice {
            seed: 11,
            n: 0,
            speechy: true,
        };
        let mut near = 0u64;
        let mut last = None;
        let (mut near_in, mut out) = (Vec::new(), Vec::new());
        for i in 0..500 {
            let played = far.frame(0.3);
            apm.analyze_render(&played);
            let echo = last
                .replace(played)
                .map(|f: AudioFrame| f.samples)
                .unwrap_or_else(|| vec![0; AUDIO_FRAME_SAMPLES]);
            // The near end talks only in the last two seconds, over the echo.
            let talker = if i >= 400 {
                talker(&mut near, 0.5)
            } else {
                AudioFrame {
                    samples: vec![0; AUDIO_FRAME_SAMPLES],
                    capture_us: 0,
                }
            };
            let mut mic = AudioFrame {
                samples: echo
                    .iter()
                    .zip(&talker.samples)
                    .map(|(e, t)| (e / 3).saturating_add(*t))
                    .collect(),
                capture_us: 0,
            };
            apm.process_capture(&mut mic);
            if i >= 420 {
                near_in.push(talker);
                out.push(mic);
            }
        }
        let kept = db(power(&out) / power(&near_in));
        assert!(kept > -6.0, "the near-end voice lost {kept:.1} dB");
    }

    #[test]
    fn suppresses_steady_noise() {
        let apm = AudioProcessor::new(ApmSettings {
            echo_cancellation: false,
            noise_suppression: true,
            gain_control: false,
        });
        let mut hiss = Voice {
            seed: 3,
            n: 0,
            speechy: false,
        };
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for i in 0..300 {
            let mut f = hiss.frame(0.05);
            let orig = f.clone();
            apm.process_capture(&mut f);
            if i >= 200 {
                before.push(orig);
                after.push(f);
            }
        }
        let reduction = db(power(&before) / power(&after).max(1.0));
        assert!(
            reduction > 10.0,
            "steady noise reduced by only {reduction:.1} dB"
        );
    }

    #[test]
    fn raises_a_quiet_talker() {
        let apm = AudioProcessor::new(ApmSettings {
            echo_cancellation: false,
            noise_suppression: false,
            gain_control: true,
        });
        let mut n = 0u64;
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for i in 0..500 {
            let mut f = talker(&mut n, 0.02);
            let orig = f.clone();
            apm.process_capture(&mut f);
            if i >= 400 {
                before.push(orig);
                after.push(f);
            }
        }
        let gain = db(power(&after) / power(&before));
        assert!(gain > 10.0, "a quiet voice gained only {gain:.1} dB");
    }
}
