//! The call machine's wall time, derived from its injected monotonic clock.

use std::time::Instant;

/// Wall-clock time (the `timestamp` of signals, the age of an invitation) derived from the
/// injected monotonic `now`, so the machine never reads the system clock itself.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    at: Instant,
    epoch_ms: i64,
}

impl WallClock {
    /// `epoch_ms` milliseconds since the Unix epoch at the instant `at`.
    pub fn fixed(at: Instant, epoch_ms: i64) -> Self {
        Self { at, epoch_ms }
    }

    /// The system's clock, read once.
    pub fn system() -> Self {
        Self::fixed(Instant::now(), nx::signal::now_ms())
    }

    /// Milliseconds since the epoch at `now`.
    pub fn ms(&self, now: Instant) -> i64 {
        let after = now.saturating_duration_since(self.at).as_millis();
        let before = self.at.saturating_duration_since(now).as_millis();
        let delta =
            i64::try_from(after).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX);
        self.epoch_ms.saturating_add(delta)
    }
}
