//! Inbound PLI/FIR must reach the encoder, but the interceptor chain stops inbound RTCP by
//! default (WEBRTC.md, known problem 2). This interceptor marks keyframe requests for the
//! application; the local track's event stream then delivers them. Everything else passes
//! through untouched: the congestion controller's estimate rides on the TWCC feedback packet as
//! an attribute (WEBRTC.md 8), so dropping "uninteresting" RTCP would drop the estimate too.

use crate::tap::{InboundTap, Inspect};
use rtc::interceptor::{Attribute, Packet, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;

/// Passes everything through, marking PLI/FIR for delivery to the application.
pub type KeyframeRequests = InboundTap<MarkKeyframeRequests>;

/// The keyframe interceptor's job: PLI/FIR go on to the application.
#[derive(Default)]
pub struct MarkKeyframeRequests;

fn is_keyframe_request(p: &dyn rtc::rtcp::Packet) -> bool {
    let any = p.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Inspect for MarkKeyframeRequests {
    fn inspect(&mut self, msg: &mut TaggedPacket) {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            return;
        };
        let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
            .iter()
            .filter(|p| is_keyframe_request(p.as_ref()))
            .cloned()
            .collect();
        if !requests.is_empty() {
            // Only the requests go on to the application (they are routed to the track by
            // their media SSRC); attributes such as the bitrate estimate stay on the message.
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::AttributedPacket;
    use rtc::rtcp::receiver_report::ReceiverReport;
    use rtc::sansio::Protocol;
    use rtc::shared::{TransportContext, TransportMessage};
    use std::time::Instant;

    fn inbound(packets: Vec<Box<dyn rtc::rtcp::Packet>>, estimate: bool) -> TaggedPacket {
        let mut message = AttributedPacket::new(Packet::Rtcp(packets));
        if estimate {
            message.add(Attribute::TargetBitrateChanged {
                bits_per_second: 750_000.0,
            });
        }
        TransportMessage {
            now: Instant::now(),
            transport: TransportContext::default(),
            message,
        }
    }

    #[test]
    fn passes_other_rtcp_and_the_bitrate_estimate_through() {
        let mut k = KeyframeRequests::default();
        k.handle_read(inbound(vec![Box::new(ReceiverReport::default())], true))
            .expect("read");
        let out = k.poll_read().expect("not swallowed");
        assert!(out.message.has(&Attribute::TargetBitrateChanged {
            bits_per_second: 0.0
        }));
        assert!(!out.message.has(&Attribute::DeliverToApplication));
    }

    #[test]
    fn hands_keyframe_requests_to_the_application() {
        let mut k = KeyframeRequests::default();
        let pli = PictureLossIndication {
            sender_ssrc: 1,
            media_ssrc: 2,
        };
        k.handle_read(inbound(
            vec![Box::new(ReceiverReport::default()), Box::new(pli)],
            true,
        ))
        .expect("read");
        let out = k.poll_read().expect("delivered");
        assert!(out.message.has(&Attribute::DeliverToApplication));
        assert!(out.message.has(&Attribute::TargetBitrateChanged {
            bits_per_second: 0.0
        }));
        let Packet::Rtcp(p) = &out.message.packet else {
            panic!("not RTCP")
        };
        assert!(p.len() == 1 && is_keyframe_request(p[0].as_ref()));
    }
}
