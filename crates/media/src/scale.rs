//! Resizing I420 pictures (for quality presets below the camera's size).

use crate::frame::VideoFrame;

/// Resizes with a 2x2 box filter when shrinking by about half or more, nearest otherwise.
pub fn resize(src: &VideoFrame, width: usize, height: usize) -> VideoFrame {
    let (w, h) = (width & !1, height & !1);
    if w == src.width && h == src.height {
        return src.clone();
    }
    let mut out = VideoFrame::black(w, h);
    out.capture_us = src.capture_us;
    let (cw, ch) = (w / 2, h / 2);
    let y_len = w * h;
    plane(
        src.y_plane(),
        src.width,
        src.height,
        &mut out.data[..y_len],
        w,
        h,
    );
    plane(
        src.u_plane(),
        src.width / 2,
        src.height / 2,
        &mut out.data[y_len..y_len + cw * ch],
        cw,
        ch,
    );
    plane(
        src.v_plane(),
        src.width / 2,
        src.height / 2,
        &mut out.data[y_len + cw * ch..],
        cw,
        ch,
    );
    out
}

fn plane(src: &[u8], sw: usize, sh: usize, dst: &mut [u8], dw: usize, dh: usize) {
    let box_filter = sw >= dw * 2 - dw / 4 && sh >= dh * 2 - dh / 4;
    for row in 0..dh {
        let sy = row * sh / dh;
        let sy1 = (sy + 1).min(sh - 1);
        let out = &mut dst[row * dw..(row + 1) * dw];
        for (col, px) in out.iter_mut().enumerate() {
            let sx = col * sw / dw;
            *px = if box_filter {
                let sx1 = (sx + 1).min(sw - 1);
                let s = u16::from(src[sy * sw + sx])
                    + u16::from(src[sy * sw + sx1])
                    + u16::from(src[sy1 * sw + sx])
                    + u16::from(src[sy1 * sw + sx1]);
                (s / 4) as u8
            } else {
                src[sy * sw + sx]
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::TestPattern;
    use crate::stamp;

    #[test]
    fn stamp_survives_downscaling_to_the_poor_preset() {
        let f = TestPattern::new(1280, 720).frame_at(42);
        let small = resize(&f, 640, 480);
        assert_eq!((small.width, small.height), (640, 480));
        assert_eq!(stamp::read(&small).map(|s| s.capture_us), Some(42));
    }
}
