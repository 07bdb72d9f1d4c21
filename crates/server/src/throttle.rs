//! Failure throttling for authentication (per account, per client address): after `limit`
//! failures inside a window the key is locked out, for longer each time it happens again.
//! Time is passed in, so the policy is tested without sleeping.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most; the oldest are forgotten first, so a flood of addresses cannot grow
/// memory without bound.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
    lockouts: u32,
}

/// Counts failures per key and says when a key must wait.
pub struct Throttle {
    limit: u32,
    window: Duration,
    base_lockout: Duration,
    max_lockout: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    pub fn new(
        limit: u32,
        window: Duration,
        base_lockout: Duration,
        max_lockout: Duration,
    ) -> Self {
        Self {
            limit: limit.max(1),
            window,
            base_lockout,
            max_lockout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` while `key` is locked out.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.lock().get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the lockout it started, if any.
    pub fn fail(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let stale: Vec<String> = map
                .iter()
                .filter(|(_, e)| {
                    now.duration_since(e.window_start) > self.window
                        && e.locked_until.is_none_or(|u| u <= now)
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                map.remove(&k);
            }
            if map.len() >= MAX_KEYS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.window_start)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
        }
        let e = map.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            window_start: now,
            locked_until: None,
            lockouts: 0,
        });
        if now.duration_since(e.window_start) > self.window {
            e.failures = 0;
            e.window_start = now;
        }
        e.failures += 1;
        if e.failures < self.limit {
            return None;
        }
        let factor = 1u32 << e.lockouts.min(16);
        let wait = self
            .base_lockout
            .saturating_mul(factor)
            .min(self.max_lockout);
        e.lockouts += 1;
        e.failures = 0;
        e.window_start = now;
        e.locked_until = Some(now + wait);
        Some(wait)
    }

    /// A success clears the key: its failures, lockout and history.
    pub fn succeed(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Takes back one failure counted in advance for an attempt that succeeded (a lockout it
    /// started stays).
    pub fn forgive(&self, key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_limit_for_longer_each_time() {
        let t = Throttle::new(
            3,
            Duration::from_secs(60),
            Duration::from_secs(30),
            Duration::from_secs(3600),
        );
        let t0 = Instant::now();
        assert_eq!(t.fail("bob", t0), None);
        assert_eq!(t.fail("bob", t0), None);
        assert!(t.check("bob", t0).is_ok());
        assert_eq!(t.fail("bob", t0), Some(Duration::from_secs(30)));
        assert_eq!(
            t.check("bob", t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
        assert!(t.check("alice", t0).is_ok(), "other keys are not affected");
        let t1 = t0 + Duration::from_secs(31);
        assert!(t.check("bob", t1).is_ok());
        t.fail("bob", t1);
        t.fail("bob", t1);
        assert_eq!(
            t.fail("bob", t1),
            Some(Duration::from_secs(60)),
            "the second lockout doubles"
        );
        t.succeed("bob");
        assert!(t.check("bob", t1).is_ok());
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let t = Throttle::new(
            2,
            Duration::from_secs(60),
            Duration::from_secs(30),
            Duration::from_secs(3600),
        );
        let t0 = Instant::now();
        t.fail("k", t0);
        assert_eq!(t.fail("k", t0 + Duration::from_secs(61)), None);
    }
}
