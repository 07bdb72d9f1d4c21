//! Mixing several people's audio into the one stream a speaker plays (and echo cancellation
//! hears as the far end).

use crate::AudioFrame;

/// Sums the frames sample by sample, clipping at full scale; a shorter frame counts as silence
/// past its end. `None` when there is nothing to mix.
pub fn mix(frames: &[AudioFrame]) -> Option<AudioFrame> {
    match frames {
        [] => None,
        [one] => Some(one.clone()),
        _ => {
            let len = frames.iter().map(|f| f.samples.len()).max().unwrap_or(0);
            let mut acc = vec![0i32; len];
            for f in frames {
                for (a, &s) in acc.iter_mut().zip(&f.samples) {
                    *a += i32::from(s);
                }
            }
            let samples = acc
                .into_iter()
                .map(|a| a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
                .collect();
            let capture_us = frames.iter().map(|f| f.capture_us).max().unwrap_or(0);
            Some(AudioFrame {
                samples,
                capture_us,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(samples: Vec<i16>) -> AudioFrame {
        AudioFrame {
            samples,
            capture_us: 0,
        }
    }

    #[test]
    fn two_voices_add_up() {
        let m = mix(&[frame(vec![100, -200, 300]), frame(vec![1, 2, 3])]).expect("mixed");
        assert_eq!(m.samples, vec![101, -198, 303]);
    }

    #[test]
    fn loud_voices_clip_instead_of_wrapping() {
        let m = mix(&[
            frame(vec![30_000, -30_000]),
            frame(vec![10_000, -10_000]),
            frame(vec![5, -5]),
        ])
        .expect("mixed");
        assert_eq!(m.samples, vec![i16::MAX, i16::MIN]);
    }

    #[test]
    fn a_short_frame_is_silence_past_its_end_and_nothing_mixes_to_none() {
        let m = mix(&[frame(vec![1, 1, 1]), frame(vec![2])]).expect("mixed");
        assert_eq!(m.samples, vec![3, 1, 1]);
        assert!(mix(&[]).is_none());
    }
}
