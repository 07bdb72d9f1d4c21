//! An adaptive jitter buffer for received audio (the `webrtc` crate only reorders). Packets go in
//! as they arrive; the playout clock takes one 20 ms frame at a time and is told what to decode:
//! the packet, the next packet's in-band FEC (when only this one is lost), or concealment. The
//! delay follows measured jitter (95th percentile of recent arrival delays plus a frame), and the
//! depth is held near it: too deep and a frame is dropped; run dry, or missing a frame while
//! under the target, and a frame is concealed without moving on. That same rule absorbs clock drift between sender and sound card, so delay
//! cannot grow without bound. Sans-IO: time is passed in, so it is tested without sleeping.

use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// What to play for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decode this packet.
    Packet(Bytes),
    /// This frame was lost: decode the FEC carried by the next packet (given here).
    Fec(Bytes),
    /// Nothing usable: let the decoder conceal (PLC).
    Conceal,
    /// Not started yet (filling to the target delay): play silence.
    Waiting,
}

/// Counts for stats.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub played: u64,
    pub fec: u64,
    pub concealed: u64,
    /// Arrived after their turn.
    pub late: u64,
    /// Dropped to bring the depth back to the target.
    pub dropped: u64,
    /// Concealed while empty, to let the depth grow back.
    pub stretched: u64,
}

pub struct JitterBuffer {
    frame_ms: f64,
    min_ms: f64,
    max_ms: f64,
    packets: BTreeMap<u64, Bytes>,
    next: Option<u64>,
    highest: Option<u64>,
    started: bool,
    /// Arrival time minus media time (ms) of recent packets, and the reference instant.
    transits: VecDeque<f64>,
    epoch: Option<Instant>,
    target_ms: f64,
    pub stats: JitterStats,
}

/// How many recent packets the delay estimate looks at (about 4 s of 20 ms frames).
const WINDOW: usize = 200;
/// Packets held at most (4 s).
const CAPACITY: usize = 200;

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new(
            Duration::from_millis(20),
            Duration::from_millis(40),
            Duration::from_millis(400),
        )
    }
}

impl JitterBuffer {
    /// `frame`: packet duration; the delay stays between `min` and `max`.
    pub fn new(frame: Duration, min: Duration, max: Duration) -> Self {
        Self {
            frame_ms: frame.as_secs_f64() * 1000.0,
            min_ms: min.as_secs_f64() * 1000.0,
            max_ms: max.as_secs_f64() * 1000.0,
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            started: false,
            transits: VecDeque::new(),
            epoch: None,
            target_ms: min.as_secs_f64() * 1000.0,
            stats: JitterStats::default(),
        }
    }

    /// The delay the buffer aims for now.
    pub fn target(&self) -> Duration {
        Duration::from_secs_f64(self.target_ms / 1000.0)
    }

    /// Audio held, as play time.
    pub fn depth(&self) -> Duration {
        match (self.next, self.highest) {
            (Some(n), Some(h)) if h >= n => {
                Duration::from_secs_f64((h - n + 1) as f64 * self.frame_ms / 1000.0)
            }
            _ => Duration::ZERO,
        }
    }

    /// Extends a 16-bit sequence number next to the highest seen.
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return u64::from(seq) + (1 << 16);
        };
        let base = h & !0xffff;
        let candidates = [
            base.wrapping_sub(1 << 16) | u64::from(seq),
            base | u64::from(seq),
            (base + (1 << 16)) | u64::from(seq),
        ];
        candidates
            .into_iter()
            .min_by_key(|c| c.abs_diff(h))
            .unwrap_or(base | u64::from(seq))
    }

    /// A packet arrived: `seq` and `media_ms` (RTP timestamp in ms) from its header.
    pub fn push(&mut self, seq: u16, media_ms: f64, payload: Bytes, now: Instant) {
        let s = self.extend(seq);
        if let Some(h) = self.highest {
            // A jump of more than the capacity means the sender restarted: start over.
            if s.abs_diff(h) > CAPACITY as u64 {
                *self = Self {
                    stats: self.stats,
                    ..Self::new(
                        Duration::from_secs_f64(self.frame_ms / 1000.0),
                        Duration::from_secs_f64(self.min_ms / 1000.0),
                        Duration::from_secs_f64(self.max_ms / 1000.0),
                    )
                };
                return self.push(seq, media_ms, payload, now);
            }
        }
        // Late packets count most for the delay estimate, even though they cannot play.
        self.note_arrival(media_ms, now);
        if self.next.is_some_and(|n| s < n) {
            self.stats.late += 1;
            return;
        }
        self.packets.insert(s, payload);
        self.highest = Some(self.highest.map_or(s, |h| h.max(s)));
        if self.next.is_none() {
            self.next = Some(s);
        } else if !self.started {
            self.next = self.next.map(|n| n.min(s));
        }
        while self.packets.len() > CAPACITY {
            self.packets.pop_first();
        }
    }

    fn note_arrival(&mut self, media_ms: f64, now: Instant) {
        let epoch = *self.epoch.get_or_insert(now);
        let transit = now.duration_since(epoch).as_secs_f64() * 1000.0 - media_ms;
        self.transits.push_back(transit);
        if self.transits.len() > WINDOW {
            self.transits.pop_front();
        }
        let min = self.transits.iter().copied().fold(f64::INFINITY, f64::min);
        let mut delays: Vec<f64> = self.transits.iter().map(|t| t - min).collect();
        delays.sort_by(f64::total_cmp);
        let p95 = delays[(delays.len() * 95 / 100).min(delays.len() - 1)];
        self.target_ms = (p95 + self.frame_ms).clamp(self.min_ms, self.max_ms);
    }

    /// The next 20 ms of playout.
    pub fn pop(&mut self) -> Playout {
        let (Some(mut next), Some(highest)) = (self.next, self.highest) else {
            return Playout::Waiting;
        };
        let frames_held = |n: u64| {
            if highest >= n {
                (highest - n + 1) as f64
            } else {
                0.0
            }
        };
        if !self.started {
            if frames_held(next) * self.frame_ms < self.target_ms {
                return Playout::Waiting;
            }
            self.started = true;
        }
        // Too deep (the sender's clock runs fast, or jitter fell): drop one frame.
        if frames_held(next) * self.frame_ms > self.target_ms + 3.0 * self.frame_ms
            && self.packets.contains_key(&next)
        {
            self.packets.remove(&next);
            next += 1;
            self.stats.dropped += 1;
        }
        // Ran dry, or this frame is missing while the buffer is under its target (a late packet,
        // more jitter, or the sender's clock runs slow): conceal and stay put, so the late
        // packet can still play and the depth grows back.
        let missing = !self.packets.contains_key(&next);
        if highest < next || (missing && frames_held(next) * self.frame_ms < self.target_ms) {
            self.next = Some(next);
            self.stats.stretched += 1;
            return Playout::Conceal;
        }
        self.next = Some(next + 1);
        if let Some(p) = self.packets.remove(&next) {
            self.stats.played += 1;
            return Playout::Packet(p);
        }
        if let Some(p) = self.packets.get(&(next + 1)) {
            self.stats.fec += 1;
            return Playout::Fec(p.clone());
        }
        self.stats.concealed += 1;
        Playout::Conceal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(n: u16) -> Bytes {
        Bytes::from(n.to_be_bytes().to_vec())
    }

    fn id(p: &Playout) -> Option<u16> {
        match p {
            Playout::Packet(b) | Playout::Fec(b) => Some(u16::from_be_bytes([b[0], b[1]])),
            _ => None,
        }
    }

    /// Feeds packets `seqs` one per 20 ms with the given extra delays and pops once per 20 ms.
    fn run(jb: &mut JitterBuffer, seqs: &[u16], delay_ms: impl Fn(usize) -> u64) -> Vec<Playout> {
        let t0 = Instant::now();
        let mut arrivals: Vec<(Instant, u16, f64)> = seqs
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                (
                    t0 + Duration::from_millis(i as u64 * 20 + delay_ms(i)),
                    s,
                    i as f64 * 20.0,
                )
            })
            .collect();
        arrivals.sort_by_key(|a| a.0);
        let mut out = Vec::new();
        let mut k = 0;
        for tick in 0..seqs.len() + 40 {
            let now = t0 + Duration::from_millis(tick as u64 * 20);
            while k < arrivals.len() && arrivals[k].0 <= now {
                jb.push(
                    arrivals[k].1,
                    arrivals[k].2,
                    pkt(arrivals[k].1),
                    arrivals[k].0,
                );
                k += 1;
            }
            out.push(jb.pop());
        }
        out
    }

    #[test]
    fn plays_reordered_packets_in_order() {
        let mut jb = JitterBuffer::default();
        let seqs: Vec<u16> = (0..50).collect();
        let out = run(&mut jb, &seqs, |i| if i % 7 == 3 { 30 } else { 0 });
        // The first late packet teaches the buffer the jitter; every later one is on time.
        let played: Vec<u16> = out.iter().filter_map(id).filter(|&s| s > 4).collect();
        assert_eq!(played, (5..50).collect::<Vec<_>>());
        assert!(jb.stats.late <= 1 && jb.stats.fec <= 1, "{:?}", jb.stats);
    }

    #[test]
    fn a_single_loss_uses_the_next_packets_fec_and_a_burst_is_concealed() {
        let mut jb = JitterBuffer::default();
        let seqs: Vec<u16> = (0..60)
            .filter(|s| *s != 10 && !(30..33).contains(s))
            .collect();
        let out = run(&mut jb, &seqs, |_| 0);
        assert!(
            out.contains(&Playout::Fec(pkt(11))),
            "frame 10 rebuilt from 11's FEC"
        );
        assert_eq!(jb.stats.fec, 2, "10, and 32 from 33");
        assert_eq!(jb.stats.concealed, 2, "30 and 31 concealed");
        let played: Vec<u16> = out.iter().filter_map(id).collect();
        assert_eq!(
            played.iter().filter(|&&s| s == 11).count(),
            2,
            "11 is used for FEC and then played"
        );
    }

    #[test]
    fn the_delay_follows_jitter_up_and_down() {
        let mut calm = JitterBuffer::default();
        let seqs: Vec<u16> = (0..200).collect();
        run(&mut calm, &seqs, |_| 0);
        assert_eq!(
            calm.target(),
            Duration::from_millis(40),
            "no jitter: the floor"
        );
        let mut rough = JitterBuffer::default();
        let out = run(&mut rough, &seqs, |i| (i as u64 * 37) % 100);
        assert!(
            rough.target() >= Duration::from_millis(80),
            "up to 100 ms of jitter, target {:?}",
            rough.target()
        );
        assert!(
            rough.stats.late + rough.stats.fec + rough.stats.concealed <= 12,
            "late packets stay rare once adapted: {:?}",
            rough.stats
        );
        assert!(out.iter().filter_map(id).count() >= 190);
    }

    #[test]
    fn clock_drift_neither_grows_the_delay_nor_starves_it() {
        // The sender's clock runs 1% fast: 101 packets per 100 playout frames.
        let mut fast = JitterBuffer::default();
        let t0 = Instant::now();
        let mut max_depth = Duration::ZERO;
        for tick in 0..3000u64 {
            let now = t0 + Duration::from_millis(tick * 20);
            let due = tick * 101 / 100;
            let before = (tick.saturating_sub(1)) * 101 / 100;
            for s in if tick == 0 { 0..=0 } else { before + 1..=due } {
                fast.push(
                    s as u16,
                    s as f64 * 20.0 * 100.0 / 101.0,
                    pkt(s as u16),
                    now,
                );
            }
            fast.pop();
            max_depth = max_depth.max(fast.depth());
        }
        assert!(
            max_depth <= Duration::from_millis(160),
            "depth stayed bounded: {max_depth:?}"
        );
        assert!(
            fast.stats.dropped >= 25,
            "about one frame in a hundred dropped: {:?}",
            fast.stats
        );
        // And 1% slow: the buffer runs dry now and then and is refilled by concealment.
        let mut slow = JitterBuffer::default();
        for tick in 0..3000u64 {
            let now = t0 + Duration::from_millis(tick * 20);
            if tick % 100 != 99 {
                let s = tick - tick / 100;
                slow.push(s as u16, s as f64 * 20.0 * 100.0 / 99.0, pkt(s as u16), now);
            }
            slow.pop();
        }
        assert!(
            slow.stats.stretched >= 25 && slow.stats.late == 0,
            "{:?}",
            slow.stats
        );
    }

    #[test]
    fn sequence_numbers_wrap_and_a_restart_starts_over() {
        let mut jb = JitterBuffer::default();
        let seqs: Vec<u16> = (0..40u16).map(|i| 65_520u16.wrapping_add(i)).collect();
        let played: Vec<u16> = run(&mut jb, &seqs, |_| 0).iter().filter_map(id).collect();
        assert_eq!(played, seqs);
        let t = Instant::now();
        jb.push(30_000, 10_000.0, pkt(30_000), t);
        jb.push(30_001, 10_020.0, pkt(30_001), t + Duration::from_millis(20));
        jb.push(30_002, 10_040.0, pkt(30_002), t + Duration::from_millis(40));
        assert_eq!(
            jb.pop(),
            Playout::Packet(pkt(30_000)),
            "a new stream plays from its first packet"
        );
    }
}
