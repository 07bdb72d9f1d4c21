//! How calls end: hanging up, members leaving, rings running out, and the one record each
//! call leaves (analytics, the ended event).

use super::{Action, CallEvent, CallMachine, CallState, Outcome, Role};
use crate::roster::{Membership, RosterChange};
use nx::signal::{EndReason, Signal};
use nx::NxId;
use std::time::Instant;

impl CallMachine {
    pub(super) fn call_end_to(
        &self,
        to: &NxId,
        room: &str,
        reason: EndReason,
        now: Instant,
    ) -> Action {
        Action::Send {
            to: to.clone(),
            signal: Signal::CallEnd {
                room_id: room.to_string(),
                timestamp: self.wall.ms(now),
                reason: Some(reason),
            },
        }
    }

    /// Tells everyone this side is in the call with that it is leaving; with nobody joined
    /// yet, withdraws the invitations it sent.
    pub(super) fn end_everyone(&mut self, reason: EndReason, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_ref() else { return };
        let mut to: Vec<NxId> = c.roster.joined_others().cloned().collect();
        if to.is_empty() {
            to = c
                .roster
                .members()
                .filter(|(id, m)| {
                    c.roster.invited_by_me(id)
                        && matches!(m, Membership::Invited | Membership::Ringing)
                })
                .map(|(id, _)| id.clone())
                .collect();
        }
        let room = c.room.clone();
        for id in to {
            out.push(self.call_end_to(&id, &room, reason, now));
        }
    }

    pub(super) fn hangup(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_ref() else { return };
        match (c.role, c.accepted, c.connected_at.is_some()) {
            (Role::Callee, false, _) => self.reject(now, out),
            (Role::Caller, false, _) => {
                self.end_everyone(EndReason::Cancelled, now, out);
                self.finish(
                    Outcome::Cancelled,
                    "cancelled by caller",
                    "caller",
                    now,
                    out,
                );
            }
            (role, true, connected) => {
                self.end_everyone(EndReason::Hangup, now, out);
                let outcome = if connected {
                    Outcome::Ended
                } else {
                    Outcome::Cancelled
                };
                let by = if role == Role::Caller {
                    "caller"
                } else {
                    "callee"
                };
                self.finish(outcome, "hangup", by, now, out);
            }
        }
    }

    /// A member sent `call_end`: a withdrawn invitation (to this side, or from one it
    /// invited), or a member leaving.
    pub(super) fn member_ended(
        &mut self,
        from: &NxId,
        reason: Option<EndReason>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.call.as_mut() else { return };
        if c.role == Role::Callee && !c.accepted {
            if *from == c.peer {
                let (outcome, why) = match reason {
                    Some(EndReason::Timeout) => (Outcome::Missed, "no answer"),
                    _ => (Outcome::Cancelled, "cancelled by caller"),
                };
                self.finish(outcome, why, "remote", now, out);
            }
            return;
        }
        match c.roster.state(from) {
            Some(Membership::Invited | Membership::Ringing) if c.roster.invited_by_me(from) => {
                let busy = reason == Some(EndReason::Busy);
                self.member_declined(from, busy, now, out);
            }
            Some(Membership::Joined) => self.member_left(from, reason, now, out),
            _ => {}
        }
    }

    /// A joined member left: its leg closes; the call ends when nobody else is in it.
    pub(super) fn member_left(
        &mut self,
        from: &NxId,
        reason: Option<EndReason>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.call.as_mut() else { return };
        c.roster.left(from);
        Self::close_leg(c, from, out);
        Self::participant(c, from, Membership::Left, out);
        if c.anyone_else() {
            return;
        }
        let (outcome, why) = match reason {
            Some(EndReason::Failed) => (Outcome::Failed, "peer failed"),
            _ if c.connected_at.is_some() => (Outcome::Ended, "remote hangup"),
            _ => (Outcome::Cancelled, "remote hangup before media"),
        };
        self.finish(outcome, why, "remote", now, out);
    }

    /// The call's own ring ran out: nobody answered (caller), or this side did not (callee).
    pub(super) fn rang_out(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.call.as_ref().is_some_and(|c| c.role == Role::Caller) {
            self.end_everyone(EndReason::Timeout, now, out);
        }
        self.finish(Outcome::Missed, "no answer", "timeout", now, out);
    }

    /// Invitees whose own ring ran out: those this side invited are told.
    pub(super) fn invitees_rang_out(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        let changes = c.roster.on_timeout(now);
        if changes.is_empty() {
            return;
        }
        let room = c.room.clone();
        for change in changes {
            let RosterChange::Missed(id) = change else {
                continue;
            };
            let mine = self
                .call
                .as_ref()
                .is_some_and(|c| c.roster.invited_by_me(&id));
            if mine {
                out.push(self.call_end_to(&id, &room, EndReason::Timeout, now));
            }
            if let Some(c) = self.call.as_ref() {
                Self::participant(c, &id, Membership::Missed, out);
            }
        }
        if self
            .call
            .as_ref()
            .is_some_and(|c| c.accepted && !c.anyone_else())
        {
            let outcome = if self.call.as_ref().is_some_and(|c| c.connected_at.is_some()) {
                Outcome::Ended
            } else {
                Outcome::Missed
            };
            self.finish(outcome, "no answer", "timeout", now, out);
        }
    }

    /// Ends the current call: every leg closed, analytics once, events, back to idle.
    pub(super) fn finish(
        &mut self,
        outcome: Outcome,
        reason: &str,
        ended_by: &str,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.call.take() else { return };
        self.turn_knocks_away(&c, now, out);
        for leg in &c.legs {
            out.push(Action::StopMedia {
                peer: leg.peer.clone(),
            });
        }
        if c.conference.as_ref().is_some_and(|k| k.joining) {
            out.push(Action::LeaveConference);
        }
        let duration = match (outcome, c.connected_at) {
            (Outcome::Ended, Some(t)) => now.saturating_duration_since(t).as_secs(),
            _ => 0,
        };
        if c.role == Role::Callee && !c.accepted {
            out.push(Action::Emit(CallEvent::IncomingWithdrawn {
                room: c.room.clone(),
                outcome,
            }));
        }
        let mut metadata = serde_json::json!({
            "ended_by": ended_by, "role": c.role, "reason": reason, "peer": c.peer.to_string(), "is_group": c.group,
        });
        if c.group {
            metadata["participants"] = c
                .roster
                .members()
                .map(|(id, m)| serde_json::json!({ "nx_id": id.to_string(), "membership": m }))
                .collect();
        }
        out.push(Action::RecordAnalytics {
            room: c.room.clone(),
            call_type: c.call_type,
            status: outcome.analytics_status(),
            duration_seconds: duration,
            metadata,
        });
        out.push(Action::Emit(CallEvent::CallEnded {
            room: c.room.clone(),
            outcome,
            reason: reason.to_string(),
            duration_seconds: duration,
        }));
        self.remember(&c.room, c.invitation_ms);
        self.set_state(CallState::Ended, out);
        self.set_state(CallState::Idle, out);
    }

    /// Keeps a room that is over (and its invitation's timestamp) from ringing again.
    pub(super) fn remember(&mut self, room: &str, invitation_ms: i64) {
        self.recent_rooms.retain(|(r, _)| r != room);
        if self.recent_rooms.len() >= 64 {
            self.recent_rooms.pop_front();
        }
        self.recent_rooms
            .push_back((room.to_string(), invitation_ms));
    }
}
