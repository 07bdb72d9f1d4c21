//! Mono sample-rate conversion between a device's rate and the call's 48 kHz (rubato, FFT).

use rubato::{FftFixedOut, Resampler};

/// Turns a stream at one rate into fixed-size chunks at another; a plain copy when equal.
pub struct ToChunks {
    inner: Option<FftFixedOut<f32>>,
    chunk_out: usize,
}

impl ToChunks {
    pub fn new(rate_in: u32, rate_out: u32, chunk_out: usize) -> Result<Self, String> {
        let inner = if rate_in == rate_out {
            None
        } else {
            Some(
                FftFixedOut::new(rate_in as usize, rate_out as usize, chunk_out, 1, 1)
                    .map_err(|e| e.to_string())?,
            )
        };
        Ok(Self { inner, chunk_out })
    }

    /// Input samples needed for the next chunk.
    pub fn needs(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(self.chunk_out, |r| r.input_frames_next())
    }

    /// One output chunk from exactly `needs()` input samples.
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        match &mut self.inner {
            None => input.to_vec(),
            Some(r) => match r.process(&[input], None) {
                Ok(mut out) => out.pop().unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "resampling failed; silence instead");
                    vec![0.0; self.chunk_out]
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_44k1_to_48k_keeping_pitch_and_level() {
        let mut r = ToChunks::new(44_100, 48_000, 960).expect("resampler");
        let mut phase = 0f32;
        let step = std::f32::consts::TAU * 1000.0 / 44_100.0;
        let mut out = Vec::new();
        for _ in 0..20 {
            let input: Vec<f32> = (0..r.needs())
                .map(|_| {
                    phase += step;
                    phase.sin() * 0.5
                })
                .collect();
            out.extend(r.process(&input));
        }
        let tail = &out[out.len() - 4800..];
        let crossings = tail
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        assert!(
            (99..=101).contains(&crossings),
            "1 kHz over 0.1 s at 48 kHz, got {crossings}"
        );
        let peak = tail.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.5).abs() < 0.02, "level kept, got {peak}");
    }
}
