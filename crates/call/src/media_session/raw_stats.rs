//! Raw statistics and send-rate readouts of a live session.

use super::MediaSession;
use peer::bwe::EstimateReadout;
use peer::RembCap;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::statistics::StatsSelector;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Raw counters for one stats sample.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawStats {
    pub video_in: StreamIn,
    pub audio_in: StreamIn,
    pub video_out: StreamOut,
    pub audio_out: StreamOut,
    pub rtt_ms: Option<f64>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct StreamIn {
    pub packets_received: u64,
    pub packets_lost: i64,
    pub bytes_received: u64,
    pub jitter_ms: f64,
    pub nack_count: u64,
    pub retransmitted_packets: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct StreamOut {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub retransmitted_packets: u64,
    pub retransmitted_bytes: u64,
}

impl MediaSession {
    /// Counters for one stats sample.
    pub async fn raw_stats(&self) -> RawStats {
        let report = self
            .negotiation
            .peer_connection()
            .get_stats(Instant::now(), StatsSelector::None)
            .await;
        let mut s = RawStats::default();
        for i in report.inbound_rtp_streams() {
            let r = &i.received_rtp_stream_stats;
            let clock = if r.rtp_stream_stats.kind == RtpCodecKind::Video {
                f64::from(self.video_clock)
            } else {
                48_000.0
            };
            let target = if r.rtp_stream_stats.kind == RtpCodecKind::Video {
                &mut s.video_in
            } else {
                &mut s.audio_in
            };
            target.packets_received += r.packets_received;
            target.packets_lost += r.packets_lost;
            target.bytes_received += i.bytes_received;
            target.nack_count += u64::from(i.nack_count);
            target.retransmitted_packets += i.retransmitted_packets_received;
            target.jitter_ms = target.jitter_ms.max(r.jitter / clock * 1000.0);
        }
        for o in report.outbound_rtp_streams() {
            let r = &o.sent_rtp_stream_stats;
            let target = if r.rtp_stream_stats.kind == RtpCodecKind::Video {
                &mut s.video_out
            } else {
                &mut s.audio_out
            };
            target.packets_sent += r.packets_sent;
            target.bytes_sent += r.bytes_sent;
            target.retransmitted_packets += o.retransmitted_packets_sent;
            target.retransmitted_bytes += o.retransmitted_bytes_sent;
        }
        s.rtt_ms = report
            .candidate_pairs()
            .filter(|p| p.bytes_received > 0 && p.current_round_trip_time > 0.0)
            .max_by_key(|p| p.bytes_received)
            .map(|p| p.current_round_trip_time * 1000.0);
        s
    }

    /// Video bytes that went out (retransmissions included) and encoded video bytes we handed
    /// over, both cumulative: their ratio tells the rate controller how much the receiver had to
    /// ask for again. (webrtc 0.21.1 leaves both RR-based loss and `retransmittedPacketsSent` at
    /// zero, so the resend volume is the loss signal there is.)
    pub async fn send_report(&self) -> (u64, u64) {
        let report = self
            .negotiation
            .peer_connection()
            .get_stats(Instant::now(), StatsSelector::None)
            .await;
        // With RTX the resends leave on their own SSRC; the crate counts them on the primary.
        let sent = report
            .outbound_rtp_streams()
            .filter(|o| o.sent_rtp_stream_stats.rtp_stream_stats.kind == RtpCodecKind::Video)
            .map(|o| o.sent_rtp_stream_stats.bytes_sent + o.retransmitted_bytes_sent)
            .sum();
        (
            sent,
            self.send_counters
                .video_payload_bytes
                .load(Ordering::Relaxed),
        )
    }

    /// Where the delay-based estimate is published (read while the session lives elsewhere).
    pub fn estimate_readout(&self) -> Arc<EstimateReadout> {
        self.estimate.clone()
    }

    /// Where the peer's REMB cap is noted (read while the session lives elsewhere).
    pub fn remb_readout(&self) -> Arc<RembCap> {
        self.remb.clone()
    }

    /// The peer's latest REMB cap (bps): what it asked us not to exceed, if it said.
    pub fn remb_cap(&self) -> Option<u64> {
        self.remb.get()
    }

    /// The delay-based estimate (bps), while the peer's transport-wide feedback keeps coming
    /// (within 2 s); `None` otherwise, and the resend-ratio controller steers.
    pub fn delay_estimate(&self) -> Option<u64> {
        self.estimate
            .estimate(Instant::now(), Duration::from_secs(2))
    }
}
