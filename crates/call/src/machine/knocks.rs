//! Guests knocking through a call link while a call goes on (docs/protocol.md §2.2): instead of
//! "busy", the user hears who asks to join and admits them into the call (they are invited as
//! any newcomer is, §4.2 rule 5) or turns them away.

use super::call::Call;
use super::{Action, CallEvent, CallMachine};
use nx::signal::Signal;
use nx::NxId;
use std::time::Instant;

/// Most guests waiting at once in one call; more are answered "busy".
pub const MAX_KNOCKS: usize = 8;

/// A guest asking to join: its own invitation (`room`), which is never rung as a call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Knock {
    pub guest: NxId,
    /// The room of the guest's invitation, where its refusal goes.
    pub room: String,
    pub name: String,
    /// The user let the guest in; its invitation waits for the server to list it as a member.
    pub admitted: bool,
}

impl CallMachine {
    /// A guest's invitation while a call goes on becomes a knock; false when it cannot (not a
    /// guest, the call is not under way, it is on the conference server, too many knock), and
    /// the invitation is answered busy as any other.
    pub(super) fn knock(
        &mut self,
        from: &NxId,
        room: &str,
        name: &str,
        out: &mut Vec<Action>,
    ) -> bool {
        let Some(c) = self.call.as_mut() else {
            return false;
        };
        if !from.is_guest() || !c.accepted || c.conference.is_some() || c.room == room {
            return false;
        }
        if c.knocks.iter().any(|k| k.guest == *from) {
            return true;
        }
        if c.knocks.len() >= MAX_KNOCKS {
            return false;
        }
        c.knocks.push(Knock {
            guest: from.clone(),
            room: room.to_string(),
            name: name.to_string(),
            admitted: false,
        });
        tracing::info!(guest = %from, "a guest knocks");
        out.push(Action::Emit(CallEvent::Knock {
            room: c.room.clone(),
            guest: from.to_string(),
            name: name.to_string(),
        }));
        true
    }

    /// The user lets `guest` in: it is invited into the call like anyone added to it.
    pub(super) fn admit(&mut self, guest: &NxId, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else {
            return;
        };
        let Some(k) = c
            .knocks
            .iter_mut()
            .find(|k| k.guest == *guest && !k.admitted)
        else {
            return out.push(Action::Emit(CallEvent::Error {
                message: "that guest is no longer asking to join".into(),
            }));
        };
        k.admitted = true;
        self.invite(guest.clone(), out);
        let invited = self
            .call
            .as_ref()
            .is_some_and(|c| c.roster.state(guest).is_some());
        if !invited {
            self.deny(guest, now, out);
        }
    }

    /// The user turns `guest` away: its invitation is declined (the server ends its pass).
    pub(super) fn deny(&mut self, guest: &NxId, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else {
            return;
        };
        let Some(at) = c.knocks.iter().position(|k| k.guest == *guest) else {
            return;
        };
        let k = c.knocks.remove(at);
        out.push(self.refusal(&k, now));
    }

    fn refusal(&self, k: &Knock, now: Instant) -> Action {
        Action::Send {
            to: k.guest.clone(),
            signal: Signal::CallResponse {
                room_id: k.room.clone(),
                accepted: false,
                timestamp: self.wall.ms(now),
            },
        }
    }

    /// Admitted guests the server now lists as members: their invitations are going out.
    pub(super) fn knocks_invited(c: &mut Call, invitees: &[NxId]) {
        c.knocks
            .retain(|k| !(k.admitted && invitees.contains(&k.guest)));
    }

    /// The server would not add admitted guests: they are turned away rather than left waiting.
    pub(super) fn knocks_refused(&mut self, refused: &[NxId], now: Instant, out: &mut Vec<Action>) {
        for guest in refused {
            self.deny(guest, now, out);
        }
    }

    /// A signal from a knocking guest about its own invitation: a `call_end` withdraws the
    /// knock; anything else for that room is dropped. False for every other signal.
    pub(super) fn knock_withdrawn(
        &mut self,
        from: &NxId,
        signal: &Signal,
        out: &mut Vec<Action>,
    ) -> bool {
        let Some(c) = self.call.as_mut() else {
            return false;
        };
        let Some(at) = c
            .knocks
            .iter()
            .position(|k| k.guest == *from && Some(k.room.as_str()) == signal.room_id())
        else {
            return false;
        };
        if let Signal::CallEnd { .. } = signal {
            c.knocks.remove(at);
            out.push(Action::Emit(CallEvent::KnockWithdrawn {
                guest: from.to_string(),
            }));
        }
        true
    }

    /// The call is over: guests still knocking are turned away and their screens go.
    pub(super) fn turn_knocks_away(&self, c: &Call, now: Instant, out: &mut Vec<Action>) {
        for k in &c.knocks {
            out.push(self.refusal(k, now));
            out.push(Action::Emit(CallEvent::KnockWithdrawn {
                guest: k.guest.to_string(),
            }));
        }
    }
}
