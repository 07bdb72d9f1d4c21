//! Is the bottleneck queue growing? Packets are grouped into send bursts (5 ms), each burst's
//! arrival spacing is compared with its send spacing, and the accumulated difference (the
//! queueing delay, up to a constant) is fitted with a line over the last 20 bursts: a rising
//! slope above an adaptive threshold is overuse. After libwebrtc's GoogCC
//! (`inter_arrival_delta.cc`, `trendline_estimator.cc`; draft-ietf-rmcat-gcc §5).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Packets sent within this span of a burst's first belong to it.
const BURST: Duration = Duration::from_millis(5);
/// Bursts in the line fit.
const WINDOW: usize = 20;
/// Exponential smoothing of the accumulated delay.
const SMOOTHING: f64 = 0.9;
/// Scales the fitted slope into the threshold's units.
const GAIN: f64 = 4.0;
/// The threshold adapts up fast (k_up) when the trend is above it, down slower (k_down).
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
const THRESHOLD_MIN: f64 = 6.0;
const THRESHOLD_MAX: f64 = 600.0;
const THRESHOLD_START: f64 = 12.5;
/// Overuse must last this long (and two samples) before it is reported.
const OVERUSE_TIME_MS: f64 = 10.0;
/// An arrival gap this long resets the detector (the path or the sender paused).
const RESET_GAP: Duration = Duration::from_secs(3);

/// What the delay trend says about the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// The queue is stable.
    Normal,
    /// The queue is growing: sending faster than the bottleneck drains.
    Over,
    /// The queue is draining.
    Under,
}

/// One send burst: first and last departure, last arrival, bytes.
#[derive(Debug, Clone, Copy)]
struct Burst {
    first_sent: Instant,
    last_sent: Instant,
    last_arrival: Duration,
}

/// Groups acknowledged packets into bursts and runs the trend detector on successive bursts.
#[derive(Debug)]
pub struct Trendline {
    current: Option<Burst>,
    previous: Option<Burst>,
    first_arrival_ms: Option<f64>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    points: VecDeque<(f64, f64)>,
    deltas: usize,
    threshold: f64,
    last_threshold_update_ms: Option<f64>,
    overuse_ms: f64,
    overuse_count: u32,
    previous_trend: f64,
    usage: Usage,
}

impl Default for Trendline {
    fn default() -> Self {
        Self {
            current: None,
            previous: None,
            first_arrival_ms: None,
            accumulated_ms: 0.0,
            smoothed_ms: 0.0,
            points: VecDeque::with_capacity(WINDOW),
            deltas: 0,
            threshold: THRESHOLD_START,
            last_threshold_update_ms: None,
            overuse_ms: -1.0,
            overuse_count: 0,
            previous_trend: 0.0,
            usage: Usage::Normal,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Trendline {
    /// One packet the receiver saw: when it left here and when it arrived there (its clock).
    pub fn on_packet(&mut self, sent: Instant, arrival: Duration) -> Usage {
        let Some(cur) = self.current else {
            self.current = Some(Burst {
                first_sent: sent,
                last_sent: sent,
                last_arrival: arrival,
            });
            return self.usage;
        };
        if sent < cur.first_sent {
            // Sent before the burst being built (a reordered report): it says nothing new.
            return self.usage;
        }
        if sent.saturating_duration_since(cur.first_sent) <= BURST {
            let c = self.current.get_or_insert(cur);
            c.last_sent = c.last_sent.max(sent);
            c.last_arrival = c.last_arrival.max(arrival);
            return self.usage;
        }
        // `cur` is complete: compare it with the burst before it.
        if let Some(prev) = self.previous {
            if cur.last_arrival.saturating_sub(prev.last_arrival) > RESET_GAP
                || cur.last_arrival < prev.last_arrival
            {
                *self = Self {
                    threshold: self.threshold,
                    ..Self::default()
                };
            } else {
                let send_delta = ms(cur.last_sent.saturating_duration_since(prev.last_sent));
                let arrival_delta = ms(cur.last_arrival - prev.last_arrival);
                self.update(
                    arrival_delta - send_delta,
                    arrival_delta,
                    ms(cur.last_arrival),
                );
            }
        }
        self.previous = Some(cur);
        self.current = Some(Burst {
            first_sent: sent,
            last_sent: sent,
            last_arrival: arrival,
        });
        self.usage
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }

    fn update(&mut self, delay_delta_ms: f64, arrival_delta_ms: f64, arrival_ms: f64) {
        self.deltas = (self.deltas + 1).min(1000);
        self.accumulated_ms += delay_delta_ms;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        let first = *self.first_arrival_ms.get_or_insert(arrival_ms);
        if self.points.len() == WINDOW {
            self.points.pop_front();
        }
        self.points
            .push_back((arrival_ms - first, self.smoothed_ms));
        let trend = if self.points.len() == WINDOW {
            slope(&self.points).unwrap_or(self.previous_trend)
        } else {
            self.previous_trend
        };
        self.detect(trend, arrival_delta_ms, arrival_ms);
    }

    fn detect(&mut self, trend: f64, arrival_delta_ms: f64, now_ms: f64) {
        if self.deltas < 2 {
            return;
        }
        let modified = self.deltas.min(60) as f64 * trend * GAIN;
        if modified > self.threshold {
            if self.overuse_ms < 0.0 {
                self.overuse_ms = arrival_delta_ms / 2.0;
            } else {
                self.overuse_ms += arrival_delta_ms;
            }
            self.overuse_count += 1;
            if self.overuse_ms > OVERUSE_TIME_MS
                && self.overuse_count > 1
                && trend >= self.previous_trend
            {
                self.overuse_ms = 0.0;
                self.overuse_count = 0;
                self.usage = Usage::Over;
            }
        } else if modified < -self.threshold {
            self.overuse_ms = -1.0;
            self.overuse_count = 0;
            self.usage = Usage::Under;
        } else {
            self.overuse_ms = -1.0;
            self.overuse_count = 0;
            self.usage = Usage::Normal;
        }
        self.previous_trend = trend;
        self.adapt_threshold(modified, now_ms);
    }

    /// The threshold follows the trend's magnitude, so a path with natural delay noise does not
    /// read as overuse and a competing flow does not starve us (draft-ietf-rmcat-gcc §5.4).
    fn adapt_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_threshold_update_ms.get_or_insert(now_ms);
        if modified.abs() > self.threshold + 15.0 {
            // A spike (a route change, a keyframe burst): do not let it drag the threshold.
            self.last_threshold_update_ms = Some(now_ms);
            return;
        }
        let k = if modified.abs() < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let dt = (now_ms - last).clamp(0.0, 100.0);
        self.threshold += k * (modified.abs() - self.threshold) * dt;
        self.threshold = self.threshold.clamp(THRESHOLD_MIN, THRESHOLD_MAX);
        self.last_threshold_update_ms = Some(now_ms);
    }
}

/// Least-squares slope of `points`.
fn slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den > 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds one packet every `gap_ms` whose one-way delay grows by `growth_ms` per packet.
    fn run(t: &mut Trendline, gap_ms: u64, growth_ms: f64, n: u64) -> Vec<Usage> {
        let start = Instant::now();
        (0..n)
            .map(|i| {
                let sent = start + Duration::from_millis(i * gap_ms);
                let arrival = Duration::from_secs_f64(
                    (i * gap_ms) as f64 / 1000.0 + 0.05 + growth_ms * i as f64 / 1000.0,
                );
                t.on_packet(sent, arrival)
            })
            .collect()
    }

    #[test]
    fn a_steady_queue_is_normal_and_a_growing_one_is_overuse() {
        let mut t = Trendline::default();
        assert!(run(&mut t, 10, 0.0, 200)
            .iter()
            .all(|u| *u == Usage::Normal));
        let mut t = Trendline::default();
        let u = run(&mut t, 10, 1.0, 100);
        assert!(
            u.contains(&Usage::Over),
            "1 ms more per 10 ms is a filling queue"
        );
    }

    #[test]
    fn a_draining_queue_is_underuse() {
        let mut t = Trendline::default();
        let u = run(&mut t, 10, -1.0, 100);
        assert!(u.contains(&Usage::Under));
        assert!(!u.contains(&Usage::Over));
    }

    #[test]
    fn packets_of_one_burst_count_once() {
        let mut t = Trendline::default();
        let start = Instant::now();
        // 10 packets leave together (a keyframe) and trickle through a slow link: the spread
        // is inside one burst, not a growing queue.
        for i in 0..10u64 {
            t.on_packet(start, Duration::from_millis(50 + i * 4));
        }
        assert_eq!(t.deltas, 0);
    }
}
