//! A frame counter and capture time drawn into the top rows of a picture as big black and
//! white blocks, so they survive encoding and scaling and can be read back after decoding.

use crate::frame::VideoFrame;

/// Blocks across the width.
const COLS: usize = 80;
const SYNC: u8 = 0b1011_0010;
/// sync(8) + counter(32) + micros(64) + checksum(8)
const BITS: usize = 112;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub counter: u32,
    pub capture_us: u64,
}

fn checksum(counter: u32, us: u64) -> u8 {
    counter
        .to_le_bytes()
        .iter()
        .chain(us.to_le_bytes().iter())
        .fold(0x5au8, |a, b| a.rotate_left(1) ^ b)
}

fn bits(s: Stamp) -> [bool; BITS] {
    let mut out = [false; BITS];
    let mut i = 0;
    let mut push = |v: u64, n: usize| {
        for b in (0..n).rev() {
            out[i] = (v >> b) & 1 == 1;
            i += 1;
        }
    };
    push(u64::from(SYNC), 8);
    push(u64::from(s.counter), 32);
    push(s.capture_us, 64);
    push(u64::from(checksum(s.counter, s.capture_us)), 8);
    out
}

fn block(width: usize) -> usize {
    (width / COLS).max(2)
}

/// Draws the stamp into the luma plane.
pub fn write(frame: &mut VideoFrame, s: Stamp) {
    let (w, h) = (frame.width, frame.height);
    let b = block(w);
    let y = frame.y_plane_mut();
    for (i, bit) in bits(s).iter().enumerate() {
        let (bx, by) = ((i % COLS) * b, (i / COLS) * b);
        let v = if *bit { 235 } else { 16 };
        for row in by..(by + b).min(h) {
            let start = row * w + bx;
            y[start..start + b.min(w - bx)].fill(v);
        }
    }
}

/// Reads a stamp back; `None` if the picture carries none (or it did not survive).
pub fn read(frame: &VideoFrame) -> Option<Stamp> {
    let (w, h) = (frame.width, frame.height);
    let b = block(w);
    if h < 2 * b {
        return None;
    }
    let y = frame.y_plane();
    let sample = |i: usize| {
        let (cx, cy) = ((i % COLS) * b + b / 2, (i / COLS) * b + b / 2);
        let r = (b / 4).max(1);
        let mut sum = 0u32;
        let mut n = 0u32;
        for row in cy.saturating_sub(r)..(cy + r).min(h) {
            for col in cx.saturating_sub(r)..(cx + r).min(w) {
                sum += u32::from(y[row * w + col]);
                n += 1;
            }
        }
        n > 0 && sum / n > 128
    };
    let mut v: u128 = 0;
    for i in 0..BITS {
        v = (v << 1) | u128::from(sample(i));
    }
    let sync = (v >> 104) as u8;
    let counter = (v >> 72) as u32;
    let us = (v >> 8) as u64;
    let sum = v as u8;
    (sync == SYNC && sum == checksum(counter, us)).then_some(Stamp {
        counter,
        capture_us: us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_counter_and_time() {
        let mut f = VideoFrame::black(1280, 720);
        let s = Stamp {
            counter: 123_456,
            capture_us: 1_763_000_000_123_456,
        };
        write(&mut f, s);
        assert_eq!(read(&f), Some(s));
        assert_eq!(read(&VideoFrame::black(1280, 720)), None);
    }
}
