//! The codecs Simu offers: Opus for audio; H.264 constrained baseline and VP8 for video, in the
//! order the user prefers (the first both sides support is sent).

pub use media::VideoCodec;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX, MIME_TYPE_VP8,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};

pub const OPUS_PT: u8 = 111;
pub const H264_PT: u8 = 102;
pub const VP8_PT: u8 = 96;
/// Retransmissions (RFC 4588) of H.264 and of VP8: their own SSRC, so resends and probes do not
/// mix with media (browsers pad and resend on the media SSRC when there is no RTX).
pub const H264_RTX_PT: u8 = 103;
pub const VP8_RTX_PT: u8 = 97;

/// The order used when the user has not chosen one.
pub const DEFAULT_VIDEO_CODECS: [VideoCodec; 2] = [VideoCodec::H264, VideoCodec::Vp8];

pub fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn video_feedback() -> Vec<RTCPFeedback> {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    vec![
        fb("goog-remb", ""),
        fb("ccm", "fir"),
        fb("nack", ""),
        fb("nack", "pli"),
    ]
}

pub fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: video_feedback(),
    }
}

pub fn vp8() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: video_feedback(),
    }
}

/// The RTP description and payload type Simu uses for `c`.
pub fn video(c: VideoCodec) -> RTCRtpCodecParameters {
    match c {
        VideoCodec::H264 => RTCRtpCodecParameters {
            rtp_codec: h264(),
            payload_type: H264_PT,
        },
        VideoCodec::Vp8 => RTCRtpCodecParameters {
            rtp_codec: vp8(),
            payload_type: VP8_PT,
        },
    }
}

/// The RTX description repairing `c` (`apt=` its payload type).
pub fn rtx(c: VideoCodec) -> RTCRtpCodecParameters {
    let (pt, apt) = match c {
        VideoCodec::H264 => (H264_RTX_PT, H264_PT),
        VideoCodec::Vp8 => (VP8_RTX_PT, VP8_PT),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_RTX.to_owned(),
            clock_rate: 90000,
            channels: 0,
            sdp_fmtp_line: format!("apt={apt}"),
            rtcp_feedback: vec![],
        },
        payload_type: pt,
    }
}

/// Which of our video codecs an RTP mime type (`video/VP8`) names.
pub fn video_codec_of(mime: &str) -> Option<VideoCodec> {
    match mime.to_ascii_lowercase().as_str() {
        "video/h264" => Some(VideoCodec::H264),
        "video/vp8" => Some(VideoCodec::Vp8),
        _ => None,
    }
}

/// A media engine with Opus and the video codecs in `prefs` order (all of ours when empty).
pub fn media_engine(prefs: &[VideoCodec]) -> Result<MediaEngine, rtc::shared::error::Error> {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    for c in ordered(prefs) {
        me.register_codec(video(c), RtpCodecKind::Video)?;
        me.register_codec(rtx(c), RtpCodecKind::Video)?;
    }
    Ok(me)
}

/// `prefs` without repeats, or the default order when empty.
pub fn ordered(prefs: &[VideoCodec]) -> Vec<VideoCodec> {
    let mut out: Vec<VideoCodec> = Vec::new();
    for c in if prefs.is_empty() {
        &DEFAULT_VIDEO_CODECS[..]
    } else {
        prefs
    } {
        if !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_order_is_kept_without_repeats() {
        assert_eq!(ordered(&[]), DEFAULT_VIDEO_CODECS.to_vec());
        assert_eq!(
            ordered(&[VideoCodec::Vp8, VideoCodec::Vp8, VideoCodec::H264]),
            vec![VideoCodec::Vp8, VideoCodec::H264]
        );
        assert_eq!(video_codec_of("video/VP8"), Some(VideoCodec::Vp8));
        assert_eq!(video_codec_of("video/AV1"), None);
    }
}
