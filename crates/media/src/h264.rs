//! H.264 (constrained baseline) through OpenH264, tuned for real-time calls.

use crate::frame::VideoFrame;
use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::OpenH264API;
use openh264_sys2 as sys;

pub use crate::codec::{CodecError, VideoEncodeSettings};

/// A real-time H.264 encoder producing Annex B access units.
pub struct H264Encoder {
    enc: Encoder,
    settings: VideoEncodeSettings,
    /// The picture size the encoder was built for (a new size needs a new encoder and an IDR).
    size: Option<(usize, usize)>,
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
        // No periodic IDR: keyframes only when a receiver asks (PLI/FIR) or after loss. A
        // keyframe is 5-10x a normal frame; every 4 s one made the bitrate pulse for nothing.
        .intra_frame_period(IntraFramePeriod::from_num_frames(0));
    Encoder::with_api_config(OpenH264API::from_source(), cfg)
        .map_err(|e| CodecError::Encode("H.264", e.to_string()))
}

impl H264Encoder {
    pub fn new(settings: VideoEncodeSettings) -> Result<Self, CodecError> {
        Ok(Self {
            enc: make_encoder(settings)?,
            settings,
            size: None,
            force_key: true,
            out: Vec::new(),
        })
    }

    /// Applies a new bitrate and frame rate to the running encoder: no keyframe, no rebuild
    /// (`ENCODER_OPTION_BITRATE`, `_MAX_BITRATE`, `_FRAME_RATE`).
    pub fn reconfigure(&mut self, settings: VideoEncodeSettings) -> Result<(), CodecError> {
        if settings == self.settings {
            return Ok(());
        }
        if self.size.is_none() {
            // Not initialised until its first picture: the new settings simply apply then.
            self.enc = make_encoder(settings)?;
            self.settings = settings;
            return Ok(());
        }
        if let Err(e) = self.set_live(settings) {
            // Should OpenH264 refuse a live change, a new encoder (and a keyframe) still applies it.
            tracing::warn!(error = %e, "live H.264 rate change refused; rebuilding the encoder");
            self.enc = make_encoder(settings)?;
            self.force_key = true;
        }
        self.settings = settings;
        Ok(())
    }

    /// Sets the rates on the running encoder (it must have encoded a picture: OpenH264 starts then).
    fn set_live(&mut self, settings: VideoEncodeSettings) -> Result<(), CodecError> {
        let err = |what: &str, rc: i32| CodecError::Encode("H.264", format!("{what}: {rc}"));
        let bps = i32::try_from(settings.bitrate_bps).unwrap_or(i32::MAX);
        let mut fps = settings.fps;
        // The target may not exceed the maximum, which OpenH264 keeps both for the whole stream
        // and for the (one) spatial layer: raise the maximums first, lower them last.
        let max = |layer| (sys::ENCODER_OPTION_MAX_BITRATE, layer);
        let target = (sys::ENCODER_OPTION_BITRATE, sys::SPATIAL_LAYER_ALL);
        let order = if settings.bitrate_bps > self.settings.bitrate_bps {
            [
                max(sys::SPATIAL_LAYER_ALL),
                max(sys::SPATIAL_LAYER_0),
                target,
            ]
        } else {
            [
                target,
                max(sys::SPATIAL_LAYER_0),
                max(sys::SPATIAL_LAYER_ALL),
            ]
        };
        // SAFETY: the encoder is initialised (built with a config); each option is given the
        // type OpenH264 documents for it (SBitrateInfo for the rates, a float for the frame
        // rate), alive for the call.
        unsafe {
            let raw = self.enc.raw_api();
            for (option, layer) in order {
                let mut rate = sys::SBitrateInfo {
                    iLayer: layer,
                    iBitrate: bps,
                };
                let rc = raw.set_option(option, std::ptr::addr_of_mut!(rate).cast());
                if rc != 0 {
                    return Err(err("bitrate", rc));
                }
            }
            if settings.fps != self.settings.fps {
                let rc = raw.set_option(
                    sys::ENCODER_OPTION_FRAME_RATE,
                    std::ptr::addr_of_mut!(fps).cast(),
                );
                if rc != 0 {
                    return Err(err("frame rate", rc));
                }
            }
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
        let size = (frame.width, frame.height);
        if self.size.is_some_and(|s| s != size) {
            // The wrapper would re-initialise with the bitrate it was built with; a fresh encoder
            // at the current settings starts the new size with an IDR anyway.
            self.enc = make_encoder(self.settings)?;
        }
        self.size = Some(size);
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

    fn settings(kbps: u32, fps: f32) -> VideoEncodeSettings {
        VideoEncodeSettings {
            bitrate_bps: kbps * 1000,
            fps,
        }
    }

    /// Bytes of `n` frames of the moving test pattern, and how many were keyframes.
    fn encode_run(
        enc: &mut H264Encoder,
        p: &mut crate::pattern::TestPattern,
        from: u64,
        n: u64,
    ) -> (usize, usize) {
        let (mut bytes, mut keys) = (0, 0);
        for i in from..from + n {
            let (b, key) = enc.encode(&p.frame_at(i * 33_333)).expect("encode");
            bytes += b.len();
            keys += usize::from(key);
        }
        (bytes, keys)
    }

    #[test]
    fn bitrate_changes_live_without_a_keyframe_and_no_periodic_idr() {
        let mut p = crate::pattern::TestPattern::new(640, 360);
        let mut enc = H264Encoder::new(settings(1000, 30.0)).expect("encoder");
        let (_, keys) = encode_run(&mut enc, &mut p, 0, 300);
        assert_eq!(
            keys, 1,
            "10 s at 30 fps: only the first frame is a keyframe"
        );
        // Above and below the rate it started with (OpenH264 keeps a maximum per layer too).
        for kbps in [926, 1400, 2000, 300, 1500] {
            enc.set_live(settings(kbps, 30.0))
                .unwrap_or_else(|e| panic!("{kbps} kbit/s live: {e}"));
            enc.settings = settings(kbps, 30.0);
        }
        enc.reconfigure(settings(150, 15.0)).expect("live change");
        let (low, keys) = encode_run(&mut enc, &mut p, 300, 60);
        assert_eq!(keys, 0, "a bitrate change makes no keyframe");
        enc.reconfigure(settings(1500, 30.0)).expect("live change");
        let (_, _) = encode_run(&mut enc, &mut p, 360, 30);
        let (high, keys) = encode_run(&mut enc, &mut p, 390, 60);
        assert_eq!(keys, 0);
        assert!(
            high > low * 2,
            "the rate follows: {low} B at 150 kbit/s, {high} B at 1500 kbit/s"
        );
        enc.request_keyframe();
        assert_eq!(encode_run(&mut enc, &mut p, 450, 1).1, 1, "asked: keyframe");
        let mut small = crate::pattern::TestPattern::new(320, 180);
        assert_eq!(
            encode_run(&mut enc, &mut small, 451, 1).1,
            1,
            "a new size starts with a keyframe"
        );
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_crash() {
        let mut dec = H264Decoder::new().expect("decoder");
        let r = dec.decode(&[0, 0, 0, 1, 0x65, 0xff, 0x00, 0x13, 0x37]);
        assert!(matches!(r, Err(_) | Ok(None)));
    }
}
