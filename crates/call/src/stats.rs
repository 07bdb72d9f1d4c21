//! Call statistics samples with the exact keys of protocol.md §5, plus Simu's extra keys.
//! Bitrates come from byte deltas between samples; frame counts and sizes come from our own
//! decoder because the crate's stay at zero (WEBRTC.md, known problem 3).

use crate::media_session::RawStats;
use serde::Serialize;
use std::time::Instant;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VideoIn {
    pub bitrate: u64,
    pub packets_received: u64,
    pub packets_lost: i64,
    pub bytes_received: u64,
    pub frames_received: u64,
    pub frame_width: u32,
    pub frame_height: u32,
    pub fps: f64,
    pub jitter_ms: f64,
    pub nack_count: u64,
    pub decode_errors: u64,
    /// Packets that came again on the RTX flow (answers to our NACKs).
    pub retransmitted_packets_received: u64,
    /// Keyframe requests (PLI) we sent the peer.
    pub pli_count: u64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AudioIn {
    pub bitrate: u64,
    pub packets_received: u64,
    pub packets_lost: i64,
    pub bytes_received: u64,
    pub jitter_ms: f64,
    pub frames_decoded: u64,
    pub level_dbfs: f32,
    /// Frames played by concealment (loss, or the jitter buffer refilling).
    pub concealed_frames: u64,
    /// Lost frames rebuilt from in-band FEC.
    pub fec_recovered: u64,
    /// The jitter buffer's playout delay target.
    pub jitter_buffer_ms: u64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VideoOut {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub bitrate: u64,
    pub frame_width: u32,
    pub frame_height: u32,
    pub fps: u32,
    pub target_bitrate: u64,
    pub frames_encoded: u64,
    pub keyframes: u64,
    /// Resends answering the peer's NACKs (on the RTX flow when negotiated).
    pub retransmitted_packets_sent: u64,
    pub retransmitted_bytes_sent: u64,
    /// The congestion controller's estimate of what the path carries, bps (0 before one).
    pub available_bitrate: u64,
    /// Which controller made it: `delay` (transport-wide feedback) or `loss` (resends only), or
    /// `remb` when the peer's own cap is lower than either.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub estimator: Option<&'static str>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AudioOut {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub bitrate: u64,
    pub target_bitrate: u64,
}

/// One sample. `video`, `audio`, `videoOut`, `audioOut` carry the protocol's keys.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsSample {
    pub video: VideoIn,
    pub audio: AudioIn,
    pub video_out: VideoOut,
    pub audio_out: AudioOut,
    /// Round-trip time in ms, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub rtt_ms: Option<f64>,
    /// Median capture-to-decode delay of stamped frames in the last interval, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub glass_to_glass_ms: Option<f64>,
    pub codec: String,
    pub timestamp_ms: i64,
}

/// What the collector adds to the raw WebRTC counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalCounters {
    pub frames_decoded: u64,
    pub decode_errors: u64,
    pub frame_size: (u32, u32),
    pub audio_frames: u64,
    pub audio_level: f32,
    pub audio_concealed: u64,
    pub audio_fec: u64,
    pub audio_jitter_target_ms: u64,
    pub frames_encoded: u64,
    pub keyframes: u64,
    pub encoded_size: (u32, u32),
    pub encoded_fps: u32,
    pub target_video_bps: u64,
    pub target_audio_bps: u64,
    /// The video codec being sent.
    pub video_codec: Option<media::codec::VideoCodec>,
    pub plis_sent: u64,
    pub available_bps: u64,
    pub estimator: Option<&'static str>,
}

/// Turns successive raw readings into samples.
#[derive(Default)]
pub struct StatsCollector {
    prev: Option<(Instant, RawStats, LocalCounters)>,
}

fn rate(now: u64, before: u64, secs: f64) -> u64 {
    if secs <= 0.0 {
        return 0;
    }
    (now.saturating_sub(before) as f64 * 8.0 / secs) as u64
}

impl StatsCollector {
    pub fn sample(
        &mut self,
        now: Instant,
        raw: RawStats,
        local: LocalCounters,
        g2g_ms: Option<f64>,
    ) -> StatsSample {
        let (secs, p, pl) = match &self.prev {
            Some((t, p, pl)) => (now.saturating_duration_since(*t).as_secs_f64(), *p, *pl),
            None => (0.0, RawStats::default(), LocalCounters::default()),
        };
        let fps = if secs > 0.0 {
            local.frames_decoded.saturating_sub(pl.frames_decoded) as f64 / secs
        } else {
            0.0
        };
        let s = StatsSample {
            video: VideoIn {
                bitrate: rate(raw.video_in.bytes_received, p.video_in.bytes_received, secs),
                packets_received: raw.video_in.packets_received,
                packets_lost: raw.video_in.packets_lost.max(0),
                bytes_received: raw.video_in.bytes_received,
                frames_received: local.frames_decoded,
                frame_width: local.frame_size.0,
                frame_height: local.frame_size.1,
                fps: (fps * 10.0).round() / 10.0,
                jitter_ms: raw.video_in.jitter_ms,
                nack_count: raw.video_in.nack_count,
                decode_errors: local.decode_errors,
                retransmitted_packets_received: raw.video_in.retransmitted_packets,
                pli_count: local.plis_sent,
            },
            audio: AudioIn {
                bitrate: rate(raw.audio_in.bytes_received, p.audio_in.bytes_received, secs),
                packets_received: raw.audio_in.packets_received,
                packets_lost: raw.audio_in.packets_lost.max(0),
                bytes_received: raw.audio_in.bytes_received,
                jitter_ms: raw.audio_in.jitter_ms,
                frames_decoded: local.audio_frames,
                level_dbfs: local.audio_level,
                concealed_frames: local.audio_concealed,
                fec_recovered: local.audio_fec,
                jitter_buffer_ms: local.audio_jitter_target_ms,
            },
            video_out: VideoOut {
                packets_sent: raw.video_out.packets_sent,
                bytes_sent: raw.video_out.bytes_sent,
                bitrate: rate(raw.video_out.bytes_sent, p.video_out.bytes_sent, secs),
                frame_width: local.encoded_size.0,
                frame_height: local.encoded_size.1,
                fps: local.encoded_fps,
                target_bitrate: local.target_video_bps,
                frames_encoded: local.frames_encoded,
                keyframes: local.keyframes,
                retransmitted_packets_sent: raw.video_out.retransmitted_packets,
                retransmitted_bytes_sent: raw.video_out.retransmitted_bytes,
                available_bitrate: local.available_bps,
                estimator: local.estimator,
            },
            audio_out: AudioOut {
                packets_sent: raw.audio_out.packets_sent,
                bytes_sent: raw.audio_out.bytes_sent,
                bitrate: rate(raw.audio_out.bytes_sent, p.audio_out.bytes_sent, secs),
                target_bitrate: local.target_audio_bps,
            },
            rtt_ms: raw.rtt_ms,
            glass_to_glass_ms: g2g_ms,
            codec: format!(
                "{}/opus",
                local.video_codec.map_or("none", |c| c.rtp_name())
            ),
            timestamp_ms: nx::signal::now_ms(),
        };
        self.prev = Some((now, raw, local));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sample_has_the_protocol_keys_and_bitrates_from_deltas() {
        let mut c = StatsCollector::default();
        let t0 = Instant::now();
        let mut raw = RawStats::default();
        c.sample(t0, raw, LocalCounters::default(), None);
        raw.video_in.bytes_received = 250_000;
        raw.audio_out.bytes_sent = 16_000;
        let s = c.sample(
            t0 + Duration::from_secs(2),
            raw,
            LocalCounters {
                frames_decoded: 60,
                ..Default::default()
            },
            None,
        );
        assert_eq!(s.video.bitrate, 1_000_000);
        assert_eq!(s.audio_out.bitrate, 64_000);
        assert_eq!(s.video.fps, 30.0);
        let v = serde_json::to_value(&s).expect("json");
        for key in [
            "bitrate",
            "packetsReceived",
            "packetsLost",
            "bytesReceived",
            "framesReceived",
            "frameWidth",
            "frameHeight",
        ] {
            assert!(v["video"].get(key).is_some(), "video.{key}");
        }
        for key in ["bitrate", "packetsReceived", "packetsLost", "bytesReceived"] {
            assert!(v["audio"].get(key).is_some(), "audio.{key}");
        }
        for side in ["videoOut", "audioOut"] {
            for key in ["packetsSent", "bytesSent"] {
                assert!(v[side].get(key).is_some(), "{side}.{key}");
            }
        }
    }
}
