//! VP8 through libvpx (Debian's libvpx-dev), set up the way real-time calls use it: CBR, no
//! lookahead, error resilient, fast speed; the bitrate changes live without a keyframe.

use crate::codec::{CodecError, VideoEncodeSettings};
use crate::frame::VideoFrame;
use std::os::raw::{c_int, c_uint};
use std::ptr;
use vpx_sys as vpx;

fn err(what: &str, ctx: *mut vpx::vpx_codec_ctx_t, code: vpx::vpx_codec_err_t) -> String {
    // SAFETY: vpx_codec_error returns a static string for an initialised (or failed) context.
    let detail = unsafe {
        let p = vpx::vpx_codec_error(ctx);
        if p.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    format!("{what}: {detail} ({code:?})")
}

/// A real-time VP8 encoder.
pub struct Vp8Encoder {
    ctx: Box<vpx::vpx_codec_ctx_t>,
    /// Set by libvpx's defaults when the encoder opens (zero is not a valid config).
    cfg: Option<Box<vpx::vpx_codec_enc_cfg_t>>,
    settings: VideoEncodeSettings,
    size: (usize, usize),
    force_key: bool,
    pts: i64,
    out: Vec<u8>,
}

// SAFETY: the libvpx context is used only through &mut self, from one thread at a time.
unsafe impl Send for Vp8Encoder {}

impl Vp8Encoder {
    pub fn new(settings: VideoEncodeSettings) -> Result<Self, CodecError> {
        // The picture size is fixed by the first frame; start with a placeholder context.
        Ok(Self {
            ctx: Box::new(unsafe { std::mem::zeroed() }),
            cfg: None,
            settings,
            size: (0, 0),
            force_key: true,
            pts: 0,
            out: Vec::new(),
        })
    }

    fn open(&mut self, w: usize, h: usize) -> Result<(), CodecError> {
        self.close();
        let e = |m: String| CodecError::Encode("VP8", m);
        // SAFETY: plain libvpx set-up calls on boxed (address-stable) structs we own.
        unsafe {
            let iface = vpx::vpx_codec_vp8_cx();
            let mut fresh = Box::new(std::mem::MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit());
            let rc = vpx::vpx_codec_enc_config_default(iface, fresh.as_mut_ptr(), 0);
            if rc != vpx::VPX_CODEC_OK {
                return Err(e(format!("default config: {rc:?}")));
            }
            let cfg = self.cfg.insert(Box::from_raw(
                Box::into_raw(fresh).cast::<vpx::vpx_codec_enc_cfg_t>(),
            ));
            let c = &mut **cfg;
            c.g_w = w as c_uint;
            c.g_h = h as c_uint;
            c.g_timebase = vpx::vpx_rational {
                num: 1,
                den: 90_000,
            };
            // One thread: libvpx's VP8 row threads spin-wait on each other, which burned most of
            // two cores in a 720p call on a 2-core machine for no gain in speed.
            c.g_threads = 1;
            c.g_lag_in_frames = 0;
            c.g_error_resilient = vpx::VPX_ERROR_RESILIENT_DEFAULT;
            c.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
            c.rc_target_bitrate = (self.settings.bitrate_bps / 1000).max(30);
            c.rc_min_quantizer = 2;
            c.rc_max_quantizer = 56;
            c.rc_undershoot_pct = 100;
            c.rc_overshoot_pct = 15;
            c.rc_buf_initial_sz = 500;
            c.rc_buf_optimal_sz = 600;
            c.rc_buf_sz = 1000;
            c.rc_dropframe_thresh = 0;
            c.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
            c.kf_max_dist = 3000;
            let rc = vpx::vpx_codec_enc_init_ver(
                &mut *self.ctx,
                iface,
                &**cfg,
                0,
                vpx::VPX_ENCODER_ABI_VERSION as c_int,
            );
            if rc != vpx::VPX_CODEC_OK {
                *self.ctx = std::mem::zeroed();
                return Err(e(format!("init {w}x{h}: {rc:?}")));
            }
            // Speed -6 is what browsers use for camera video on desktops.
            vpx::vpx_codec_control_(
                &mut *self.ctx,
                vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int,
                -6 as c_int,
            );
            vpx::vpx_codec_control_(
                &mut *self.ctx,
                vpx::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD as c_int,
                1 as c_uint,
            );
            vpx::vpx_codec_control_(
                &mut *self.ctx,
                vpx::vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY as c_int,
                0 as c_uint,
            );
            vpx::vpx_codec_control_(
                &mut *self.ctx,
                vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int,
                300 as c_uint,
            );
        }
        self.size = (w, h);
        self.force_key = true;
        Ok(())
    }

    fn close(&mut self) {
        if self.size != (0, 0) {
            // SAFETY: the context was initialised by open().
            unsafe { vpx::vpx_codec_destroy(&mut *self.ctx) };
            self.size = (0, 0);
        }
    }

    /// New bitrate/frame rate: applied to the running encoder (no keyframe).
    pub fn reconfigure(&mut self, settings: VideoEncodeSettings) -> Result<(), CodecError> {
        if settings == self.settings {
            return Ok(());
        }
        self.settings = settings;
        let Some(cfg) = self.cfg.as_mut().filter(|_| self.size != (0, 0)) else {
            return Ok(());
        };
        cfg.rc_target_bitrate = (settings.bitrate_bps / 1000).max(30);
        // SAFETY: the context and config are live and ours.
        let rc = unsafe { vpx::vpx_codec_enc_config_set(&mut *self.ctx, &**cfg) };
        if rc != vpx::VPX_CODEC_OK {
            return Err(CodecError::Encode(
                "VP8",
                err("new bitrate", &mut *self.ctx, rc),
            ));
        }
        Ok(())
    }

    /// Asks for a keyframe at the next picture (PLI/FIR, a new receiver).
    pub fn request_keyframe(&mut self) {
        self.force_key = true;
    }

    /// Encodes one picture: the VP8 frame (empty if dropped) and whether it is a keyframe.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<(&[u8], bool), CodecError> {
        if frame.width < 2
            || frame.height < 2
            || frame.data.len() < frame.width * frame.height * 3 / 2
        {
            return Err(CodecError::Encode(
                "VP8",
                format!(
                    "bad picture {}x{} ({} bytes)",
                    frame.width,
                    frame.height,
                    frame.data.len()
                ),
            ));
        }
        if self.size != (frame.width, frame.height) {
            self.open(frame.width, frame.height)?;
        }
        let (w, h) = (frame.width, frame.height);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let flags = if std::mem::take(&mut self.force_key) {
            vpx::VPX_EFLAG_FORCE_KF as vpx::vpx_enc_frame_flags_t
        } else {
            0
        };
        let duration = (90_000.0 / f64::from(self.settings.fps.max(1.0))) as u64;
        self.out.clear();
        let mut key = false;
        // SAFETY: the image only borrows `frame.data` (read-only for libvpx) for this call; the
        // packets returned are read before the next call into the encoder.
        unsafe {
            let mut img: vpx::vpx_image_t = std::mem::zeroed();
            let base = frame.data.as_ptr() as *mut u8;
            if vpx::vpx_img_wrap(
                &mut img,
                vpx::vpx_img_fmt::VPX_IMG_FMT_I420,
                w as c_uint,
                h as c_uint,
                1,
                base,
            )
            .is_null()
            {
                return Err(CodecError::Encode("VP8", "cannot wrap picture".into()));
            }
            img.planes[0] = base;
            img.planes[1] = base.add(w * h);
            img.planes[2] = base.add(w * h + cw * ch);
            img.stride[0] = w as c_int;
            img.stride[1] = cw as c_int;
            img.stride[2] = cw as c_int;
            let rc = vpx::vpx_codec_encode(
                &mut *self.ctx,
                &img,
                self.pts,
                duration as _,
                flags,
                vpx::VPX_DL_REALTIME as _,
            );
            self.pts += duration as i64;
            if rc != vpx::VPX_CODEC_OK {
                return Err(CodecError::Encode("VP8", err("encode", &mut *self.ctx, rc)));
            }
            let mut iter: vpx::vpx_codec_iter_t = ptr::null();
            loop {
                let pkt = vpx::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter);
                if pkt.is_null() {
                    break;
                }
                if (*pkt).kind == vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    let f = (*pkt).data.frame;
                    self.out.extend_from_slice(std::slice::from_raw_parts(
                        f.buf as *const u8,
                        f.sz as usize,
                    ));
                    key |= f.flags & vpx::VPX_FRAME_IS_KEY != 0;
                }
            }
        }
        Ok((&self.out, key))
    }
}

impl Drop for Vp8Encoder {
    fn drop(&mut self) {
        self.close();
    }
}

/// A VP8 decoder yielding packed I420 frames.
pub struct Vp8Decoder {
    ctx: Box<vpx::vpx_codec_ctx_t>,
}

// SAFETY: as for the encoder.
unsafe impl Send for Vp8Decoder {}

impl Vp8Decoder {
    pub fn new() -> Result<Self, CodecError> {
        // SAFETY: a zeroed context initialised by libvpx; the box keeps its address.
        unsafe {
            let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
            let cfg = vpx::vpx_codec_dec_cfg_t {
                threads: 1,
                w: 0,
                h: 0,
            };
            let rc = vpx::vpx_codec_dec_init_ver(
                &mut *ctx,
                vpx::vpx_codec_vp8_dx(),
                &cfg,
                0,
                vpx::VPX_DECODER_ABI_VERSION as c_int,
            );
            if rc != vpx::VPX_CODEC_OK {
                return Err(CodecError::Decode("VP8", format!("init: {rc:?}")));
            }
            Ok(Self { ctx })
        }
    }

    /// Decodes one VP8 frame; `Ok(None)` when it produced no picture.
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        if data.is_empty() {
            return Ok(None);
        }
        // SAFETY: libvpx reads `data` during the call; the image it returns stays valid until
        // the next decode call and is copied out before that.
        unsafe {
            let rc = vpx::vpx_codec_decode(
                &mut *self.ctx,
                data.as_ptr(),
                data.len() as c_uint,
                ptr::null_mut(),
                0,
            );
            if rc != vpx::VPX_CODEC_OK {
                return Err(CodecError::Decode("VP8", err("decode", &mut *self.ctx, rc)));
            }
            let mut iter: vpx::vpx_codec_iter_t = ptr::null();
            let img = vpx::vpx_codec_get_frame(&mut *self.ctx, &mut iter);
            if img.is_null() {
                return Ok(None);
            }
            let i = &*img;
            if i.fmt != vpx::vpx_img_fmt::VPX_IMG_FMT_I420 {
                return Err(CodecError::Decode(
                    "VP8",
                    format!("unexpected picture format {:?}", i.fmt),
                ));
            }
            let (w, h) = (i.d_w as usize, i.d_h as usize);
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let s = [
                i.stride[0] as usize,
                i.stride[1] as usize,
                i.stride[2] as usize,
            ];
            let plane = |p: usize, rows: usize, width: usize| {
                std::slice::from_raw_parts(i.planes[p], s[p] * (rows - 1) + width)
            };
            Ok(Some(VideoFrame::from_planes(
                w,
                h,
                plane(0, h, w),
                plane(1, ch, cw),
                plane(2, ch, cw),
                (s[0], s[1], s[2]),
            )))
        }
    }
}

impl Drop for Vp8Decoder {
    fn drop(&mut self) {
        // SAFETY: initialised in new().
        unsafe { vpx::vpx_codec_destroy(&mut *self.ctx) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::TestPattern;

    #[test]
    fn keyframes_on_request_and_new_sizes_and_bitrates_live() {
        let mut enc = Vp8Encoder::new(VideoEncodeSettings {
            bitrate_bps: 500_000,
            fps: 30.0,
        })
        .expect("encoder");
        let mut dec = Vp8Decoder::new().expect("decoder");
        let mut p = TestPattern::new(320, 180);
        assert!(enc.encode(&p.frame_at(0)).expect("first").1);
        assert!(!enc.encode(&p.frame_at(33_000)).expect("second").1);
        enc.reconfigure(VideoEncodeSettings {
            bitrate_bps: 200_000,
            fps: 15.0,
        })
        .expect("bitrate");
        assert!(
            !enc.encode(&p.frame_at(66_000))
                .expect("after a bitrate change")
                .1,
            "no keyframe for a bitrate change"
        );
        enc.request_keyframe();
        assert!(enc.encode(&p.frame_at(99_000)).expect("asked").1);
        let mut big = TestPattern::new(640, 360);
        let (bytes, key) = enc.encode(&big.frame_at(132_000)).expect("bigger");
        assert!(key, "a new size starts with a keyframe");
        let out = dec.decode(bytes).expect("decode").expect("picture");
        assert_eq!((out.width, out.height), (640, 360));
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_crash() {
        let mut dec = Vp8Decoder::new().expect("decoder");
        assert!(dec
            .decode(&[0x9d, 0x01, 0x2a, 0xff, 0xff, 0, 0, 0, 0])
            .is_err());
        assert!(matches!(dec.decode(&[]), Ok(None)));
    }
}
