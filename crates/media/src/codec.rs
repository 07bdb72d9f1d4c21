//! The video codecs a call can use, behind one encoder and one decoder type, so the media
//! threads do not care which one was negotiated.

use crate::frame::VideoFrame;
use crate::h264::{H264Decoder, H264Encoder};
pub use crate::video_codec::VideoCodec;
use crate::vp8::{Vp8Decoder, Vp8Encoder};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{0} encoder: {1}")]
    Encode(&'static str, String),
    #[error("{0} decoder: {1}")]
    Decode(&'static str, String),
}

/// Encoder settings that can change mid-call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoEncodeSettings {
    pub bitrate_bps: u32,
    pub fps: f32,
}

/// An encoder for the negotiated codec.
pub enum VideoEncoder {
    /// Boxed: OpenH264's wrapper holds ~7 KB of parameters inline.
    H264(Box<H264Encoder>),
    Vp8(Vp8Encoder),
}

impl VideoEncoder {
    pub fn new(codec: VideoCodec, settings: VideoEncodeSettings) -> Result<Self, CodecError> {
        Ok(match codec {
            VideoCodec::H264 => VideoEncoder::H264(Box::new(H264Encoder::new(settings)?)),
            VideoCodec::Vp8 => VideoEncoder::Vp8(Vp8Encoder::new(settings)?),
        })
    }

    pub fn codec(&self) -> VideoCodec {
        match self {
            VideoEncoder::H264(_) => VideoCodec::H264,
            VideoEncoder::Vp8(_) => VideoCodec::Vp8,
        }
    }

    pub fn reconfigure(&mut self, s: VideoEncodeSettings) -> Result<(), CodecError> {
        match self {
            VideoEncoder::H264(e) => e.reconfigure(s),
            VideoEncoder::Vp8(e) => e.reconfigure(s),
        }
    }

    pub fn request_keyframe(&mut self) {
        match self {
            VideoEncoder::H264(e) => e.request_keyframe(),
            VideoEncoder::Vp8(e) => e.request_keyframe(),
        }
    }

    /// One picture in; the encoded frame (empty if skipped) and whether it is a keyframe.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<(&[u8], bool), CodecError> {
        match self {
            VideoEncoder::H264(e) => e.encode(frame),
            VideoEncoder::Vp8(e) => e.encode(frame),
        }
    }
}

/// A decoder for the negotiated codec.
pub enum VideoDecoder {
    H264(H264Decoder),
    Vp8(Vp8Decoder),
}

impl VideoDecoder {
    pub fn new(codec: VideoCodec) -> Result<Self, CodecError> {
        Ok(match codec {
            VideoCodec::H264 => VideoDecoder::H264(H264Decoder::new()?),
            VideoCodec::Vp8 => VideoDecoder::Vp8(Vp8Decoder::new()?),
        })
    }

    pub fn codec(&self) -> VideoCodec {
        match self {
            VideoDecoder::H264(_) => VideoCodec::H264,
            VideoDecoder::Vp8(_) => VideoCodec::Vp8,
        }
    }

    pub fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        match self {
            VideoDecoder::H264(d) => d.decode(data),
            VideoDecoder::Vp8(d) => d.decode(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_the_test_pattern_with_its_stamp() {
        for codec in VideoCodec::ALL {
            let mut p = crate::pattern::TestPattern::new(640, 360);
            let mut enc = VideoEncoder::new(
                codec,
                VideoEncodeSettings {
                    bitrate_bps: 800_000,
                    fps: 30.0,
                },
            )
            .expect("encoder");
            let mut dec = VideoDecoder::new(codec).expect("decoder");
            for i in 0..10u64 {
                let (bytes, key) = enc.encode(&p.frame_at(i * 33_000)).expect("encode");
                assert_eq!(key, i == 0, "{codec}: only the first frame is a keyframe");
                let bytes = bytes.to_vec();
                let out = dec
                    .decode(&bytes)
                    .expect("decode")
                    .unwrap_or_else(|| panic!("{codec}: a picture for frame {i}"));
                assert_eq!((out.width, out.height), (640, 360), "{codec}");
                assert_eq!(
                    crate::stamp::read(&out).map(|s| s.counter),
                    Some(i as u32),
                    "{codec}: frame {i}"
                );
            }
        }
    }

    #[test]
    fn codec_names_parse_and_print() {
        for c in VideoCodec::ALL {
            assert_eq!(c.to_string().parse::<VideoCodec>(), Ok(c));
        }
        assert_eq!("VP8".parse::<VideoCodec>(), Ok(VideoCodec::Vp8));
        assert!("theora".parse::<VideoCodec>().is_err());
    }
}
