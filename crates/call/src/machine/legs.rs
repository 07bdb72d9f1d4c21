//! Media legs: one peer connection per other member, started off the driver's loop, made
//! ready, connected, recovered (ICE restart) or set up again, and given up on its deadlines.

use super::call::{Call, Leg};
use super::{
    Action, CallEvent, CallMachine, CallState, Outcome, Timeouts, MAX_EARLY_SIGNALS, MAX_REBUILDS,
};
use crate::roster::Membership;
use nx::signal::{EndReason, Signal};
use nx::{CallType, NxId};
use std::time::Instant;

impl CallMachine {
    /// Opens the leg to `peer` (what it sent early goes with it) and asks for its media.
    pub(super) fn open_leg(
        c: &mut Call,
        peer: NxId,
        offerer: bool,
        now: Instant,
        timeouts: &Timeouts,
    ) -> Action {
        let mut leg = Leg::new(peer.clone(), offerer);
        leg.connect_deadline = Some(now + timeouts.connect);
        if offerer {
            leg.attempt_deadline = Some(now + timeouts.attempt);
        }
        let (theirs, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut c.early)
            .into_iter()
            .partition(|(from, _)| *from == peer);
        c.early = rest;
        leg.early = theirs.into_iter().map(|(_, s)| s).collect();
        let start = Self::starting_media(c, &mut leg);
        c.legs.push(leg);
        start
    }

    /// Marks a leg's media as starting: its media signals wait until it is ready.
    fn starting_media(c: &Call, leg: &mut Leg) -> Action {
        leg.media_ready = false;
        Action::StartMedia {
            role: leg.role(),
            room: c.room.clone(),
            peer: leg.peer.clone(),
            audio: c.audio,
            video: c.video,
        }
    }

    /// Opens a leg to each joined member whose pair is settled by join order (neither invited
    /// the other) and who has none yet.
    pub(super) fn open_member_legs(&mut self, now: Instant, out: &mut Vec<Action>) {
        let timeouts = self.timeouts;
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.accepted && c.conference.is_none())
        else {
            return;
        };
        let inviter = (c.role == super::Role::Callee).then(|| c.peer.clone());
        let due: Vec<(NxId, bool)> = c
            .roster
            .joined_others()
            .filter(|id| c.leg(id).is_none())
            .filter(|id| Some(*id) != inviter.as_ref() && !c.roster.invited_by_me(id))
            .filter_map(|id| Some((id.clone(), c.roster.i_offer_to(id)?)))
            .collect();
        for (id, offer) in due {
            out.push(Self::open_leg(c, id, offer, now, &timeouts));
        }
    }

    /// A leg's media is ready: its offerer offers, and what came early is applied in order.
    pub(super) fn media_ready(&mut self, room: &str, peer: &NxId, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut().filter(|c| c.room == room) else {
            return;
        };
        let room = c.room.clone();
        let Some(leg) = c.leg_mut(peer).filter(|l| !l.media_ready) else {
            return;
        };
        leg.media_ready = true;
        if leg.offerer {
            out.push(Action::Offer {
                room,
                peer: peer.clone(),
            });
        }
        out.extend(
            std::mem::take(&mut leg.early)
                .into_iter()
                .map(|signal| Action::ApplyRemote {
                    peer: peer.clone(),
                    signal,
                }),
        );
    }

    /// The peer set its side of the leg up again: new media, which then answers its offer.
    pub(super) fn peer_restarted(&mut self, peer: &NxId, offer: Signal, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        let Some(mut leg) = c.leg(peer).cloned() else {
            return;
        };
        tracing::info!(room = %c.room, %peer, "the peer set the leg up again; new media to match");
        leg.early = vec![offer];
        out.push(Self::starting_media(c, &mut leg));
        if let Some(l) = c.leg_mut(peer) {
            *l = leg;
        }
    }

    /// An offer, answer or candidate from a member: to its leg, or kept until there is one.
    pub(super) fn media_signal(
        &mut self,
        from: NxId,
        s: Signal,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let timeouts = self.timeouts;
        let Some(c) = self.call.as_mut() else { return };
        if c.conference.is_some() {
            tracing::debug!(%from, kind = s.kind(), "no peer-to-peer media on a conference call");
            return;
        }
        if let Some(leg) = c.leg_mut(&from) {
            if leg.media_ready {
                out.push(Action::ApplyRemote {
                    peer: from,
                    signal: s,
                });
            } else if matches!(s, Signal::Answer { .. }) {
                // New media is starting, so this answers an offer of the media it replaces.
                tracing::debug!(%from, "dropping an answer for replaced media");
            } else if leg.early.len() < MAX_EARLY_SIGNALS {
                leg.early.push(s);
            }
            return;
        }
        let present = c.roster.state(&from).is_some_and(Membership::is_present);
        if c.accepted && present && matches!(s, Signal::Offer { .. }) {
            // A member offers before this side heard when it joined: it is the later joiner.
            c.roster.joined(&from, None);
            c.early.push((from.clone(), s));
            out.push(Self::open_leg(c, from, false, now, &timeouts));
        } else if c.early.len() < MAX_EARLY_SIGNALS {
            c.early.push((from, s));
        }
    }

    /// Turns an audio call into a video call from this side, on every leg; the others'
    /// cameras stay as they are.
    pub(super) fn start_video(&mut self, out: &mut Vec<Action>) {
        if self.state != CallState::Connected {
            return;
        }
        let Some(c) = self.call.as_mut().filter(|c| !c.video) else {
            return;
        };
        if c.conference.is_some() {
            // Published to the room; Janus announces the new stream to the members.
            c.video = true;
            c.call_type = CallType::Video;
            out.push(Action::PublishVideo {
                room: c.room.clone(),
            });
            out.push(Action::Emit(CallEvent::LocalMediaAvailable {
                audio: c.audio,
                video: true,
            }));
            return;
        }
        let ready: Vec<NxId> = c
            .legs
            .iter()
            .filter(|l| l.media_ready)
            .map(|l| l.peer.clone())
            .collect();
        if ready.is_empty() {
            return;
        }
        c.video = true;
        c.call_type = CallType::Video;
        for peer in ready {
            out.push(Action::AddVideo {
                room: c.room.clone(),
                peer,
            });
        }
        out.push(Action::Emit(CallEvent::LocalMediaAvailable {
            audio: c.audio,
            video: true,
        }));
    }

    pub(super) fn media_connected(&mut self, peer: &NxId, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        let Some(leg) = c.leg_mut(peer) else { return };
        leg.connect_deadline = None;
        leg.attempt_deadline = None;
        leg.recover_deadline = None;
        leg.connected_at.get_or_insert(now);
        if c.connected_at.is_none() {
            c.connected_at = Some(now);
            let room = c.room.clone();
            self.set_state(CallState::Connected, out);
            out.push(Action::Emit(CallEvent::MediaConnected { room }));
        }
    }

    /// A leg's path failed: one that never connected is set up again (by its offerer); one
    /// that did recovers through an ICE restart within the recovery deadline.
    pub(super) fn media_failed(
        &mut self,
        peer: &NxId,
        reason: &str,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let timeouts = self.timeouts;
        let Some(c) = self.call.as_mut() else { return };
        let room = c.room.clone();
        let Some(leg) = c.leg_mut(peer) else { return };
        if leg.connected_at.is_none() && leg.rebuilds < MAX_REBUILDS {
            tracing::info!(%room, %peer, %reason, "media never connected");
            if let Some(a) = Self::rebuild(c, peer, now, &timeouts) {
                out.push(a);
            }
            return;
        }
        if leg.recover_deadline.is_none() {
            leg.recover_deadline = Some(now + timeouts.recover);
        }
        if leg.offerer && !leg.restarted {
            leg.restarted = true;
            out.push(Action::RestartIce { peer: peer.clone() });
        }
        tracing::info!(%room, %peer, %reason, "media path failed; recovering");
        out.push(Action::Emit(CallEvent::Reconnecting { room }));
    }

    /// A leg went quiet. With other members in the call, its recovery deadline starts now, so
    /// a member whose app died leaves within that bound while the rest carry on; a 1:1 call
    /// waits for ICE to say it failed, as before.
    pub(super) fn media_disconnected(&mut self, peer: &NxId, now: Instant, out: &mut Vec<Action>) {
        let recover = self.timeouts.recover;
        let Some(c) = self.call.as_mut() else { return };
        let others = c
            .roster
            .members()
            .any(|(id, m)| id != peer && m.is_present());
        let room = c.room.clone();
        let Some(leg) = c.leg_mut(peer).filter(|l| l.connected_at.is_some()) else {
            return;
        };
        if others && leg.recover_deadline.is_none() {
            leg.recover_deadline = Some(now + recover);
        }
        out.push(Action::Emit(CallEvent::Reconnecting { room }));
    }

    /// Never connected (ICE or DTLS gave up during set-up): the offerer sets the leg up again,
    /// quietly, within the connect deadline; the other side waits for that new offer (a new
    /// DTLS identity) and rebuilds then.
    fn rebuild(c: &mut Call, peer: &NxId, now: Instant, timeouts: &Timeouts) -> Option<Action> {
        let mut leg = c
            .leg(peer)
            .filter(|l| l.offerer && l.connected_at.is_none() && l.rebuilds < MAX_REBUILDS)?
            .clone();
        leg.rebuilds += 1;
        leg.attempt_deadline = Some(now + timeouts.attempt);
        tracing::info!(room = %c.room, %peer, attempt = leg.rebuilds + 1, "setting the media up again");
        let start = Self::starting_media(c, &mut leg);
        if let Some(l) = c.leg_mut(peer) {
            *l = leg;
        }
        Some(start)
    }

    /// Each leg's set-up attempt, connect and recovery deadlines.
    pub(super) fn leg_deadlines(&mut self, now: Instant, out: &mut Vec<Action>) {
        let timeouts = self.timeouts;
        let peers: Vec<NxId> = self
            .call
            .as_ref()
            .map(|c| c.legs.iter().map(|l| l.peer.clone()).collect())
            .unwrap_or_default();
        for peer in peers {
            let Some(c) = self.call.as_mut() else { return };
            let Some(leg) = c.leg_mut(&peer) else {
                continue;
            };
            let connect_over = leg.connect_deadline.is_some_and(|d| now >= d);
            if leg.attempt_deadline.is_some_and(|d| now >= d) && !connect_over {
                if let Some(a) = Self::rebuild(c, &peer, now, &timeouts) {
                    out.push(a);
                    continue;
                }
                // The last attempt is over: no need to wait out the connect deadline.
                if let Some(leg) = c.leg_mut(&peer) {
                    leg.attempt_deadline = None;
                    leg.connect_deadline = Some(now);
                }
            }
            let Some(leg) = c.leg(&peer) else { continue };
            if leg.connect_deadline.is_some_and(|d| now >= d)
                || leg.recover_deadline.is_some_and(|d| now >= d)
            {
                self.leg_failed(&peer, now, out);
            }
        }
    }

    /// A leg is given up: the member is told and leaves this side's call; with nobody else
    /// left, the call fails.
    fn leg_failed(&mut self, peer: &NxId, now: Instant, out: &mut Vec<Action>) {
        let end = Action::Send {
            to: peer.clone(),
            signal: Signal::CallEnd {
                room_id: self.room().unwrap_or_default().to_string(),
                timestamp: self.wall.ms(now),
                reason: Some(EndReason::Failed),
            },
        };
        let Some(c) = self.call.as_mut() else { return };
        let others = c
            .roster
            .members()
            .any(|(id, m)| id != peer && m.is_present());
        if !others {
            out.push(Action::Emit(CallEvent::Error {
                message: "could not establish media with the other side".into(),
            }));
            out.push(end);
            self.finish(
                Outcome::Failed,
                "media connection failed",
                "timeout",
                now,
                out,
            );
            return;
        }
        tracing::info!(room = %c.room, %peer, "giving up on one member's media");
        out.push(Action::Emit(CallEvent::Error {
            message: format!("lost the connection to {peer}"),
        }));
        out.push(end);
        c.roster.left(peer);
        Self::close_leg(c, peer, out);
        Self::participant(c, peer, Membership::Left, out);
    }

    /// Closes the leg to `peer`, if there is one, and forgets what it sent early (on the
    /// conference server: stops receiving its feed).
    pub(super) fn close_leg(c: &mut Call, peer: &NxId, out: &mut Vec<Action>) {
        Self::stop_receiving(c, peer, out);
        if let Some(i) = c.legs.iter().position(|l| l.peer == *peer) {
            c.legs.remove(i);
            out.push(Action::StopMedia { peer: peer.clone() });
        }
        c.early.retain(|(from, _)| from != peer);
    }
}
