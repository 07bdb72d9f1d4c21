//! An interceptor that passes every packet through and lets one job look at each inbound
//! packet on the way (inbound RTCP goes no further than the chain: WEBRTC.md, known problem 2).

use rtc::interceptor::{Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::VecDeque;
use std::time::Instant;

/// What an [`InboundTap`] does with each inbound packet before passing it on.
pub trait Inspect: Send + Sync {
    fn inspect(&mut self, msg: &mut TaggedPacket);
}

/// Passes everything through, inbound packets after its [`Inspect`] saw them.
#[derive(Default)]
pub struct InboundTap<I> {
    job: I,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl<I: Inspect> InboundTap<I> {
    pub fn new(job: I) -> Self {
        Self {
            job,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
        }
    }
}

impl<I: Inspect> Protocol<TaggedPacket, TaggedPacket, ()> for InboundTap<I> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        self.job.inspect(&mut msg);
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl<I: Inspect> Interceptor for InboundTap<I> {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
