//! Sampling the live call's statistics for the stats stream.

use crate::pipeline::{MediaControl, RecvCounters, SendCounters};
use crate::stats::{LocalCounters, StatsCollector, StatsSample};
use media::FrameSink;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What the stats stream samples: one member received, and what this side sends.
struct Sampled<'a> {
    counters: &'a RecvCounters,
    video: &'a FrameSink,
    send: &'a SendCounters,
    control: &'a MediaControl,
    estimate: Option<(u64, &'static str)>,
}

impl Sampled<'_> {
    fn local(&self) -> LocalCounters {
        let (c, sc) = (self.counters, self.send);
        let enc = sc.encoded_size.load(Ordering::Relaxed);
        let q = self.control.effective_quality();
        LocalCounters {
            frames_decoded: c.video_frames.load(Ordering::Relaxed),
            decode_errors: c.video_decode_errors.load(Ordering::Relaxed),
            frame_size: self.video.size(),
            audio_frames: c.audio_frames.load(Ordering::Relaxed),
            audio_level: c.audio_level_dbfs(),
            audio_concealed: c.audio_concealed.load(Ordering::Relaxed),
            audio_fec: c.audio_fec_recovered.load(Ordering::Relaxed),
            audio_jitter_target_ms: c.audio_jitter_target_ms.load(Ordering::Relaxed),
            frames_encoded: sc.video_frames.load(Ordering::Relaxed),
            keyframes: sc.keyframes.load(Ordering::Relaxed),
            encoded_size: (enc >> 16, enc & 0xffff),
            encoded_fps: sc.encoded_fps.load(Ordering::Relaxed),
            target_video_bps: u64::from(q.video_kbps) * 1000,
            target_audio_bps: u64::from(q.audio_kbps) * 1000,
            video_codec: self.control.video_codec(),
            plis_sent: c.plis_sent.load(Ordering::Relaxed),
            available_bps: self.estimate.map_or(0, |e| e.0),
            estimator: self.estimate.map(|e| e.1),
        }
    }

    /// The sample, with the glass-to-glass delay of the frames decoded since `latency_seen`.
    fn sample(
        &self,
        collector: &mut StatsCollector,
        latency_seen: &mut u64,
        raw: crate::media_session::RawStats,
    ) -> StatsSample {
        let (fresh, seen) = self.counters.latencies_since(*latency_seen);
        *latency_seen = seen;
        collector.sample(Instant::now(), raw, self.local(), median_ms(fresh))
    }
}

impl super::Driver {
    /// Samples the call for the stats stream: the first member's leg (a 1:1 call's only one),
    /// or on the conference server the link (what is sent, what is received from everyone) with
    /// the first member received.
    pub(super) async fn sample_stats(&mut self) {
        let sample = if let Some(conf) = self.conference.as_mut() {
            let (Some((_, first)), Some(o)) = (conf.members.first(), &self.outgoing) else {
                return;
            };
            let Some(raw) = conf.link.raw_stats().await else {
                return;
            };
            let estimate = conf.send_budget(Instant::now());
            let sampled = Sampled {
                counters: &first.counters,
                video: &first.video,
                send: &conf.send_counters,
                control: o.control(),
                estimate,
            };
            sampled.sample(&mut conf.collector, &mut conf.latency_seen, raw)
        } else {
            let Some(leg) = self.legs.first_mut() else {
                return;
            };
            let raw = leg.session.raw_stats().await;
            let sampled = Sampled {
                counters: &leg.counters,
                video: &leg.video,
                send: &leg.session.send_counters,
                control: leg.session.control(),
                estimate: leg.estimate,
            };
            sampled.sample(&mut leg.collector, &mut leg.latency_seen, raw)
        };
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
