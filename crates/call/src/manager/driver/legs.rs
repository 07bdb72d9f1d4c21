//! The live media legs of the call: one `MediaSession` per other member, its metrics created
//! with it and dropped with it, and its events tagged with the member they concern and fed to
//! the machine.

use crate::machine::{CallEvent, Input, Role};
use crate::media_session::{MediaSession, MediaSessionEvent};
use crate::pipeline::RecvCounters;
use crate::stats::StatsCollector;
use media::FrameSink;
use nx::signal::Signal;
use nx::NxId;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// How many session events from all legs wait for the driver.
pub(super) const LEG_EVENTS: usize = 256;

/// What a participant's media shows the app: the picture and receive counters of its leg.
#[derive(Clone)]
pub struct ParticipantMedia {
    pub nx_id: NxId,
    pub video: Arc<FrameSink>,
    pub counters: Arc<RecvCounters>,
}

/// One member's live session and what is measured on it.
pub(super) struct LegMedia {
    pub peer: NxId,
    pub session: MediaSession,
    pub role: Role,
    pub rate: peer::bwe::RateController,
    /// The last send-rate estimate (bps) and which controller made it.
    pub estimate: Option<(u64, &'static str)>,
    pub counters: Arc<RecvCounters>,
    pub video: Arc<FrameSink>,
    pub collector: StatsCollector,
    pub latency_seen: u64,
    /// Forwards the session's events, tagged with `peer`, to the driver; ends with the leg.
    pub forward: tokio::task::JoinHandle<()>,
}

impl LegMedia {
    /// Forwards `rx`'s events as `(peer, event)` until either side closes.
    pub fn spawn_forwarder(
        peer: NxId,
        mut rx: mpsc::Receiver<MediaSessionEvent>,
        to: mpsc::Sender<(NxId, MediaSessionEvent)>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if to.send((peer.clone(), ev)).await.is_err() {
                    break;
                }
            }
        })
    }

    pub fn view(&self) -> ParticipantMedia {
        ParticipantMedia {
            nx_id: self.peer.clone(),
            video: self.video.clone(),
            counters: self.counters.clone(),
        }
    }

    /// Stops forwarding and closes the session.
    pub async fn close(self) {
        self.forward.abort();
        self.session.close().await;
    }
}

impl super::Driver {
    pub(super) fn leg(&self, peer: &NxId) -> Option<&LegMedia> {
        self.legs.iter().find(|l| l.peer == *peer)
    }

    pub(super) fn leg_mut(&mut self, peer: &NxId) -> Option<&mut LegMedia> {
        self.legs.iter_mut().find(|l| l.peer == *peer)
    }

    /// Tells the handle which participants' media there is now.
    pub(super) fn publish_legs(&self) {
        let received = self.conference.iter().flat_map(|c| &c.members);
        let all: Vec<ParticipantMedia> = self
            .legs
            .iter()
            .map(LegMedia::view)
            .chain(received.map(|(_, p)| p.clone()))
            .collect();
        if let Some(first) = all.first() {
            let _ = self.counters.send(first.counters.clone());
        }
        let _ = self.participants.send(all);
        if let Some(o) = &self.outgoing {
            let conference = self.conference.as_ref().map(|c| c.members.len());
            o.control().set_conference(conference.is_some());
            o.control()
                .set_receivers(conference.unwrap_or(self.legs.len()) as u32);
        }
    }

    /// Closes the leg to `peer` in the background and forgets any start under way for it.
    pub(super) fn stop_leg(&mut self, peer: &NxId) {
        self.starting.retain(|(p, _)| p != peer);
        if let Some(i) = self.legs.iter().position(|l| l.peer == *peer) {
            let leg = self.legs.remove(i);
            self.chores.spawn(leg.close());
            self.publish_legs();
        }
    }
}

impl super::Driver {
    /// An event from the leg to `peer`.
    pub(super) async fn leg_event(&mut self, peer: NxId, ev: MediaSessionEvent) {
        let now = Instant::now();
        if self.leg(&peer).is_none() {
            return;
        }
        match ev {
            MediaSessionEvent::LocalCandidate(c) => {
                let Some(room) = self.machine.room().map(str::to_string) else {
                    return;
                };
                let signal = Signal::IceCandidate {
                    room_id: room,
                    candidate: c.candidate,
                    sdp_mid: c.sdp_mid,
                    sdp_mline_index: c.sdp_mline_index,
                };
                self.send_signal(&peer, &signal).await;
            }
            MediaSessionEvent::MediaFlowing => {
                let actions = self.machine.handle(Input::MediaConnected { peer }, now);
                self.execute(actions).await;
            }
            MediaSessionEvent::Failed(reason) => {
                let actions = self
                    .machine
                    .handle(Input::MediaFailed { peer, reason }, now);
                self.execute(actions).await;
            }
            MediaSessionEvent::Disconnected => {
                let actions = self.machine.handle(Input::MediaDisconnected { peer }, now);
                self.execute(actions).await;
            }
            MediaSessionEvent::RemoteTrack(kind) => self.emit(CallEvent::RemoteMediaAvailable {
                kind: kind.to_string(),
            }),
            // A leg counts as connected once media flows (`MediaFlowing`).
            MediaSessionEvent::Connected => {}
        }
    }
}
