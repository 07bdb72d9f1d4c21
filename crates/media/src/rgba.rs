//! I420 to RGBA at any size, for displays that draw plain pixels (a 2D canvas) and for
//! screenshots: one pass that scales (bilinear on luma) and converts (BT.601, limited range).

use crate::frame::VideoFrame;

/// Fixed-point (Q8) BT.601 limited-range coefficients.
const Y_MUL: i32 = 298;
const V_TO_R: i32 = 409;
const U_TO_G: i32 = 100;
const V_TO_G: i32 = 208;
const U_TO_B: i32 = 516;

/// Renders `src` as `width` x `height` RGBA (alpha 255), stretching to fill.
pub fn to_rgba(src: &VideoFrame, width: usize, height: usize) -> Vec<u8> {
    let mut out = vec![255u8; width * height * 4];
    if width == 0 || height == 0 || src.width < 2 || src.height < 2 {
        return out;
    }
    let (sw, sh) = (src.width, src.height);
    let (y, u, v) = (src.y_plane(), src.u_plane(), src.v_plane());
    let cw = sw / 2;
    let luma_lut: Vec<i32> = (0..256).map(|l| Y_MUL * (l - 16) + 128).collect();
    // Source positions in 16.16 fixed point, sampling at pixel centres; columns are the same
    // for every row, so their indices and weights are worked out once.
    let step_x = ((sw as u64) << 16) / width as u64;
    let step_y = ((sh as u64) << 16) / height as u64;
    let cols: Vec<(u32, u16, u16)> = (0..width)
        .map(|col| {
            let fx = ((col as u64 * step_x) + (step_x >> 1)).saturating_sub(1 << 15);
            let x0 = ((fx >> 16) as usize).min(sw - 2);
            let wx = if (fx >> 16) as usize >= sw - 1 {
                256
            } else {
                ((fx >> 8) & 0xff) as u16
            };
            (x0 as u32, wx, (x0 / 2) as u16)
        })
        .collect();
    let mut blended = vec![0u16; sw];
    let mut chroma = vec![(0i32, 0i32, 0i32); cw];
    let mut last_chroma_row = usize::MAX;
    for (row, line) in out.chunks_exact_mut(width * 4).enumerate() {
        let fy = ((row as u64 * step_y) + (step_y >> 1)).saturating_sub(1 << 15);
        let y0 = ((fy >> 16) as usize).min(sh - 1);
        let y1 = (y0 + 1).min(sh - 1);
        let wy = u16::from(((fy >> 8) & 0xff) as u8);
        // Blend the two source rows once (luma in 8.8 fixed point), then sample along it.
        let (r0, r1) = (&y[y0 * sw..(y0 + 1) * sw], &y[y1 * sw..(y1 + 1) * sw]);
        for ((b, &a), &c) in blended.iter_mut().zip(r0).zip(r1) {
            *b = (u16::from(a) * (256 - wy) + u16::from(c) * wy) >> 8;
        }
        // Chroma is nearest; its per-sample contributions change only every other row.
        let crow = y0 / 2;
        if crow != last_chroma_row {
            last_chroma_row = crow;
            let (cu, cv) = (
                &u[crow * cw..(crow + 1) * cw],
                &v[crow * cw..(crow + 1) * cw],
            );
            for ((c, &uu), &vv) in chroma.iter_mut().zip(cu).zip(cv) {
                let (du, dv) = (i32::from(uu) - 128, i32::from(vv) - 128);
                *c = (V_TO_R * dv, -U_TO_G * du - V_TO_G * dv, U_TO_B * du);
            }
        }
        for (px, &(x0, wx, cx)) in line.chunks_exact_mut(4).zip(&cols) {
            let x0 = x0 as usize;
            let (a, b) = (u32::from(blended[x0]), u32::from(blended[x0 + 1]));
            let luma = ((a * u32::from(256 - wx) + b * u32::from(wx)) >> 8) as usize;
            let l = luma_lut[luma.min(255)];
            let (dr, dg, db) = chroma[cx as usize];
            px[0] = clamp((l + dr) >> 8);
            px[1] = clamp((l + dg) >> 8);
            px[2] = clamp((l + db) >> 8);
        }
    }
    out
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(y: u8, u: u8, v: u8) -> VideoFrame {
        let mut f = VideoFrame::black(64, 36);
        let n = 64 * 36;
        f.data[..n].fill(y);
        f.data[n..n + n / 4].fill(u);
        f.data[n + n / 4..].fill(v);
        f
    }

    #[test]
    fn converts_limited_range_black_white_and_primaries() {
        assert_eq!(&to_rgba(&solid(16, 128, 128), 8, 8)[..4], &[0, 0, 0, 255]);
        assert_eq!(
            &to_rgba(&solid(235, 128, 128), 8, 8)[..4],
            &[255, 255, 255, 255]
        );
        let red = to_rgba(&solid(81, 90, 240), 4, 4);
        assert!(
            red[0] > 240 && red[1] < 10 && red[2] < 10,
            "{:?}",
            &red[..4]
        );
    }

    #[test]
    fn scales_to_the_requested_size_keeping_edges() {
        let mut f = solid(16, 128, 128);
        for row in 0..36 {
            f.data[row * 64 + 32..row * 64 + 64].fill(235);
        }
        let out = to_rgba(&f, 16, 9);
        assert_eq!(out.len(), 16 * 9 * 4);
        let at = |x: usize, y: usize| out[(y * 16 + x) * 4];
        assert_eq!(at(0, 4), 0);
        assert_eq!(at(15, 4), 255);
        assert!(at(7, 4) < 40 && at(8, 4) > 215);
    }
}
