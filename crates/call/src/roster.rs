//! Who is in a call and how far each member got: the membership half of the multi-party core
//! (docs/protocol.md §4.2). Pure: time is injected, like the call machine's.

use nx::NxId;
use std::time::{Duration, Instant};

/// Most members a call holds (the inviter included): a bound on every per-member structure.
pub const MAX_MEMBERS: usize = 32;

/// One member's standing in the call.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// Asked for, not yet rung (the call's registration is under way).
    Invited,
    /// The invitation went out; the member has until its ring deadline to answer.
    Ringing,
    Joined,
    Declined,
    /// In another call.
    Busy,
    /// Did not answer in time.
    Missed,
    Left,
}

impl Membership {
    /// Still in the call or still able to join it.
    pub fn is_present(self) -> bool {
        matches!(
            self,
            Membership::Invited | Membership::Ringing | Membership::Joined
        )
    }
}

/// A change the rest of the core (and the UI) hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterChange {
    Joined(NxId),
    Left(NxId),
    Declined(NxId),
    Busy(NxId),
    Missed(NxId),
}

/// Why a member cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("a call holds at most {MAX_MEMBERS} people")]
    Full,
    #[error("{0} is already in the call")]
    AlreadyIn(NxId),
    #[error("you cannot invite yourself")]
    Myself,
}

#[derive(Debug, Clone)]
struct Member {
    id: NxId,
    state: Membership,
    /// When the member says it joined (its own wall clock, ms): with the NX ID, this orders
    /// every pair the same way on both sides.
    joined_ms: Option<i64>,
    ring_deadline: Option<Instant>,
    /// This side invited the member (and so tells it when its ring runs out).
    mine: bool,
}

/// The members of one call, this side's view.
#[derive(Debug, Clone)]
pub struct Roster {
    me: NxId,
    my_joined_ms: Option<i64>,
    members: Vec<Member>,
    ring: Duration,
}

impl Roster {
    /// A roster with only this side in it; `ring` is how long each invitee rings.
    pub fn new(me: NxId, ring: Duration) -> Self {
        Self {
            me,
            my_joined_ms: None,
            members: Vec::new(),
            ring,
        }
    }

    /// This side joined at `ms` (its wall clock), which it announces to the others.
    pub fn join_myself(&mut self, ms: i64) {
        self.my_joined_ms = Some(ms);
    }

    pub fn my_joined_ms(&self) -> Option<i64> {
        self.my_joined_ms
    }

    fn find(&mut self, id: &NxId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == *id)
    }

    /// Adds someone to ring; a member who declined, missed or left may be invited again.
    pub fn invite(&mut self, id: NxId) -> Result<(), RosterError> {
        if id == self.me {
            return Err(RosterError::Myself);
        }
        if let Some(m) = self.find(&id) {
            if m.state.is_present() {
                return Err(RosterError::AlreadyIn(id));
            }
            m.state = Membership::Invited;
            m.joined_ms = None;
            m.mine = true;
            return Ok(());
        }
        if self.members.len() + 1 >= MAX_MEMBERS {
            return Err(RosterError::Full);
        }
        self.members.push(Member {
            id,
            state: Membership::Invited,
            joined_ms: None,
            ring_deadline: None,
            mine: true,
        });
        Ok(())
    }

    /// Knows of a member someone else invited (from an invitation's or update's list): it
    /// rings from `now` as far as this side can tell. One who declined, missed or left rings
    /// again (someone invited them back). Returns whether this is news.
    pub fn learn(&mut self, id: NxId, now: Instant) -> bool {
        if id == self.me {
            return false;
        }
        let ring_deadline = Some(now + self.ring);
        if let Some(m) = self.find(&id) {
            if m.state.is_present() {
                return false;
            }
            m.state = Membership::Ringing;
            m.joined_ms = None;
            m.ring_deadline = ring_deadline;
            m.mine = false;
            return true;
        }
        if self.members.len() + 1 >= MAX_MEMBERS {
            return false;
        }
        self.members.push(Member {
            id,
            state: Membership::Ringing,
            joined_ms: None,
            ring_deadline,
            mine: false,
        });
        true
    }

    /// Whether this side invited `id`.
    pub fn invited_by_me(&self, id: &NxId) -> bool {
        self.members.iter().any(|m| m.id == *id && m.mine)
    }

    /// The invitation to `id` went out: its ring deadline starts now.
    pub fn rung(&mut self, id: &NxId, now: Instant) {
        let ring = self.ring;
        if let Some(m) = self.find(id).filter(|m| m.state == Membership::Invited) {
            m.state = Membership::Ringing;
            m.ring_deadline = Some(now + ring);
        }
    }

    /// `id` joined, at `ms` if it announced when (its answer to an invitation does not say).
    /// Only a member this side knows of can join. Returns the change if it is news.
    pub fn joined(&mut self, id: &NxId, ms: Option<i64>) -> Option<RosterChange> {
        let m = self.find(id)?;
        let news = m.state != Membership::Joined;
        m.state = Membership::Joined;
        m.joined_ms = ms.or(m.joined_ms);
        m.ring_deadline = None;
        news.then(|| RosterChange::Joined(id.clone()))
    }

    /// Whether `id` has said when it joined (a member running Simu's group extension has).
    pub fn announced(&self, id: &NxId) -> bool {
        self.members
            .iter()
            .any(|m| m.id == *id && m.joined_ms.is_some())
    }

    /// `id` answered no, or was busy: only an invitee can.
    pub fn refused(&mut self, id: &NxId, busy: bool) -> Option<RosterChange> {
        let m = self
            .find(id)
            .filter(|m| matches!(m.state, Membership::Invited | Membership::Ringing))?;
        m.ring_deadline = None;
        m.state = if busy {
            Membership::Busy
        } else {
            Membership::Declined
        };
        Some(if busy {
            RosterChange::Busy(id.clone())
        } else {
            RosterChange::Declined(id.clone())
        })
    }

    /// `id` left (or its leg ended for good).
    pub fn left(&mut self, id: &NxId) -> Option<RosterChange> {
        let m = self.find(id).filter(|m| m.state.is_present())?;
        let was_joined = m.state == Membership::Joined;
        m.state = if was_joined {
            Membership::Left
        } else {
            Membership::Declined
        };
        m.ring_deadline = None;
        Some(if was_joined {
            RosterChange::Left(id.clone())
        } else {
            RosterChange::Declined(id.clone())
        })
    }

    /// Invitees whose ring ran out by `now` become missed.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<RosterChange> {
        let mut out = Vec::new();
        for m in &mut self.members {
            if m.ring_deadline.is_some_and(|d| now >= d) {
                m.ring_deadline = None;
                m.state = Membership::Missed;
                out.push(RosterChange::Missed(m.id.clone()));
            }
        }
        out
    }

    /// The earliest ring deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.members.iter().filter_map(|m| m.ring_deadline).min()
    }

    pub fn state(&self, id: &NxId) -> Option<Membership> {
        self.members.iter().find(|m| m.id == *id).map(|m| m.state)
    }

    /// The others in the call now: one media leg each.
    pub fn joined_others(&self) -> impl Iterator<Item = &NxId> {
        self.members
            .iter()
            .filter(|m| m.state == Membership::Joined)
            .map(|m| &m.id)
    }

    /// Everyone this side knows of, with their standing (for the UI and the history row).
    pub fn members(&self) -> impl Iterator<Item = (&NxId, Membership)> {
        self.members.iter().map(|m| (&m.id, m.state))
    }

    /// Whether this side offers to `other`: of the two, the later joiner offers (by announced
    /// join time, then NX ID), so two members never offer to each other at once. `None` until
    /// both join times are known.
    pub fn i_offer_to(&self, other: &NxId) -> Option<bool> {
        let mine = self.my_joined_ms?;
        let theirs = self
            .members
            .iter()
            .find(|m| m.id == *other && m.state == Membership::Joined)?
            .joined_ms?;
        Some((mine, self.me.to_string()) > (theirs, other.to_string()))
    }

    /// The call goes on while this side is in it with someone else, or someone may still join.
    pub fn is_live(&self) -> bool {
        self.members.iter().any(|m| m.state.is_present())
    }
}

#[cfg(test)]
#[path = "roster_tests.rs"]
mod tests;
