//! The receiver's cap on what we send (REMB, draft-alvestrand-rmcat-remb): Janus VideoRoom tells
//! each publisher the room's bitrate this way, and a peer without transport-wide feedback its
//! own estimate. Inbound RTCP stops in the interceptor chain (WEBRTC.md, known problem 2), so
//! this interceptor reads the cap where it passes and lets every packet through unchanged.

use crate::tap::{InboundTap, Inspect};
use rtc::interceptor::{Packet, TaggedPacket};
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The latest cap the peer sent, for the session to read; a cap holds until the next one.
#[derive(Debug, Default)]
pub struct RembCap(AtomicU64);

impl RembCap {
    /// The peer's latest cap in bit/s, if it sent one.
    pub fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            bps => Some(bps),
        }
    }

    fn set(&self, bps: f32) {
        // A zero or nonsense cap is ignored rather than stopping the video (a cap of 0 would
        // read as "none" anyway); at least 1 bit/s keeps a real cap distinct from none.
        if bps.is_finite() && bps >= 1.0 {
            self.0.store(bps as u64, Ordering::Release);
        }
    }
}

/// Passes everything through, noting each REMB's bitrate in its [`RembCap`].
pub type RembReader = InboundTap<ReadRemb>;

/// The REMB interceptor's job: the latest cap goes to the session.
pub struct ReadRemb(pub Arc<RembCap>);

impl Inspect for ReadRemb {
    fn inspect(&mut self, msg: &mut TaggedPacket) {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            return;
        };
        let latest = packets
            .iter()
            .rev()
            .find_map(|p| p.as_any().downcast_ref::<ReceiverEstimatedMaximumBitrate>());
        if let Some(last) = latest {
            self.0.set(last.bitrate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::AttributedPacket;
    use rtc::rtcp::receiver_report::ReceiverReport;
    use rtc::sansio::Protocol;
    use rtc::shared::marshal::Marshal;
    use rtc::shared::{TransportContext, TransportMessage};
    use std::time::Instant;

    fn inbound(packets: Vec<Box<dyn rtc::rtcp::Packet>>) -> TaggedPacket {
        TransportMessage {
            now: Instant::now(),
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(packets)),
        }
    }

    fn remb(bps: f32) -> ReceiverEstimatedMaximumBitrate {
        ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 1,
            bitrate: bps,
            ssrcs: vec![2],
        }
    }

    #[test]
    fn notes_the_latest_cap_and_passes_the_packet_on() {
        let cap = Arc::new(RembCap::default());
        let mut r = RembReader::new(ReadRemb(cap.clone()));
        assert_eq!(cap.get(), None, "no cap before the peer sends one");
        r.handle_read(inbound(vec![
            Box::new(ReceiverReport::default()),
            Box::new(remb(250_000.0)),
        ]))
        .expect("read");
        let out = r.poll_read().expect("not swallowed");
        let Packet::Rtcp(p) = &out.message.packet else {
            panic!("not RTCP")
        };
        assert_eq!(p.len(), 2, "the compound packet goes on whole");
        assert_eq!(cap.get(), Some(250_000));
        r.handle_read(inbound(vec![Box::new(remb(1_000_000.0))]))
            .expect("read");
        assert_eq!(cap.get(), Some(1_000_000), "a newer cap replaces the older");
    }

    #[test]
    fn reads_a_cap_from_the_wire_format_and_ignores_a_zero_one() {
        // As Janus sends it: a PSFB (FMT 15) "REMB" packet, mantissa and exponent.
        let wire = remb(1_000_000.0).marshal().expect("marshal");
        let parsed = rtc::rtcp::packet::unmarshal(&mut wire.clone()).expect("parses");
        let cap = Arc::new(RembCap::default());
        let mut r = RembReader::new(ReadRemb(cap.clone()));
        r.handle_read(inbound(parsed)).expect("read");
        let got = cap.get().expect("a cap");
        assert!(
            (990_000..=1_010_000).contains(&got),
            "18-bit mantissa keeps it within 1%: {got}"
        );
        r.handle_read(inbound(vec![Box::new(remb(0.0))]))
            .expect("read");
        assert_eq!(cap.get(), Some(got), "a zero cap does not stop the video");
    }
}
