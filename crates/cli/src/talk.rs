//! A synthetic voice that speaks only for a while: the tone plays within a window of seconds
//! after the call's media starts, silence otherwise (tests of who is speaking in a group call).

use media::{AudioFrame, AudioSource, SourceError};
use std::time::{Duration, Instant};

/// From when to when (seconds after the media starts) the tone plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TalkWindow {
    pub from: Duration,
    pub to: Duration,
}

impl std::str::FromStr for TalkWindow {
    type Err = String;

    /// `FROM:TO` in seconds, e.g. `0:8`; at most an hour.
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| "expected FROM:TO in seconds, e.g. 0:8".to_string())?;
        let secs = |v: &str| -> Result<Duration, String> {
            let v: f64 = v.trim().parse().map_err(|e| format!("{v:?}: {e}"))?;
            if (0.0..=3600.0).contains(&v) {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err("seconds between 0 and 3600".into())
            }
        };
        let (from, to) = (secs(a)?, secs(b)?);
        if to <= from {
            return Err("TO must come after FROM".into());
        }
        Ok(Self { from, to })
    }
}

/// `inner`, silenced outside the window (counted from this source's creation).
pub struct Talking<S> {
    inner: S,
    window: TalkWindow,
    start: Instant,
}

impl<S: AudioSource> Talking<S> {
    pub fn new(inner: S, window: TalkWindow) -> Self {
        Self {
            inner,
            window,
            start: Instant::now(),
        }
    }
}

impl<S: AudioSource> AudioSource for Talking<S> {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        let mut f = self.inner.next_frame()?;
        let t = self.start.elapsed();
        if t < self.window.from || t >= self.window.to {
            f.samples.fill(0);
        }
        Ok(f)
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn is_synthetic(&self) -> bool {
        self.inner.is_synthetic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_window_and_refuses_nonsense() {
        let w: TalkWindow = "2:8.5".parse().expect("window");
        assert_eq!(w.from, Duration::from_secs(2));
        assert_eq!(w.to, Duration::from_millis(8500));
        for bad in ["8", "8:2", "a:b", "0:99999"] {
            assert!(bad.parse::<TalkWindow>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tone_plays_only_within_its_window() {
        let window = TalkWindow {
            from: Duration::ZERO,
            to: Duration::from_millis(50),
        };
        let mut s = Talking::new(media::audio::Tone::new(440.0, -20.0), window);
        let loud = s.next_frame().expect("frame");
        assert!(loud.samples.iter().any(|v| *v != 0));
        std::thread::sleep(Duration::from_millis(60));
        let quiet = s.next_frame().expect("frame");
        assert!(quiet.samples.iter().all(|v| *v == 0));
    }
}
