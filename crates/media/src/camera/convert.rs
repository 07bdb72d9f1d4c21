//! Camera pixel formats to packed I420: YUYV (4:2:2 packed), NV12 (Y + interleaved UV), MJPEG
//! (decoded with `image`, then RGB to BT.601 limited-range YUV), so every camera feeds the
//! encoders the same way.

use crate::frame::VideoFrame;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConvertError {
    #[error("{format} picture {width}x{height} needs {need} bytes, got {got}")]
    Short {
        format: &'static str,
        width: usize,
        height: usize,
        need: usize,
        got: usize,
    },
    #[error("odd picture size {0}x{1}")]
    Odd(usize, usize),
    #[error("MJPEG picture unreadable: {0}")]
    Jpeg(String),
}

fn check(
    format: &'static str,
    w: usize,
    h: usize,
    need: usize,
    got: usize,
) -> Result<(), ConvertError> {
    if w % 2 == 1 || h % 2 == 1 || w == 0 || h == 0 {
        return Err(ConvertError::Odd(w, h));
    }
    if got < need {
        return Err(ConvertError::Short {
            format,
            width: w,
            height: h,
            need,
            got,
        });
    }
    Ok(())
}

fn frame(w: usize, h: usize, data: Vec<u8>) -> VideoFrame {
    VideoFrame {
        width: w,
        height: h,
        data,
        capture_us: crate::now_micros(),
    }
}

/// YUYV (Y0 U Y1 V per two pixels): luma copied, chroma averaged over each pair of rows.
pub fn yuyv_to_i420(w: usize, h: usize, src: &[u8]) -> Result<VideoFrame, ConvertError> {
    check("YUYV", w, h, w * h * 2, src.len())?;
    let (cw, ch) = (w / 2, h / 2);
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let (y, uv) = out.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(cw * ch);
    for row in 0..h {
        let line = &src[row * w * 2..(row + 1) * w * 2];
        for (x, px) in line.chunks_exact(2).enumerate() {
            y[row * w + x] = px[0];
        }
    }
    for row in 0..ch {
        let a = &src[2 * row * w * 2..(2 * row + 1) * w * 2];
        let b = &src[(2 * row + 1) * w * 2..(2 * row + 2) * w * 2];
        for x in 0..cw {
            let i = x * 4;
            u[row * cw + x] = (u16::from(a[i + 1]) + u16::from(b[i + 1])).div_ceil(2) as u8;
            v[row * cw + x] = (u16::from(a[i + 3]) + u16::from(b[i + 3])).div_ceil(2) as u8;
        }
    }
    Ok(frame(w, h, out))
}

/// NV12: the luma plane as is, the interleaved UV plane split in two.
pub fn nv12_to_i420(w: usize, h: usize, src: &[u8]) -> Result<VideoFrame, ConvertError> {
    let (cw, ch) = (w / 2, h / 2);
    check("NV12", w, h, w * h + 2 * cw * ch, src.len())?;
    let mut out = Vec::with_capacity(w * h + 2 * cw * ch);
    out.extend_from_slice(&src[..w * h]);
    let uv = &src[w * h..w * h + 2 * cw * ch];
    out.extend(uv.chunks_exact(2).map(|p| p[0]));
    out.extend(uv.chunks_exact(2).map(|p| p[1]));
    Ok(frame(w, h, out))
}

/// Packed RGB (8 bits each) to I420, BT.601 limited range (what the decoders and the display assume).
pub fn rgb_to_i420(w: usize, h: usize, rgb: &[u8]) -> Result<VideoFrame, ConvertError> {
    check("RGB", w, h, w * h * 3, rgb.len())?;
    let (cw, ch) = (w / 2, h / 2);
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let (y, uv) = out.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(cw * ch);
    let luma = |r: i32, g: i32, b: i32| {
        (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16).clamp(0, 255) as u8
    };
    for (i, px) in rgb.chunks_exact(3).take(w * h).enumerate() {
        y[i] = luma(i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
    }
    for row in 0..ch {
        for x in 0..cw {
            let (mut r, mut g, mut b) = (0i32, 0i32, 0i32);
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let p = ((2 * row + dy) * w + 2 * x + dx) * 3;
                r += i32::from(rgb[p]);
                g += i32::from(rgb[p + 1]);
                b += i32::from(rgb[p + 2]);
            }
            let (r, g, b) = (r / 4, g / 4, b / 4);
            u[row * cw + x] = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
            v[row * cw + x] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
        }
    }
    Ok(frame(w, h, out))
}

/// One MJPEG picture (a JPEG) to I420.
pub fn mjpeg_to_i420(jpeg: &[u8]) -> Result<VideoFrame, ConvertError> {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
    let rgb = img.to_rgb8();
    let (w, h) = (rgb.width() as usize & !1, rgb.height() as usize & !1);
    if (w, h) == (rgb.width() as usize, rgb.height() as usize) {
        return rgb_to_i420(w, h, rgb.as_raw());
    }
    // Odd sizes lose their last row/column: the encoders need even ones.
    let mut even = Vec::with_capacity(w * h * 3);
    for row in rgb.as_raw().chunks_exact(rgb.width() as usize * 3).take(h) {
        even.extend_from_slice(&row[..w * 3]);
    }
    rgb_to_i420(w, h, &even)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_keeps_luma_and_averages_chroma_rows() {
        // 4x2: row 0 U=100 V=200, row 1 U=110 V=210; luma counts up.
        let mut src = Vec::new();
        for (row, (u, v)) in [(100u8, 200u8), (110, 210)].into_iter().enumerate() {
            for pair in 0..2u8 {
                let y0 = (row as u8) * 10 + pair * 2;
                src.extend_from_slice(&[y0, u, y0 + 1, v]);
            }
        }
        let f = yuyv_to_i420(4, 2, &src).expect("convert");
        assert_eq!(f.y_plane(), &[0, 1, 2, 3, 10, 11, 12, 13]);
        assert_eq!(f.u_plane(), &[105, 105]);
        assert_eq!(f.v_plane(), &[205, 205]);
    }

    #[test]
    fn nv12_splits_the_chroma_plane() {
        let mut src = vec![50u8; 4 * 2];
        src.extend_from_slice(&[1, 2, 3, 4]);
        let f = nv12_to_i420(4, 2, &src).expect("convert");
        assert_eq!(f.y_plane(), &[50; 8]);
        assert_eq!((f.u_plane(), f.v_plane()), (&[1u8, 3][..], &[2u8, 4][..]));
    }

    #[test]
    fn rgb_primaries_land_on_bt601_limited_values() {
        let px = |r: u8, g: u8, b: u8| rgb_to_i420(2, 2, &[r, g, b].repeat(4)).expect("convert");
        let white = px(255, 255, 255);
        assert_eq!(
            (white.y_plane()[0], white.u_plane()[0], white.v_plane()[0]),
            (235, 128, 128)
        );
        let black = px(0, 0, 0);
        assert_eq!(
            (black.y_plane()[0], black.u_plane()[0], black.v_plane()[0]),
            (16, 128, 128)
        );
        let red = px(255, 0, 0);
        assert_eq!((red.y_plane()[0], red.v_plane()[0]), (82, 240));
    }

    #[test]
    fn mjpeg_pictures_decode_to_i420() {
        let mut img = image::RgbImage::new(64, 48);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = if x < 32 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            };
        }
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .expect("encode");
        let f = mjpeg_to_i420(&jpeg).expect("decode");
        assert_eq!((f.width, f.height), (64, 48));
        let y = f.y_plane();
        assert!(
            y[10] > 225 && y[60] < 25,
            "white left, black right: {} {}",
            y[10],
            y[60]
        );
    }

    #[test]
    fn short_or_odd_pictures_are_errors() {
        assert!(matches!(
            yuyv_to_i420(4, 2, &[0; 10]),
            Err(ConvertError::Short { .. })
        ));
        assert_eq!(
            nv12_to_i420(3, 2, &[0; 100]).err(),
            Some(ConvertError::Odd(3, 2))
        );
        assert!(matches!(
            mjpeg_to_i420(b"not a jpeg"),
            Err(ConvertError::Jpeg(_))
        ));
    }
}
