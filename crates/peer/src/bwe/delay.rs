//! The send-side estimate from transport-wide feedback (TWCC): a delay-based AIMD controller
//! (GoogCC's, draft-ietf-rmcat-gcc §5) driven by [`Trendline`], capped at 1.5x what the receiver
//! acknowledged, with loss measured exactly from the reports. Plugged into webrtc's congestion
//! control interceptor through its `BandwidthEstimator` trait, without the crate's pacer.
//!
//! Random loss is not congestion: it neither grows the queue nor rises with the rate, so loss
//! alone cuts only when it is severe (over 20%); a full bottleneck shows as delay first.

use super::trendline::{Trendline, Usage};
use rtc::interceptor::PacketReport;
use rtc::interceptor::{BandwidthEstimator, EstimatorStats};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Multiplicative growth per second far from the last congestion point, rising by
/// `GROWTH_RAMP` each second without congestion up to `GROWTH_MAX` (a cap that lifted is found
/// again within seconds; libwebrtc probes for it instead).
const GROWTH_PER_SEC: f64 = 0.08;
const GROWTH_RAMP: f64 = 0.05;
const GROWTH_MAX: f64 = 0.30;
/// The link's capacity (the acknowledged rate at congestion) is trusted within this many
/// standard deviations (at least `CAPACITY_MIN_SPREAD` of it): growth near it is additive, and an
/// acknowledged rate above it means the link got better (it is forgotten, growth multiplies).
const CAPACITY_SIGMAS: f64 = 3.0;
const CAPACITY_MIN_SPREAD: f64 = 0.05;
/// On overuse the rate drops to this share of what got through.
const BACKOFF: f64 = 0.85;
/// The estimate never runs ahead of what the receiver acknowledged by more than this.
const ACKED_CAP: f64 = 1.5;
/// Bits added per response time near the link's capacity (one 1200-byte packet).
const ADDITIVE_BITS: f64 = 1200.0 * 8.0;
/// Acknowledged bytes are summed over this much of the receiver's clock.
const ACKED_WINDOW: Duration = Duration::from_millis(500);
/// Loss is measured over the packets sent in this much time (most recent), once at least
/// `LOSS_MIN_PACKETS` are in it: short, so a congestion episode that is over stops counting.
const LOSS_WINDOW: Duration = Duration::from_secs(1);
const LOSS_MIN_PACKETS: usize = 20;
/// Loss-driven cuts come at most this often (a cut needs a round trip to show).
const LOSS_CUT_EVERY: Duration = Duration::from_millis(500);
/// Loss above this is treated as congestion even without a delay signal.
const SEVERE_LOSS: f64 = 0.20;

/// What the estimator publishes for the session (and the stats) to read.
#[derive(Debug, Default)]
pub struct EstimateReadout {
    bps: AtomicU64,
    /// Milliseconds since `epoch` of the last feedback (0: none yet).
    last_feedback_ms: AtomicU64,
    /// Loss over the window, in 1/10000.
    loss_e4: AtomicU64,
    epoch: std::sync::OnceLock<Instant>,
}

impl EstimateReadout {
    /// The current estimate in bps, if transport-wide feedback arrived within `fresh`.
    pub fn estimate(&self, now: Instant, fresh: Duration) -> Option<u64> {
        let last = self.last_feedback_ms.load(Ordering::Acquire);
        let epoch = self.epoch.get()?;
        if last == 0 {
            return None;
        }
        let age = now.saturating_duration_since(*epoch + Duration::from_millis(last));
        (age <= fresh).then(|| self.bps.load(Ordering::Acquire))
    }

    /// Fraction of reported packets the receiver never got, over the recent window.
    pub fn loss(&self) -> f64 {
        self.loss_e4.load(Ordering::Relaxed) as f64 / 10_000.0
    }

    fn publish(&self, now: Instant, bps: f64, loss: f64) {
        let epoch = *self.epoch.get_or_init(|| now);
        let ms = now.saturating_duration_since(epoch).as_millis() as u64 + 1;
        self.bps.store(bps as u64, Ordering::Release);
        self.loss_e4
            .store((loss * 10_000.0) as u64, Ordering::Relaxed);
        self.last_feedback_ms.store(ms, Ordering::Release);
    }
}

/// AIMD state (draft-ietf-rmcat-gcc §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hold,
    Increase,
    Decrease,
}

/// Delay-based estimate with loss and acknowledged-rate bounds.
pub struct DelayEstimator {
    estimate: f64,
    min: f64,
    max: f64,
    state: State,
    trend: Trendline,
    /// (arrival on the receiver's clock, bytes) of acknowledged packets in `ACKED_WINDOW`.
    acked: VecDeque<(Duration, usize)>,
    /// When each recently reported packet left, and whether it arrived.
    fates: VecDeque<(Instant, bool)>,
    lost_in_window: usize,
    /// The acknowledged rate at the last overuse, and its variance (the link's capacity).
    capacity: Option<(f64, f64)>,
    last_update: Option<Instant>,
    last_decrease: Option<Instant>,
    /// Since when growth has been unbounded by a known capacity (growth speeds up with it).
    free_since: Option<Instant>,
    readout: Arc<EstimateReadout>,
}

impl DelayEstimator {
    /// Starts at `start` bps within `min..=max`; `readout` is where the session reads it.
    pub fn new(start: u64, min: u64, max: u64, readout: Arc<EstimateReadout>) -> Self {
        Self {
            estimate: start as f64,
            min: min as f64,
            max: max as f64,
            state: State::Increase,
            trend: Trendline::default(),
            acked: VecDeque::new(),
            fates: VecDeque::new(),
            lost_in_window: 0,
            capacity: None,
            last_update: None,
            last_decrease: None,
            free_since: None,
            readout,
        }
    }

    /// What got through recently, bps (receiver's clock), once the window holds enough.
    pub fn acked_bps(&self) -> Option<f64> {
        let (first, last) = (self.acked.front()?.0, self.acked.back()?.0);
        let span = last.saturating_sub(first);
        if span < ACKED_WINDOW / 2 {
            return None;
        }
        let bytes: usize = self.acked.iter().map(|(_, b)| b).sum();
        Some(bytes as f64 * 8.0 / span.as_secs_f64())
    }

    pub fn loss(&self) -> f64 {
        if self.fates.is_empty() {
            0.0
        } else {
            self.lost_in_window as f64 / self.fates.len() as f64
        }
    }

    fn record(&mut self, r: &PacketReport) {
        self.fates.push_back((r.departure, r.arrived));
        if !r.arrived {
            self.lost_in_window += 1;
        }
        while let Some(&(sent, arrived)) = self.fates.front() {
            if r.departure.saturating_duration_since(sent) <= LOSS_WINDOW {
                break;
            }
            self.fates.pop_front();
            if !arrived {
                self.lost_in_window -= 1;
            }
        }
        if let Some(arrival) = r.arrival.filter(|_| r.arrived) {
            self.acked.push_back((arrival, r.size));
            self.trend.on_packet(r.departure, arrival);
        }
        while let (Some(f), Some(b)) = (self.acked.front(), self.acked.back()) {
            if b.0.saturating_sub(f.0) > ACKED_WINDOW || f.0 > b.0 + ACKED_WINDOW {
                self.acked.pop_front();
            } else {
                break;
            }
        }
    }

    /// One AIMD step after a batch of feedback.
    fn step(&mut self, now: Instant) {
        let dt = self.last_update.map_or(0.0, |t| {
            now.saturating_duration_since(t).as_secs_f64().min(1.0)
        });
        self.last_update = Some(now);
        let acked = self.acked_bps();
        let before = self.estimate;
        self.state = match (self.trend.usage(), self.state) {
            (Usage::Over, _) => State::Decrease,
            (Usage::Under, _) => State::Hold,
            (Usage::Normal, State::Hold | State::Decrease) => State::Increase,
            (Usage::Normal, s) => s,
        };
        let severe_loss = self.fates.len() >= LOSS_MIN_PACKETS && self.loss() > SEVERE_LOSS;
        match self.state {
            State::Decrease => {
                // Once per ~200 ms: the queue takes a moment to drain after a cut.
                if self
                    .last_decrease
                    .is_none_or(|t| now.saturating_duration_since(t) > Duration::from_millis(200))
                {
                    let base = acked.unwrap_or(self.estimate);
                    self.estimate = self.estimate.min(BACKOFF * base);
                    self.note_capacity(base);
                    self.last_decrease = Some(now);
                    self.free_since = None;
                }
                self.state = State::Hold;
            }
            State::Increase => {
                if let (Some((mean, var)), Some(a)) = (self.capacity, acked) {
                    if a > mean + spread(mean, var) {
                        self.capacity = None;
                        self.free_since = Some(now);
                    }
                }
                if self.capacity.is_some() {
                    // One packet more per response time (RTT + 100 ms; RTT taken as 100 ms).
                    self.estimate += ADDITIVE_BITS / 0.2 * dt;
                } else {
                    let free = self
                        .free_since
                        .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
                    let growth = (GROWTH_PER_SEC + GROWTH_RAMP * free.min(60.0)).min(GROWTH_MAX);
                    self.estimate *= (1.0 + growth).powf(dt);
                }
            }
            State::Hold => {}
        }
        if severe_loss
            && self
                .last_decrease
                .is_none_or(|t| now.saturating_duration_since(t) > LOSS_CUT_EVERY)
        {
            // Down by half the loss, but not below what got through.
            let cut = self.estimate * (1.0 - 0.5 * self.loss());
            self.estimate = acked.map_or(cut, |a| cut.max(BACKOFF * a).min(self.estimate));
            self.last_decrease = Some(now);
        }
        if let Some(a) = acked {
            // No growth far ahead of what actually gets through (an encoder below its target
            // would otherwise let the estimate climb without evidence); this never lowers it.
            self.estimate = self.estimate.min((ACKED_CAP * a + 10_000.0).max(before));
        }
        self.estimate = self.estimate.clamp(self.min, self.max);
    }

    /// The acknowledged rate at congestion, averaged (capacity mean and variance, normalised).
    fn note_capacity(&mut self, rate: f64) {
        let (mean, var) = match self.capacity {
            None => (rate, (rate * 0.1).powi(2)),
            Some((m, v)) => {
                // A reading far from the mean means the link changed: start over.
                if (rate - m).abs() > spread(m, v) {
                    (rate, (rate * 0.1).powi(2))
                } else {
                    let m2 = 0.95 * m + 0.05 * rate;
                    (m2, 0.95 * v + 0.05 * (rate - m2).powi(2))
                }
            }
        };
        self.capacity = Some((mean, var));
    }
}

/// A batch starts with the packets of any feedback that never came, all reported as not
/// arrived (the interceptor writes off everything below the newest acknowledgement). A run that
/// long is a lost feedback packet, not lost media: random loss that makes five losses in a row
/// is rare (0.15^5 < 1e-4), and congestion shows in the delay first. How many to skip.
fn lost_feedback(reports: &[PacketReport]) -> usize {
    let run = reports.iter().take_while(|r| !r.arrived).count();
    if run >= LOST_FEEDBACK_RUN && run < reports.len() {
        run
    } else {
        0
    }
}

/// Unacknowledged packets at the head of a batch that mean a feedback packet was lost.
const LOST_FEEDBACK_RUN: usize = 5;

/// How far from the capacity's mean a reading may be and still be the same link.
fn spread(mean: f64, var: f64) -> f64 {
    CAPACITY_SIGMAS * var.sqrt().max(mean * CAPACITY_MIN_SPREAD)
}

impl BandwidthEstimator for DelayEstimator {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        for r in &reports[lost_feedback(reports)..] {
            self.record(r);
        }
        self.step(now);
        self.readout.publish(now, self.estimate, self.loss());
    }

    fn target_bitrate(&self) -> f64 {
        self.estimate
    }

    fn stats(&self) -> EstimatorStats {
        let mut s = EstimatorStats::default();
        s.delay_based_bitrate = Some(self.estimate);
        s.packet_loss = Some(self.loss());
        s
    }
}
