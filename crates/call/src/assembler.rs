//! Rebuilds video frames from RTP packets the moment their last packet arrives. The crate's
//! SampleBuilder holds every frame until a packet of the *next* frame shows up, which adds a
//! whole frame interval (33 ms at 30 fps) to every picture's delay.
//!
//! A frame is complete when its packets run without a gap from a known start (right after
//! the previous frame, or a partition head after a loss) to the packet with the marker bit.
//! An incomplete frame holds later ones (NACK may still fill the gap) for at most `max_wait`;
//! then it is dropped and the next emitted frame says so, so the receiver can ask for a keyframe.
//!
//! Padding-only packets (an empty payload: libwebrtc's bandwidth probes when no RTX was
//! negotiated, WEBRTC.md 7) fill their sequence number and nothing else: they are neither a
//! frame nor a loss.

use bytes::{Bytes, BytesMut};
use media::codec::VideoCodec;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packet::Packet;
use rtc::rtp::packetizer::Depacketizer;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The depacketizer for whichever video codec was negotiated.
pub enum AnyDepacketizer {
    H264(H264Packet),
    Vp8(Vp8Packet),
}

impl AnyDepacketizer {
    pub fn for_codec(c: VideoCodec) -> Self {
        match c {
            VideoCodec::H264 => AnyDepacketizer::H264(H264Packet::default()),
            VideoCodec::Vp8 => AnyDepacketizer::Vp8(Vp8Packet::default()),
        }
    }
}

impl Depacketizer for AnyDepacketizer {
    fn depacketize(&mut self, b: &Bytes) -> Result<Bytes, rtc::shared::error::Error> {
        match self {
            AnyDepacketizer::H264(d) => d.depacketize(b),
            AnyDepacketizer::Vp8(d) => d.depacketize(b),
        }
    }

    fn is_partition_head(&self, payload: &Bytes) -> bool {
        match self {
            AnyDepacketizer::H264(d) => d.is_partition_head(payload),
            AnyDepacketizer::Vp8(d) => d.is_partition_head(payload),
        }
    }

    fn is_partition_tail(&self, marker: bool, payload: &Bytes) -> bool {
        match self {
            AnyDepacketizer::H264(d) => d.is_partition_tail(marker, payload),
            AnyDepacketizer::Vp8(d) => d.is_partition_tail(marker, payload),
        }
    }
}

/// Packets buffered at most (a 1080p keyframe is ~150-250 packets).
const MAX_PACKETS: usize = 2048;

/// One reassembled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub data: Bytes,
    pub timestamp: u32,
    /// Frames were lost before this one (the decoder's references may be broken).
    pub after_loss: bool,
}

struct Slot {
    packet: Packet,
    arrived: Instant,
}

impl Slot {
    /// A probe or padding packet: it carries no media.
    fn is_padding(&self) -> bool {
        self.packet.payload.is_empty()
    }
}

pub struct FrameAssembler<D: Depacketizer> {
    depacketizer: D,
    packets: BTreeMap<u64, Slot>,
    /// Extended sequence number where the next frame starts, when known.
    next: Option<u64>,
    /// Highest extended sequence number seen (to unwrap 16-bit numbers).
    highest: Option<u64>,
    lost: bool,
    max_wait: Duration,
}

impl<D: Depacketizer> FrameAssembler<D> {
    pub fn new(depacketizer: D, max_wait: Duration) -> Self {
        Self {
            depacketizer,
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            lost: false,
            max_wait,
        }
    }

    fn extend(&mut self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            // Start well above zero so numbers just before the first one stay representable.
            let e = (1 << 20) + u64::from(seq);
            self.highest = Some(e);
            return e;
        };
        let base = h & !0xffff;
        let candidates =
            [base.wrapping_sub(0x1_0000), base, base + 0x1_0000].map(|b| b + u64::from(seq));
        let e = candidates
            .into_iter()
            .min_by_key(|c| c.abs_diff(h))
            .unwrap_or(base + u64::from(seq));
        if e > h {
            self.highest = Some(e);
        }
        e
    }

    /// Takes one packet; duplicates and packets of frames already emitted or dropped are ignored.
    pub fn push(&mut self, now: Instant, packet: Packet) {
        let e = self.extend(packet.header.sequence_number);
        if self.next.is_some_and(|n| e < n) {
            return;
        }
        self.packets.entry(e).or_insert(Slot {
            packet,
            arrived: now,
        });
        while self.packets.len() > MAX_PACKETS {
            self.packets.pop_first();
            self.lost = true;
            self.next = None;
        }
    }

    /// The next complete frame, if any.
    pub fn pop(&mut self, now: Instant) -> Option<Frame> {
        loop {
            let start = match self.next {
                Some(n) => n,
                None => self.resync()?,
            };
            if self.packets.get(&start).is_some_and(Slot::is_padding) {
                self.packets.remove(&start);
                self.next = Some(start + 1);
                continue;
            }
            match self.complete_from(start) {
                Some(end) => return Some(self.emit(start, end)),
                None => {
                    let oldest = self.packets.range(start..).next().map(|(_, s)| s.arrived)?;
                    if now.saturating_duration_since(oldest) < self.max_wait {
                        return None;
                    }
                    self.drop_frame_at(start);
                }
            }
        }
    }

    /// Where a frame can start after a loss: the first buffered partition head.
    fn resync(&mut self) -> Option<u64> {
        let (&e, _) = self.packets.iter().find(|(_, s)| {
            !s.is_padding() && self.depacketizer.is_partition_head(&s.packet.payload)
        })?;
        if self.packets.range(..e).any(|(_, s)| !s.is_padding()) {
            self.lost = true;
        }
        self.packets = self.packets.split_off(&e);
        self.next = Some(e);
        Some(e)
    }

    /// The last sequence number of the frame starting at `start`, if all of it is here.
    fn complete_from(&self, start: u64) -> Option<u64> {
        let ts = self.packets.get(&start)?.packet.header.timestamp;
        let mut e = start;
        loop {
            let p = &self.packets.get(&e)?.packet;
            if p.header.timestamp != ts {
                // The marker was never set, but the next frame has begun right after.
                return Some(e - 1);
            }
            if self
                .depacketizer
                .is_partition_tail(p.header.marker, &p.payload)
            {
                return Some(e);
            }
            e += 1;
        }
    }

    fn emit(&mut self, start: u64, end: u64) -> Frame {
        let rest = self.packets.split_off(&(end + 1));
        let parts = std::mem::replace(&mut self.packets, rest);
        let timestamp = parts
            .get(&start)
            .map(|s| s.packet.header.timestamp)
            .unwrap_or(0);
        let mut data = BytesMut::new();
        let mut bad = false;
        for s in parts.values().filter(|s| !s.is_padding()) {
            match self.depacketizer.depacketize(&s.packet.payload) {
                Ok(b) => data.extend_from_slice(&b),
                Err(e) => {
                    tracing::debug!(error = %e, "unreadable video packet");
                    bad = true;
                }
            }
        }
        self.next = Some(end + 1);
        let after_loss = std::mem::take(&mut self.lost) || bad;
        Frame {
            data: data.freeze(),
            timestamp,
            after_loss,
        }
    }

    /// Gives up on the frame that should start at `start`: drops its packets and resyncs.
    fn drop_frame_at(&mut self, start: u64) {
        let ts = self
            .packets
            .range(start..)
            .next()
            .map(|(_, s)| s.packet.header.timestamp);
        self.packets
            .retain(|&e, s| e > start && Some(s.packet.header.timestamp) != ts);
        self.lost = true;
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::header::Header;

    /// VP8 payloads: a 1-byte descriptor (S bit on the first packet of a frame) + 3 bytes.
    fn pkt(seq: u16, ts: u32, first: bool, marker: bool, byte: u8) -> Packet {
        let desc = if first { 0x10 } else { 0x00 };
        Packet {
            header: Header {
                sequence_number: seq,
                timestamp: ts,
                marker,
                ..Default::default()
            },
            payload: Bytes::from(vec![desc, byte, byte, byte]),
        }
    }

    /// A frame of `n` packets starting at `seq`, payload bytes `tag`.
    fn frame(seq: u16, ts: u32, n: u16, tag: u8) -> Vec<Packet> {
        (0..n)
            .map(|i| pkt(seq.wrapping_add(i), ts, i == 0, i + 1 == n, tag))
            .collect()
    }

    /// What a frame of `n` packets tagged `tag` depacketizes to.
    fn data(tag: u8, n: usize) -> Vec<u8> {
        vec![tag; 3 * n]
    }

    fn asm() -> FrameAssembler<Vp8Packet> {
        FrameAssembler::new(Vp8Packet::default(), Duration::from_millis(200))
    }

    #[test]
    fn emits_a_frame_as_soon_as_its_marker_packet_arrives() {
        let mut a = asm();
        let t = Instant::now();
        let f = frame(100, 3000, 3, 7);
        a.push(t, f[0].clone());
        a.push(t, f[1].clone());
        assert_eq!(a.pop(t), None, "not complete yet");
        a.push(t, f[2].clone());
        let out = a
            .pop(t)
            .expect("complete without waiting for the next frame");
        assert_eq!(out.data.to_vec(), data(7, 3));
        assert_eq!(out.timestamp, 3000);
        assert!(!out.after_loss);
        assert_eq!(a.pop(t), None);
    }

    #[test]
    fn reorders_packets_within_and_across_frames() {
        let mut a = asm();
        let t = Instant::now();
        let mut all = frame(10, 0, 2, 1);
        all.extend(frame(12, 3000, 2, 2));
        for i in [1, 3, 0, 2] {
            a.push(t, all[i].clone());
        }
        assert_eq!(a.pop(t).map(|f| f.data.to_vec()), Some(data(1, 2)));
        assert_eq!(a.pop(t).map(|f| f.data.to_vec()), Some(data(2, 2)));
    }

    #[test]
    fn waits_for_a_retransmission_then_gives_up_and_reports_the_loss() {
        let mut a = asm();
        let t = Instant::now();
        let f1 = frame(1, 0, 3, 1);
        let f2 = frame(4, 3000, 2, 2);
        for p in [&f1[0], &f1[2], &f2[0], &f2[1]] {
            a.push(t, p.clone());
        }
        assert_eq!(
            a.pop(t + Duration::from_millis(50)),
            None,
            "frame 1 holds frame 2 while a resend may come"
        );
        let late = t + Duration::from_millis(60);
        a.push(late, f1[1].clone());
        assert_eq!(
            a.pop(late).map(|f| f.data.to_vec()),
            Some(data(1, 3)),
            "the resend completes it"
        );
        assert!(a.pop(late).is_some_and(|f| !f.after_loss));

        let f3 = frame(6, 6000, 3, 3);
        let f4 = frame(9, 9000, 2, 4);
        for p in [&f3[0], &f3[2], &f4[0], &f4[1]] {
            a.push(late, p.clone());
        }
        assert_eq!(a.pop(late), None);
        let out = a
            .pop(late + Duration::from_millis(250))
            .expect("gave up on frame 3");
        assert_eq!(out.data.to_vec(), data(4, 2));
        assert!(out.after_loss, "the decoder is told frames were lost");
        a.push(late, f3[1].clone());
        assert_eq!(
            a.pop(late + Duration::from_millis(300)),
            None,
            "a resend after giving up is ignored"
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = asm();
        let t = Instant::now();
        for p in frame(65534, 0, 4, 9) {
            a.push(t, p);
        }
        assert_eq!(a.pop(t).map(|f| f.data.to_vec()), Some(data(9, 4)));
        for p in frame(2, 3000, 1, 8) {
            a.push(t, p);
        }
        assert_eq!(a.pop(t).map(|f| f.data.to_vec()), Some(data(8, 1)));
    }

    #[test]
    fn a_stream_joined_mid_frame_starts_at_the_next_frame() {
        let mut a = asm();
        let t = Instant::now();
        let f1 = frame(50, 0, 3, 1);
        a.push(t, f1[2].clone());
        for p in frame(53, 3000, 2, 2) {
            a.push(t, p);
        }
        let out = a.pop(t).expect("the first whole frame");
        assert_eq!(out.data.to_vec(), data(2, 2));
        assert!(out.after_loss, "what came before was incomplete");
    }

    /// A padding-only probe packet: libwebrtc reuses the last frame's timestamp, no marker.
    fn padding(seq: u16, ts: u32) -> Packet {
        Packet {
            header: Header {
                sequence_number: seq,
                timestamp: ts,
                padding: true,
                ..Default::default()
            },
            payload: Bytes::new(),
        }
    }

    #[test]
    fn probe_padding_between_frames_is_neither_a_frame_nor_a_loss() {
        let mut a = asm();
        let t = Instant::now();
        for p in frame(100, 3000, 2, 1) {
            a.push(t, p);
        }
        assert_eq!(a.pop(t).map(|f| f.data.to_vec()), Some(data(1, 2)));
        // A probe burst, partly out of order, then the next frame.
        for seq in [103, 102, 104, 105] {
            a.push(t, padding(seq, 3000));
        }
        assert_eq!(a.pop(t), None, "padding is no frame");
        for p in frame(106, 6000, 2, 2) {
            a.push(t, p);
        }
        let out = a.pop(t).expect("the next frame at once");
        assert_eq!(out.data.to_vec(), data(2, 2));
        assert!(!out.after_loss, "padding is not loss: no keyframe request");
        assert!(a.packets.is_empty());
    }

    #[test]
    fn padding_before_the_first_frame_is_not_loss() {
        let mut a = asm();
        let t = Instant::now();
        a.push(t, padding(7, 0));
        a.push(t, padding(8, 0));
        for p in frame(9, 3000, 2, 5) {
            a.push(t, p);
        }
        let out = a.pop(t).expect("the first frame");
        assert!(!out.after_loss);
        // And a probe the clock has long passed is never waited for.
        a.push(t, padding(11, 3000));
        assert_eq!(a.pop(t + Duration::from_secs(1)), None);
        for p in frame(12, 6000, 1, 6) {
            a.push(t, p);
        }
        assert!(a.pop(t).is_some_and(|f| !f.after_loss));
    }

    #[test]
    fn floods_of_packets_stay_bounded() {
        let mut a = asm();
        let t = Instant::now();
        for i in 0..5000u16 {
            a.push(t, pkt(i.wrapping_mul(2), u32::from(i), false, false, 0));
        }
        assert!(a.packets.len() <= MAX_PACKETS);
    }
}
