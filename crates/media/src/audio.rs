//! The synthetic microphone: a steady tone.

use crate::frame::AudioFrame;
use crate::source::{AudioSource, SourceError};
use crate::{AUDIO_FRAME_SAMPLES, SAMPLE_RATE};

/// A sine tone at a fixed pitch and level.
pub struct Tone {
    freq: f32,
    amplitude: f32,
    phase: f32,
}

impl Tone {
    pub fn new(freq: f32, dbfs: f32) -> Self {
        Self {
            freq,
            amplitude: 32767.0 * 10f32.powf(dbfs / 20.0),
            phase: 0.0,
        }
    }

    pub fn frame_at(&mut self, capture_us: u64) -> AudioFrame {
        let step = std::f32::consts::TAU * self.freq / SAMPLE_RATE as f32;
        let samples = (0..AUDIO_FRAME_SAMPLES)
            .map(|_| {
                let s = self.phase.sin() * self.amplitude;
                self.phase = (self.phase + step) % std::f32::consts::TAU;
                s as i16
            })
            .collect();
        AudioFrame {
            samples,
            capture_us,
        }
    }
}

impl AudioSource for Tone {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        Ok(self.frame_at(crate::now_micros()))
    }
    fn name(&self) -> String {
        format!("Synthetic tone {} Hz", self.freq)
    }
    fn is_synthetic(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_has_the_requested_level() {
        let mut t = Tone::new(440.0, -12.0);
        let f = t.frame_at(0);
        assert_eq!(f.samples.len(), AUDIO_FRAME_SAMPLES);
        let level = f.level_dbfs();
        assert!(
            (level - (-15.0)).abs() < 0.5,
            "sine RMS is 3 dB under peak, got {level}"
        );
    }
}
