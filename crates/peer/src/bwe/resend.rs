//! How fast to send: a loss-based rate controller, the loss half of GCC
//! (draft-ietf-rmcat-gcc §6), fed with how much more video went out than was encoded (every
//! byte beyond the packet overhead is a retransmission the receiver asked for). webrtc 0.21.1's own GCC + pacer was tried first:
//! its estimate never reached the stats (so the encoder could not follow it) while its pacer
//! throttled the 1 Mbit/s encoder output, freezing video at 5% loss; without it, NACK and FEC
//! carried 15% loss at full frame rate. So the crate's congestion control stays off and this
//! steers the encoder: under 2% loss grow 8% a step, over 10% cut by half the loss, in between
//! hold. Sans-IO: each step gets cumulative counters.

/// RTP and SRTP headers on ~1200-byte video packets: what goes out beyond the payload anyway.
const OVERHEAD: f64 = 0.06;

/// Encoded bytes a step needs before it judges (about 40 packets at the lowest rates).
const MIN_BYTES: u64 = 5_000;

/// The controller's state between reports.
#[derive(Debug, Clone)]
pub struct RateController {
    estimate: f64,
    min: f64,
    max: f64,
    last: Option<(u64, u64)>,
}

impl RateController {
    /// Starts at `start` bps, kept within `min..=max`.
    pub fn new(start: u64, min: u64, max: u64) -> Self {
        Self {
            estimate: start as f64,
            min: min as f64,
            max: max as f64,
            last: None,
        }
    }

    /// One step with cumulative video bytes sent (with retransmissions) and encoded; returns
    /// the estimate.
    pub fn update(&mut self, sent: u64, encoded: u64) -> u64 {
        if let Some((s0, e0)) = self.last {
            let encoded_delta = encoded.saturating_sub(e0);
            // Too little sent to judge (a pause, or the first report): hold.
            if encoded_delta >= MIN_BYTES {
                // A lost packet is asked for up to three times, so the resend volume overstates
                // loss; half of it, and at most 50%, keeps one bad second from emptying the rate.
                let ratio = sent.saturating_sub(s0) as f64 / encoded_delta as f64;
                let loss = ((ratio - 1.0 - OVERHEAD) / 2.0).clamp(0.0, 0.5);
                if loss > 0.10 {
                    self.estimate *= 1.0 - 0.5 * loss;
                } else if loss < 0.02 {
                    self.estimate *= 1.08;
                }
                self.estimate = self.estimate.clamp(self.min, self.max);
            }
        }
        if self
            .last
            .is_none_or(|(_, e0)| encoded.saturating_sub(e0) >= MIN_BYTES)
        {
            self.last = Some((sent, encoded));
        }
        self.estimate as u64
    }

    pub fn estimate(&self) -> u64 {
        self.estimate as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes at the estimate through a link of `cap` bps with `random` loss: what the link
    /// drops is asked for again and resent about twice, for `secs` steps.
    fn run(cap: f64, random: f64, secs: usize) -> Vec<u64> {
        let mut c = RateController::new(1_100_000, 60_000, 5_000_000);
        let (mut sent, mut encoded) = (0f64, 0f64);
        let mut out = Vec::new();
        for _ in 0..secs {
            let rate = c.estimate() as f64 / 8.0;
            let through = (cap / 8.0).min(rate * (1.0 + OVERHEAD)) * (1.0 - random);
            let lost = rate * (1.0 + OVERHEAD) - through;
            encoded += rate;
            sent += rate * (1.0 + OVERHEAD) + lost * 2.0;
            out.push(c.update(sent as u64, encoded as u64));
        }
        out
    }

    #[test]
    fn settles_under_a_300_kbit_cap_within_a_few_seconds() {
        let e = run(300_000.0, 0.0, 20);
        assert!(e[5] <= 330_000, "after 6 s: {e:?}");
        assert!(
            e[10..].iter().all(|&b| (200_000..=330_000).contains(&b)),
            "stays near the cap: {e:?}"
        );
    }

    #[test]
    fn holds_through_moderate_random_loss_and_grows_on_a_clean_link() {
        let lossy = run(10_000_000.0, 0.05, 10);
        assert!(
            lossy.iter().all(|&b| b == 1_100_000),
            "5% loss is not congestion: {lossy:?}"
        );
        let clean = run(10_000_000.0, 0.0, 30);
        assert_eq!(
            *clean.last().unwrap_or(&0),
            5_000_000,
            "grows to the ceiling: {clean:?}"
        );
    }

    #[test]
    fn waits_for_enough_data() {
        let mut c = RateController::new(1_000_000, 60_000, 5_000_000);
        assert_eq!(c.update(0, 0), 1_000_000);
        assert_eq!(
            c.update(4_000, 3_000),
            1_000_000,
            "3 kB are too little to judge"
        );
    }
}
