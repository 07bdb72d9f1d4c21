//! One call's state: its members and the media legs to them.

use super::conference::Conference;
use super::Role;
use crate::roster::Roster;
use nx::signal::Signal;
use nx::{CallType, NxId};
use std::time::Instant;

/// The media exchanged with one other member: one peer connection.
#[derive(Debug, Clone)]
pub(super) struct Leg {
    pub peer: NxId,
    /// This side offers on this leg (and restarts its ICE).
    pub offerer: bool,
    /// The started media answered `MediaReady`; until then media signals wait in `early`.
    pub media_ready: bool,
    /// Offers and candidates that came before the media was ready.
    pub early: Vec<Signal>,
    pub connected_at: Option<Instant>,
    pub connect_deadline: Option<Instant>,
    /// When the offerer's current set-up attempt is given up for a new one.
    pub attempt_deadline: Option<Instant>,
    pub recover_deadline: Option<Instant>,
    pub restarted: bool,
    /// Times the media was set up again before it ever connected.
    pub rebuilds: u8,
}

impl Leg {
    pub fn new(peer: NxId, offerer: bool) -> Self {
        Self {
            peer,
            offerer,
            media_ready: false,
            early: Vec::new(),
            connected_at: None,
            connect_deadline: None,
            attempt_deadline: None,
            recover_deadline: None,
            restarted: false,
            rebuilds: 0,
        }
    }

    pub fn role(&self) -> Role {
        if self.offerer {
            Role::Caller
        } else {
            Role::Callee
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.connect_deadline,
            self.attempt_deadline,
            self.recover_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// A call from the first ring to its end.
#[derive(Debug, Clone)]
pub(super) struct Call {
    pub room: String,
    /// The other side the UI names: the inviter (callee) or the first invitee (caller).
    pub peer: NxId,
    pub peer_name: String,
    pub call_type: CallType,
    pub role: Role,
    pub audio: bool,
    pub video: bool,
    /// This side is in the call: it accepted (callee), or someone accepted it (caller).
    pub accepted: bool,
    /// The caller's invitations have gone out (after the REST registration).
    pub invited: bool,
    /// Run with the group extension (docs/protocol.md §4.2): more than two members, now or
    /// once someone invites more.
    pub group: bool,
    pub roster: Roster,
    pub legs: Vec<Leg>,
    /// Media signals from members without a leg yet (a callee's before it accepts).
    pub early: Vec<(NxId, Signal)>,
    /// When the first leg's media flowed.
    pub connected_at: Option<Instant>,
    /// The callee's own ringing, or the caller's wait for anyone to answer.
    pub ring_deadline: Option<Instant>,
    /// Members this side has told when it joined.
    pub announced_to: Vec<NxId>,
    /// Whether this side's microphone and camera are on, as the members are told.
    pub media_state: (bool, bool),
    /// The media goes through the conference server instead of legs (protocol.md §4.3).
    pub conference: Option<Conference>,
    /// The sender's timestamp of the invitation that rang this call (0 for our own call), so
    /// that once it is over only a newer invitation to the room rings again.
    pub invitation_ms: i64,
    /// Guests knocking through a call link while this call goes on (`knocks`).
    pub knocks: Vec<super::knocks::Knock>,
}

impl Call {
    /// A call that has just begun to ring, on either side.
    pub fn ringing(
        room: String,
        peer: NxId,
        peer_name: String,
        call_type: CallType,
        role: Role,
        roster: Roster,
        ring_deadline: Instant,
    ) -> Self {
        Self {
            room,
            peer,
            peer_name,
            call_type,
            role,
            audio: true,
            video: call_type.has_video(),
            accepted: false,
            invited: false,
            group: false,
            roster,
            legs: Vec::new(),
            early: Vec::new(),
            connected_at: None,
            ring_deadline: Some(ring_deadline),
            announced_to: Vec::new(),
            media_state: (true, true),
            conference: None,
            invitation_ms: 0,
            knocks: Vec::new(),
        }
    }

    pub fn leg(&self, peer: &NxId) -> Option<&Leg> {
        self.legs.iter().find(|l| l.peer == *peer)
    }

    pub fn leg_mut(&mut self, peer: &NxId) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.peer == *peer)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.legs
            .iter()
            .filter_map(Leg::next_deadline)
            .chain(self.ring_deadline)
            .chain(self.roster.next_deadline())
            .chain(
                self.conference
                    .as_ref()
                    .and_then(|k| k.recovery.next_deadline()),
            )
            .min()
    }

    /// Someone other than this side is in the call or may still join it.
    pub fn anyone_else(&self) -> bool {
        self.roster.is_live()
    }
}
