//! Sampling the live call's statistics for the stats stream.

use crate::stats::LocalCounters;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl super::Driver {
    /// Samples the first member's leg (a 1:1 call's only one) for the stats stream.
    pub(super) async fn sample_stats(&mut self) {
        let Some(leg) = self.legs.first_mut() else {
            return;
        };
        let s = &leg.session;
        let raw = s.raw_stats().await;
        let counters = leg.counters.clone();
        let sc = &s.send_counters;
        let (w, h) = leg.video.size();
        let enc = sc.encoded_size.load(Ordering::Relaxed);
        let q = s.control().effective_quality();
        let local = LocalCounters {
            frames_decoded: counters.video_frames.load(Ordering::Relaxed),
            decode_errors: counters.video_decode_errors.load(Ordering::Relaxed),
            frame_size: (w, h),
            audio_frames: counters.audio_frames.load(Ordering::Relaxed),
            audio_level: counters.audio_level_dbfs(),
            audio_concealed: counters.audio_concealed.load(Ordering::Relaxed),
            audio_fec: counters.audio_fec_recovered.load(Ordering::Relaxed),
            audio_jitter_target_ms: counters.audio_jitter_target_ms.load(Ordering::Relaxed),
            frames_encoded: sc.video_frames.load(Ordering::Relaxed),
            keyframes: sc.keyframes.load(Ordering::Relaxed),
            encoded_size: (enc >> 16, enc & 0xffff),
            encoded_fps: sc.encoded_fps.load(Ordering::Relaxed),
            target_video_bps: u64::from(q.video_kbps) * 1000,
            target_audio_bps: u64::from(q.audio_kbps) * 1000,
            video_codec: s.control().video_codec(),
            plis_sent: counters.plis_sent.load(Ordering::Relaxed),
            available_bps: leg.estimate.map_or(0, |e| e.0),
            estimator: leg.estimate.map(|e| e.1),
        };
        let (fresh, seen) = counters.latencies_since(leg.latency_seen);
        leg.latency_seen = seen;
        let g2g = median_ms(fresh);
        let sample = leg.collector.sample(Instant::now(), raw, local, g2g);
        let _ = self.stats_tx.send(Some(sample.clone()));
        let _ = self.stats_stream.send(sample);
    }

    /// Steps each leg's send-rate controller; the call's one encoder follows the slowest leg.
    pub(super) async fn step_send_rates(&mut self) {
        let mut slowest: Option<u64> = None;
        for leg in &mut self.legs {
            let s = &leg.session;
            let (sent, encoded) = s.send_report().await;
            let by_resends = leg.rate.update(sent, encoded);
            let (bps, estimator) = match s.delay_estimate() {
                Some(bps) => (bps, "delay"),
                None => (by_resends, "loss"),
            };
            // The peer's own cap (REMB) bounds whatever the feedback says.
            let (bps, estimator) = match s.remb_cap() {
                Some(cap) if cap < bps => (cap, "remb"),
                _ => (bps, estimator),
            };
            tracing::debug!(peer = %leg.peer, bps, estimator, by_resends, sent, encoded, "send rate estimate");
            leg.estimate = Some((bps, estimator));
            slowest = Some(slowest.map_or(bps, |b| b.min(bps)));
        }
        if let (Some(bps), Some(o)) = (slowest, &self.outgoing) {
            o.control().set_estimate(peer::bwe::media_budget(bps));
        }
    }
}

fn median_ms(mut v: Vec<u64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2] as f64 / 1000.0)
}
