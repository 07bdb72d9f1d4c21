//! H.264 (constrained baseline) through OpenH264, tuned for real-time calls.

use crate::frame::VideoFrame;
use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

pub use crate::codec::{CodecError, VideoEncodeSettings};

/// A real-time H.264 encoder producing Annex B access units.
pub struct H264Encoder {
    enc: Encoder,
    settings: VideoEncodeSettings,
    force_key: bool,
    out: Vec<u8>,
}

fn make_encoder(s: VideoEncodeSettings) -> Result<Encoder, CodecError> {
    let cfg = EncoderConfig::new()
        .bitrate(BitRate::from_bps(s.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(s.fps))
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(false)
        .complexity(openh264::encoder::Complexity::Low)
        .intra_frame_period(IntraFramePeriod::from_num_frames((s.fps as u32).max(1) * 4));
    Encoder::with_api_config(OpenH264API::from_source(), cfg)
        .map_err(|e| CodecError::Encode("H.264", e.to_string()))
}

impl H264Encoder {
    pub fn new(settings: VideoEncodeSettings) -> Result<Self, CodecError> {
        Ok(Self {
            enc: make_encoder(settings)?,
            settings,
            force_key: true,
            out: Vec::new(),
        })
    }

    /// Applies new settings; OpenH264's wrapper has no live bitrate knob, so the encoder is
    /// rebuilt and the next frame is a keyframe.
    pub fn reconfigure(&mut self, settings: VideoEncodeSettings) -> Result<(), CodecError> {
        if settings != self.settings {
            self.enc = make_encoder(settings)?;
            self.settings = settings;
            self.force_key = true;
        }
        Ok(())
    }

    pub fn settings(&self) -> VideoEncodeSettings {
        self.settings
    }

    /// Asks for an IDR at the next frame (PLI/FIR, decoder trouble).
    pub fn request_keyframe(&mut self) {
        self.force_key = true;
    }

    /// Encodes one picture; returns the Annex B bytes (empty if the encoder skipped it) and
    /// whether it is a keyframe.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<(&[u8], bool), CodecError> {
        if std::mem::take(&mut self.force_key) {
            self.enc.force_intra_frame();
        }
        let ts = openh264::Timestamp::from_millis(frame.capture_us / 1000);
        let bs = self
            .enc
            .encode_at(frame, ts)
            .map_err(|e| CodecError::Encode("H.264", e.to_string()))?;
        let key = matches!(
            bs.frame_type(),
            openh264::encoder::FrameType::IDR | openh264::encoder::FrameType::I
        );
        self.out.clear();
        bs.write_vec(&mut self.out);
        Ok((&self.out, key))
    }
}

/// An H.264 decoder yielding packed I420 frames.
pub struct H264Decoder {
    dec: Decoder,
}

impl H264Decoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            dec: Decoder::new().map_err(|e| CodecError::Decode("H.264", e.to_string()))?,
        })
    }

    /// Decodes one Annex B access unit; `Ok(None)` when it completed no picture.
    pub fn decode(&mut self, annexb: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        match self.dec.decode(annexb) {
            Ok(Some(yuv)) => {
                let (w, h) = yuv.dimensions();
                Ok(Some(VideoFrame::from_planes(
                    w,
                    h,
                    yuv.y(),
                    yuv.u(),
                    yuv.v(),
                    yuv.strides(),
                )))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(CodecError::Decode("H.264", e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_decode_error_not_a_crash() {
        let mut dec = H264Decoder::new().expect("decoder");
        let r = dec.decode(&[0, 0, 0, 1, 0x65, 0xff, 0x00, 0x13, 0x37]);
        assert!(matches!(r, Err(_) | Ok(None)));
    }
}
