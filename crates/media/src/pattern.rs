//! The synthetic camera: a moving test pattern that differs every frame and carries a stamp.

use crate::frame::VideoFrame;
use crate::source::{SourceError, VideoSource};
use crate::stamp::{self, Stamp};

/// A 1280x720 (by default) test pattern: colour bars, a diagonal sweep and a moving box.
pub struct TestPattern {
    width: usize,
    height: usize,
    counter: u32,
    base: VideoFrame,
}

impl TestPattern {
    pub fn new(width: usize, height: usize) -> Self {
        let (w, h) = (width & !1, height & !1);
        let mut base = VideoFrame::black(w, h);
        let bars: [(u8, u8, u8); 7] = [
            (180, 128, 128),
            (168, 44, 136),
            (145, 147, 44),
            (133, 63, 52),
            (63, 193, 204),
            (51, 109, 212),
            (28, 212, 120),
        ];
        let (cw, ch) = (w / 2, h / 2);
        let ysize = w * h;
        for row in 0..h {
            for col in 0..w {
                base.data[row * w + col] = bars[col * 7 / w].0;
            }
        }
        for row in 0..ch {
            for col in 0..cw {
                let bar = bars[col * 7 / cw];
                base.data[ysize + row * cw + col] = bar.1;
                base.data[ysize + cw * ch + row * cw + col] = bar.2;
            }
        }
        Self {
            width: w,
            height: h,
            counter: 0,
            base,
        }
    }

    /// The next picture, stamped with its counter and `capture_us`.
    pub fn frame_at(&mut self, capture_us: u64) -> VideoFrame {
        let mut f = self.base.clone();
        f.capture_us = capture_us;
        let (w, h) = (self.width, self.height);
        let t = self.counter as usize;
        let y = f.y_plane_mut();
        let band = h / 3;
        for row in band..2 * band {
            let line = &mut y[row * w..(row + 1) * w];
            for (col, px) in line.iter_mut().enumerate() {
                *px = (((col + row + t * 6) & 0xff) as u8 >> 1) + 40;
            }
        }
        let size = h / 6;
        let bx = (t * 8) % (w.saturating_sub(size).max(1));
        let by = 2 * band + (band.saturating_sub(size)) / 2;
        for row in by..(by + size).min(h) {
            y[row * w + bx..row * w + (bx + size).min(w)].fill(235);
        }
        stamp::write(
            &mut f,
            Stamp {
                counter: self.counter,
                capture_us,
            },
        );
        self.counter = self.counter.wrapping_add(1);
        f
    }

    pub fn frames_made(&self) -> u32 {
        self.counter
    }
}

impl VideoSource for TestPattern {
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        Ok(self.frame_at(crate::now_micros()))
    }

    fn name(&self) -> String {
        "Synthetic test pattern".into()
    }

    fn is_synthetic(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_differs_and_carries_its_counter() {
        let mut p = TestPattern::new(1280, 720);
        let a = p.frame_at(10);
        let b = p.frame_at(20);
        assert_ne!(a.data, b.data);
        assert_eq!(
            stamp::read(&a),
            Some(Stamp {
                counter: 0,
                capture_us: 10
            })
        );
        assert_eq!(
            stamp::read(&b),
            Some(Stamp {
                counter: 1,
                capture_us: 20
            })
        );
    }
}
