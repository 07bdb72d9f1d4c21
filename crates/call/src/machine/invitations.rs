//! Who is asked into a call and how they answer: dialling (one person or several), the
//! registration, incoming invitations and the user's filter, accepting and refusing, and the
//! group extension's membership messages (docs/protocol.md §4, §4.2).

use super::call::Call;
use super::conference::Conference;
use super::{Action, CallEvent, CallMachine, CallState, Outcome, Role, STALE_INVITATION};
use crate::call_filter::Filtered;
use crate::roster::{Membership, Roster, RosterChange, MAX_MEMBERS};
use nx::signal::Signal;
use nx::{CallType, NxId};
use std::time::Instant;

impl CallMachine {
    fn error(out: &mut Vec<Action>, message: impl Into<String>) {
        out.push(Action::Emit(CallEvent::Error {
            message: message.into(),
        }));
    }

    /// A participant event, for group calls only (a 1:1 call says it all with its state).
    pub(super) fn participant(c: &Call, id: &NxId, membership: Membership, out: &mut Vec<Action>) {
        if c.group {
            out.push(Action::Emit(CallEvent::Participant {
                room: c.room.clone(),
                nx_id: id.to_string(),
                membership,
            }));
        }
    }

    pub(super) fn dial(
        &mut self,
        to: Vec<NxId>,
        room: String,
        audio: bool,
        video: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.call.is_some() {
            return Self::error(out, "already in a call");
        }
        if to.contains(&self.me) {
            return Self::error(out, "you cannot call yourself");
        }
        let mut roster = Roster::new(self.me.clone(), self.timeouts.ring);
        roster.join_myself(self.wall.ms(now));
        for id in &to {
            match roster.invite(id.clone()) {
                Ok(()) | Err(crate::RosterError::AlreadyIn(_)) => {}
                Err(e) => return Self::error(out, e.to_string()),
            }
        }
        let Some(first) = to.first().cloned() else {
            return Self::error(out, "nobody to call");
        };
        let call_type = if video {
            CallType::Video
        } else {
            CallType::Audio
        };
        let invitees: Vec<NxId> = roster.members().map(|(id, _)| id.clone()).collect();
        let group = invitees.len() > 1;
        let mut call = Call::ringing(
            room.clone(),
            first.clone(),
            first.local().to_string(),
            call_type,
            Role::Caller,
            roster,
            now + self.timeouts.ring,
        );
        call.audio = audio;
        call.video = video;
        call.group = group;
        self.call = Some(call);
        self.set_state(CallState::Calling, out);
        out.push(if group {
            Action::RegisterGroupCall {
                participants: invitees,
                room,
                call_type,
                conference: false,
            }
        } else {
            Action::RegisterCall {
                to: first,
                room,
                call_type,
            }
        });
    }

    /// Everyone in the call as the group extension lists them: this side first.
    fn participant_list(&self, c: &Call) -> Vec<String> {
        std::iter::once(self.me.to_string())
            .chain(
                c.roster
                    .members()
                    .filter(|(_, m)| m.is_present())
                    .map(|(id, _)| id.to_string()),
            )
            .collect()
    }

    fn invitation_to(&self, c: &Call, now: Instant) -> Signal {
        Signal::CallInvitation {
            room_id: c.room.clone(),
            call_type: c.call_type,
            from_nx_id: self.me.to_string(),
            from_name: self.my_name.clone(),
            timestamp: self.wall.ms(now),
            participants: if c.group {
                self.participant_list(c)
            } else {
                Vec::new()
            },
            sfu: c.conference.is_some(),
            knock: false,
        }
    }

    /// People this side asked for and has not rung yet.
    fn not_rung(c: &Call) -> Vec<NxId> {
        c.roster
            .members()
            .filter(|(id, m)| *m == Membership::Invited && c.roster.invited_by_me(id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The call, or the people invited into it, are registered: the invitations go out, each
    /// invitee's ring starts, and in a call under way the members hear who is coming.
    pub(super) fn registered(&mut self, room: &str, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_ref().filter(|c| c.room == room) else {
            return;
        };
        let invitees = Self::not_rung(c);
        if invitees.is_empty() {
            return;
        }
        let invitation = self.invitation_to(c, now);
        let Some(c) = self.call.as_mut() else { return };
        c.invited = true;
        Self::knocks_invited(c, &invitees);
        for id in &invitees {
            c.roster.rung(id, now);
            out.push(Action::Send {
                to: id.clone(),
                signal: invitation.clone(),
            });
        }
        // On the conference server the caller publishes at once, ready for whoever answers.
        Self::join_conference(c, out);
        if c.accepted {
            // A call that moves onto the conference server tells those still ringing too, so
            // that they join the room when they answer.
            let sfu = c.conference.is_some();
            let told: Vec<NxId> = c
                .roster
                .members()
                .filter(|(id, m)| {
                    *m == Membership::Joined
                        || (sfu && *m == Membership::Ringing && !invitees.contains(id))
                })
                .map(|(id, _)| id.clone())
                .collect();
            for member in told {
                out.push(Action::Send {
                    to: member,
                    signal: Signal::GroupInvited {
                        room_id: c.room.clone(),
                        participants: invitees.iter().map(ToString::to_string).collect(),
                        sfu,
                    },
                });
            }
            for id in &invitees {
                Self::participant(c, id, Membership::Ringing, out);
            }
        }
    }

    /// The registration failed: a dial fails; people invited into a call under way are
    /// dropped, and the call goes on.
    pub(super) fn registration_failed(
        &mut self,
        message: &str,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.role == Role::Caller || c.accepted)
        else {
            return;
        };
        out.push(Action::Emit(CallEvent::Error {
            message: message.to_string(),
        }));
        if !c.accepted {
            self.finish(Outcome::Failed, message, "local", now, out);
            return;
        }
        let refused = Self::not_rung(c);
        for id in &refused {
            c.roster.refused(id, false);
            Self::participant(c, id, Membership::Declined, out);
        }
        self.knocks_refused(&refused, now, out);
    }

    /// Invites one more person into the call under way; every member must speak the group
    /// extension, or the call stays as it is and the user is told why.
    pub(super) fn invite(&mut self, to: NxId, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_ref().filter(|c| c.accepted) else {
            return Self::error(out, "you can add people once the call is answered");
        };
        if let Some(old) = c.roster.joined_others().find(|id| !c.roster.announced(id)) {
            return Self::error(
                out,
                format!(
                    "{old}'s app cannot hold group calls, so the call stays between the two of you"
                ),
            );
        }
        let Some(c) = self.call.as_mut() else { return };
        if let Err(e) = c.roster.invite(to.clone()) {
            return Self::error(out, e.to_string());
        }
        c.announced_to.retain(|a| *a != to);
        c.group = true;
        out.push(Action::RegisterMembers {
            room: c.room.clone(),
            participants: vec![to.clone()],
        });
        Self::participant(c, &to, Membership::Invited, out);
    }

    /// An invitation: rings unless it is stale, filtered, or we are busy.
    pub(super) fn invitation(
        &mut self,
        from: NxId,
        signal: Signal,
        delayed: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Signal::CallInvitation {
            room_id,
            call_type,
            from_nx_id,
            from_name,
            timestamp,
            participants,
            sfu,
            knock,
        } = signal
        else {
            return;
        };
        let age_ms = self.wall.ms(now).saturating_sub(timestamp);
        let stale = (delayed || timestamp > 0) && age_ms > STALE_INVITATION.as_millis() as i64;
        // A room that is over rings again only when a member of the group call still under way
        // there invites us back: a group invitation newer than the one we had. A copy of the
        // first (the server's stored one, a replay) carries its timestamp and is dropped.
        let group = !participants.is_empty() || sfu;
        let over = self
            .recent_rooms
            .iter()
            .any(|(r, seen)| *r == room_id && !(group && timestamp > *seen));
        if stale || over {
            self.dropped_stale += 1;
            tracing::debug!(room = %room_id, age_ms, "dropping stale invitation");
            return;
        }
        if self.call.as_ref().is_some_and(|c| c.room == room_id) {
            return;
        }
        let caller = NxId::parse_jid(&from_nx_id)
            .ok()
            .filter(|id| *id == from)
            .unwrap_or_else(|| from.clone());
        let name = if from_name.trim().is_empty() {
            caller.local().to_string()
        } else {
            from_name
        };
        let call_type = if call_type.has_video() {
            CallType::Video
        } else {
            CallType::Audio
        };
        if let Some(filtered) = self.filter.verdict(&caller) {
            let event = CallEvent::IncomingFiltered {
                room: room_id.clone(),
                caller: caller.to_string(),
                caller_name: name,
                call_type,
                filtered,
            };
            self.remember(&room_id, timestamp);
            self.filtered(&room_id, from, filtered, event, now, out);
            return;
        }
        if self.call.is_some() && !group && self.knock(&caller, &room_id, &name, out) {
            return;
        }
        if self.call.is_some() {
            let refusal = Action::Send {
                to: from.clone(),
                signal: Signal::CallResponse {
                    room_id: room_id.clone(),
                    accepted: false,
                    timestamp: self.wall.ms(now),
                },
            };
            let busy = Action::Send {
                to: from,
                signal: Signal::CallEnd {
                    room_id,
                    timestamp: self.wall.ms(now),
                    reason: Some(nx::signal::EndReason::Busy),
                },
            };
            // The server closes a guest's pass at the first of the two, so a guest hears the
            // reason first: its page then says "in another call", not "declined".
            if caller.is_guest() {
                out.extend([busy, refusal]);
            } else {
                out.extend([refusal, busy]);
            }
            return;
        }
        let others: Vec<NxId> = participants
            .iter()
            .filter_map(|p| NxId::parse_jid(p).ok())
            .filter(|id| *id != self.me && *id != caller)
            .take(MAX_MEMBERS)
            .collect();
        let mut roster = Roster::new(self.me.clone(), self.timeouts.ring);
        roster.learn(caller.clone(), now);
        roster.joined(&caller, None);
        for id in &others {
            roster.learn(id.clone(), now);
        }
        let mut call = Call::ringing(
            room_id.clone(),
            caller.clone(),
            name.clone(),
            call_type,
            Role::Callee,
            roster,
            now + self.timeouts.ring,
        );
        call.group = !others.is_empty() || sfu;
        call.invitation_ms = timestamp;
        if sfu {
            call.conference = Some(Conference::default());
        }
        self.call = Some(call);
        self.set_state(CallState::Incoming, out);
        out.push(Action::Emit(CallEvent::IncomingCall {
            room: room_id,
            caller_name: name,
            caller: caller.to_string(),
            call_type,
            others: others.iter().map(ToString::to_string).collect(),
            knock: knock && caller.is_guest(),
        }));
    }

    /// An invitation the user's filter keeps from ringing: a blocked caller is declined at once;
    /// with do not disturb it goes unanswered and rings out on the caller's side as missed.
    fn filtered(
        &mut self,
        room: &str,
        from: NxId,
        filtered: Filtered,
        event: CallEvent,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        tracing::info!(room, ?filtered, "incoming call filtered");
        if filtered == Filtered::Blocked {
            out.push(Action::Send {
                to: from,
                signal: Signal::CallResponse {
                    room_id: room.to_string(),
                    accepted: false,
                    timestamp: self.wall.ms(now),
                },
            });
            out.push(Action::DeclineOverRest {
                room: room.to_string(),
            });
        }
        out.push(Action::Emit(event));
    }

    pub(super) fn accept(&mut self, audio: bool, video: bool, now: Instant, out: &mut Vec<Action>) {
        let my_ms = self.wall.ms(now);
        let timeouts = self.timeouts;
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.role == Role::Callee && !c.accepted)
        else {
            return Self::error(out, "no incoming call to accept");
        };
        c.accepted = true;
        c.audio = audio;
        c.video = video && c.call_type.has_video();
        c.ring_deadline = None;
        c.roster.join_myself(my_ms);
        let inviter = c.peer.clone();
        out.push(Action::Send {
            to: inviter.clone(),
            signal: Signal::CallResponse {
                room_id: c.room.clone(),
                accepted: true,
                timestamp: my_ms,
            },
        });
        if c.conference.is_some() {
            Self::join_conference(c, out);
        } else {
            out.push(Self::open_leg(c, inviter, false, now, &timeouts));
        }
        let present: Vec<NxId> = c
            .roster
            .members()
            .filter(|(_, m)| m.is_present())
            .map(|(id, _)| id.clone())
            .collect();
        for id in present {
            Self::announce_to(c, &id, my_ms, out);
        }
        self.open_member_legs(now, out);
        self.set_state(CallState::Calling, out);
    }

    /// Tells `id` when this side joined, once (the group extension; other clients ignore it).
    fn announce_to(c: &mut Call, id: &NxId, my_ms: i64, out: &mut Vec<Action>) {
        if c.announced_to.contains(id) || c.announced_to.len() >= MAX_MEMBERS {
            return;
        }
        c.announced_to.push(id.clone());
        out.push(Action::Send {
            to: id.clone(),
            signal: Signal::GroupJoined {
                room_id: c.room.clone(),
                joined_at: my_ms,
            },
        });
        if c.group && c.media_state != (true, true) {
            out.push(Self::media_state_to(c, id));
        }
    }

    pub(super) fn reject(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self
            .call
            .as_ref()
            .filter(|c| c.role == Role::Callee && !c.accepted)
        else {
            return;
        };
        out.push(Action::Send {
            to: c.peer.clone(),
            signal: Signal::CallResponse {
                room_id: c.room.clone(),
                accepted: false,
                timestamp: self.wall.ms(now),
            },
        });
        out.push(Action::DeclineOverRest {
            room: c.room.clone(),
        });
        self.finish(Outcome::Declined, "declined", "callee", now, out);
    }

    /// Someone this side invited accepted: this side offers to them, as in a 1:1 call.
    pub(super) fn member_accepted(&mut self, from: &NxId, now: Instant, out: &mut Vec<Action>) {
        let timeouts = self.timeouts;
        let Some(c) = self.call.as_mut().filter(|c| {
            c.roster.invited_by_me(from)
                && matches!(
                    c.roster.state(from),
                    Some(Membership::Invited | Membership::Ringing)
                )
        }) else {
            return;
        };
        c.roster.joined(from, None);
        c.accepted = true;
        c.ring_deadline = None;
        if c.conference.is_some() {
            Self::tell_feed(c, from, out);
        } else {
            out.push(Self::open_leg(c, from.clone(), true, now, &timeouts));
        }
        Self::participant(c, from, Membership::Joined, out);
    }

    /// Someone this side invited said no.
    pub(super) fn member_declined(
        &mut self,
        from: &NxId,
        busy: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.call.as_mut().filter(|c| c.roster.invited_by_me(from)) else {
            return;
        };
        let Some(change) = c.roster.refused(from, busy) else {
            return;
        };
        let membership = match change {
            RosterChange::Busy(_) => Membership::Busy,
            _ => Membership::Declined,
        };
        Self::participant(c, from, membership, out);
        if !c.accepted && !c.anyone_else() {
            let (outcome, why) = if busy {
                (Outcome::Busy, "busy")
            } else {
                (Outcome::Declined, "declined")
            };
            self.finish(outcome, why, "callee", now, out);
        }
    }

    /// A member said when it joined: answer with when this side did, and open the leg to it
    /// when neither invited the other (the later joiner offers).
    pub(super) fn member_announced(
        &mut self,
        from: &NxId,
        joined_at: i64,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.roster.state(from).is_some_and(Membership::is_present))
        else {
            return;
        };
        if c.roster.joined(from, Some(joined_at)).is_some() {
            Self::participant(c, from, Membership::Joined, out);
        }
        if let (true, Some(my_ms)) = (c.accepted, c.roster.my_joined_ms()) {
            Self::announce_to(c, from, my_ms, out);
            Self::tell_feed(c, from, out);
        }
        self.open_member_legs(now, out);
    }

    /// A member invited more people: they may join, and this side learns of them.
    pub(super) fn members_invited(
        &mut self,
        from: &NxId,
        participants: &[String],
        sfu: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.me.clone();
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.roster.state(from) == Some(Membership::Joined))
        else {
            return;
        };
        c.group = true;
        // The call grew over the mesh limit and moves onto the conference server.
        if sfu {
            Self::move_to_conference(c, out);
        }
        for id in participants
            .iter()
            .filter_map(|p| NxId::parse_jid(p).ok())
            .filter(|id| *id != me)
            .take(MAX_MEMBERS)
        {
            if c.roster.learn(id.clone(), now) {
                // Invited back: what this side told them went to an earlier stay.
                c.announced_to.retain(|a| *a != id);
                Self::participant(c, &id, Membership::Ringing, out);
            }
        }
    }

    /// The user's microphone and camera as the members should see them: told to each joined
    /// member of a group call now and to each who joins later.
    pub(super) fn local_media(&mut self, audio: bool, video: bool, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        c.media_state = (audio, video);
        if !c.group || !c.accepted {
            return;
        }
        out.extend(
            c.roster
                .joined_others()
                .map(|id| Self::media_state_to(c, id)),
        );
    }

    /// Tells `id` whether this side's microphone and camera are on.
    fn media_state_to(c: &Call, id: &NxId) -> Action {
        let (audio, video) = c.media_state;
        Action::Send {
            to: id.clone(),
            signal: Signal::MediaState {
                room_id: c.room.clone(),
                audio,
                video,
            },
        }
    }

    /// A member's microphone or camera went on or off.
    pub(super) fn member_media(
        &mut self,
        from: &NxId,
        audio: bool,
        video: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self
            .call
            .as_ref()
            .filter(|c| c.roster.state(from) == Some(Membership::Joined))
        else {
            return;
        };
        out.push(Action::Emit(CallEvent::ParticipantMedia {
            room: c.room.clone(),
            nx_id: from.to_string(),
            audio,
            video,
        }));
    }
}
