//! A bottleneck link in simulated time, to check the estimators against the goals: a
//! tail-drop queue of `cap` bps holding at most 300 ms (tc tbf's `latency`), random loss after
//! it, 20 ms each way, and transport-wide feedback every 50 ms. The sender encodes a frame every
//! 33 ms at the estimate (frames leave as bursts, as Simu sends them) plus 20 ms audio packets.

use super::{DelayEstimator, EstimateReadout};
use rtc::interceptor::{BandwidthEstimator, PacketReport};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ONE_WAY: Duration = Duration::from_millis(20);
const QUEUE: Duration = Duration::from_millis(300);
const FEEDBACK: Duration = Duration::from_millis(50);
const AUDIO_PAYLOAD: usize = 160;

/// A repeatable pseudo-random sequence (xorshift), so each run is the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct Link {
    /// Bottleneck rate over time: (from second, bps).
    pub caps: Vec<(u64, f64)>,
    pub loss: f64,
}

/// Per second of the run: the estimate, what went on the wire and the media payload in it (what
/// the fault tests measure as the send rate), bps.
pub struct Second {
    pub estimate: f64,
    pub sent: f64,
    pub payload: f64,
}

/// RTP, SRTP, UDP and IP headers on each packet.
const HEADERS: usize = 50;

pub fn run(link: &Link, start_bps: u64, secs: u64) -> Vec<Second> {
    let t0 = Instant::now();
    let readout = Arc::new(EstimateReadout::default());
    let mut est = DelayEstimator::new(start_bps, 60_000, 5_000_000, readout);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // The queue drains at the cap: the instant its last byte leaves.
    let mut queue_free = Duration::ZERO;
    let mut pending: VecDeque<PacketReport> = VecDeque::new();
    // Packets whose feedback was lost: the next feedback reports them as not arrived.
    let mut unreported: Vec<PacketReport> = Vec::new();
    let mut id = 0u64;
    let mut out = Vec::new();
    let (mut next_frame, mut next_audio, mut next_feedback) =
        (Duration::ZERO, Duration::ZERO, FEEDBACK);
    let (mut sent_bytes, mut payload_bytes) = (0usize, 0usize);
    let tick = Duration::from_millis(1);
    let mut now = Duration::ZERO;
    while now < Duration::from_secs(secs) {
        let cap = link
            .caps
            .iter()
            .rev()
            .find(|(s, _)| now >= Duration::from_secs(*s))
            .map_or(1e9, |c| c.1);
        let mut send = |payload: usize, pending: &mut VecDeque<PacketReport>, rng: &mut Rng| {
            id += 1;
            let size = payload + HEADERS;
            sent_bytes += size;
            payload_bytes += payload;
            let start = queue_free.max(now);
            let (arrived, arrival) = if start - now > QUEUE {
                (false, None)
            } else {
                queue_free = start + Duration::from_secs_f64(size as f64 * 8.0 / cap);
                let ok = rng.next() >= link.loss;
                (ok, ok.then_some(queue_free + ONE_WAY))
            };
            pending.push_back(PacketReport {
                ssrc: 1,
                id,
                rtp_sequence_number: id as u16,
                is_twcc: true,
                twcc_sequence_number: id as u16,
                size,
                arrived,
                departure: t0 + now,
                arrival,
                ecn: Default::default(),
            });
        };
        if now >= next_audio {
            send(AUDIO_PAYLOAD, &mut pending, &mut rng);
            next_audio += Duration::from_millis(20);
        }
        if now >= next_frame {
            // The encoders' budget, as the session computes it from the estimate.
            let budget = super::media_budget(est.target_bitrate() as u64) as f64;
            let video_bps = (budget - 64_000.0).max(30_000.0);
            let mut bytes = (video_bps / 8.0 / 30.0) as usize;
            while bytes > 0 {
                let size = bytes.min(1200);
                send(size, &mut pending, &mut rng);
                bytes -= size;
            }
            next_frame += Duration::from_micros(33_333);
        }
        if now >= next_feedback {
            // The receiver reports what reached it (or was lost) by now; the report takes
            // ONE_WAY back.
            let mut batch = Vec::new();
            while let Some(p) = pending.front() {
                let decided = match p.arrival {
                    Some(a) => a <= now,
                    None => p.departure <= t0 + now,
                };
                if !decided {
                    break;
                }
                batch.extend(pending.pop_front());
            }
            // Feedback crosses the same lossy path back.
            if rng.next() < link.loss {
                unreported.extend(batch.into_iter().map(|p| PacketReport {
                    arrived: false,
                    arrival: None,
                    ..p
                }));
            } else {
                let mut all = std::mem::take(&mut unreported);
                all.extend(batch);
                est.on_reports(t0 + now + ONE_WAY, &all);
            }
            next_feedback += FEEDBACK;
        }
        now += tick;
        if now.as_millis().is_multiple_of(1000) {
            out.push(Second {
                estimate: est.target_bitrate(),
                sent: sent_bytes as f64 * 8.0,
                payload: payload_bytes as f64 * 8.0,
            });
            (sent_bytes, payload_bytes) = (0, 0);
        }
    }
    out
}

fn describe(r: &[Second]) -> String {
    r.iter()
        .map(|s| {
            format!(
                "{:.0}/{:.0}/{:.0}",
                s.estimate / 1000.0,
                s.sent / 1000.0,
                s.payload / 1000.0
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Mean media payload sent over seconds `from..to`, as a share of `cap`.
fn utilisation(r: &[Second], from: usize, to: usize, cap: f64) -> f64 {
    r[from..to].iter().map(|s| s.payload).sum::<f64>() / (to - from) as f64 / cap
}

#[test]
fn settles_at_75_to_95_percent_of_each_cap_within_10_s() {
    for cap in [300_000.0, 1_000_000.0, 2_500_000.0] {
        let r = run(
            &Link {
                caps: vec![(0, cap)],
                loss: 0.0,
            },
            1_100_000,
            30,
        );
        let u = utilisation(&r, 10, 30, cap);
        assert!(
            (0.75..=0.95).contains(&u),
            "{cap} bps: {:.0}% used after 10 s; kbit/s estimate/wire/payload: {}",
            u * 100.0,
            describe(&r)
        );
    }
}

#[test]
fn random_loss_is_not_congestion() {
    for loss in [0.05, 0.15] {
        let r = run(
            &Link {
                caps: vec![(0, 20e6)],
                loss,
            },
            1_100_000,
            20,
        );
        assert!(
            r[5..].iter().all(|s| s.estimate >= 1_100_000.0),
            "{loss}: {}",
            describe(&r)
        );
    }
}

#[test]
fn a_cap_that_lifts_is_used_again_within_10_s() {
    let r = run(
        &Link {
            caps: vec![(0, 300_000.0), (15, 2_500_000.0)],
            loss: 0.0,
        },
        1_100_000,
        30,
    );
    assert!(
        r[25].payload >= 1_000_000.0,
        "10 s after the cap lifted: {}",
        describe(&r)
    );
}
