//! Group calls on the conference server (protocol.md §4.3): instead of a leg per member, this
//! side publishes once to the call's Janus room and receives each member's feed there. Members
//! name their feeds over NX (`sfu_feed`, `from` stamped by the server); a feed is received once
//! Janus says it publishes and a member of the call has claimed it.

use super::call::Call;
use super::conference_recovery::{ConferenceLink, Recovery};
use super::{Action, CallEvent, CallMachine, CallState};
use crate::roster::Membership;
use nx::signal::{EndReason, Signal};
use nx::NxId;
use std::time::Instant;

/// This side's part in the call's conference room.
#[derive(Debug, Clone, Default)]
pub(super) struct Conference {
    /// Joining was asked for (`Action::JoinConference`).
    pub joining: bool,
    /// This side's feed, once joined.
    pub my_feed: Option<u64>,
    /// Each member's feed, as the member announced it.
    pub feeds: Vec<(NxId, u64)>,
    /// Feeds Janus says publish now.
    pub published: Vec<u64>,
    /// Feeds received, and whose.
    pub receiving: Vec<(NxId, u64)>,
    /// Members told this side's feed.
    pub told: Vec<NxId>,
    /// This side's connections to the conference server, and their recovery.
    pub recovery: Recovery,
}

/// Most feeds remembered (members and Janus's announcements alike).
const MAX_FEEDS: usize = crate::roster::MAX_MEMBERS * 2;

impl CallMachine {
    /// The server carries this call's media on its conference server: from the start, or from
    /// now on for a mesh call that grew over the mesh limit (its legs close; the members are
    /// told by `registered`).
    pub(super) fn on_conference(&mut self, room: &str, out: &mut Vec<Action>) {
        if let Some(c) = self.call.as_mut().filter(|c| c.room == room) {
            Self::move_to_conference(c, out);
        }
    }

    /// The call's media goes through the conference room from now on: every leg closes, and
    /// this side joins the room if it is in the call.
    pub(super) fn move_to_conference(c: &mut Call, out: &mut Vec<Action>) {
        if c.conference.is_some() {
            return;
        }
        c.conference = Some(Conference::default());
        for leg in std::mem::take(&mut c.legs) {
            out.push(Action::StopMedia { peer: leg.peer });
        }
        c.early.clear();
        if c.accepted {
            Self::join_conference(c, out);
        }
    }

    /// Joins the conference room, once, when this side is in the call.
    pub(super) fn join_conference(c: &mut Call, out: &mut Vec<Action>) {
        let Some(conf) = c.conference.as_mut().filter(|k| !k.joining) else {
            return;
        };
        conf.joining = true;
        out.push(Action::JoinConference {
            room: c.room.clone(),
        });
    }

    /// Tells `member` this side's feed, once it has one (members who join later are told then).
    pub(super) fn tell_feed(c: &mut Call, member: &NxId, out: &mut Vec<Action>) {
        let room = c.room.clone();
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        let Some(feed) = conf.my_feed else { return };
        if conf.told.contains(member) {
            return;
        }
        conf.told.push(member.clone());
        out.push(Action::Send {
            to: member.clone(),
            signal: Signal::SfuFeed {
                room_id: room,
                feed,
            },
        });
    }

    /// This side publishes as `feed`: every member in the call is told.
    pub(super) fn conference_joined(&mut self, feed: u64, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        conf.my_feed = Some(feed);
        let joined: Vec<NxId> = c.roster.joined_others().cloned().collect();
        for m in joined {
            Self::tell_feed(c, &m, out);
        }
    }

    /// A member named its feed.
    pub(super) fn member_feed(&mut self, from: &NxId, feed: u64, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        if c.roster.state(from) != Some(Membership::Joined) {
            return;
        }
        // A member names its feed only on the conference server: a move this side has not
        // heard of yet (its `group_invited` is on the way from another member).
        Self::move_to_conference(c, out);
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        if conf.my_feed == Some(feed) || conf.feeds.iter().any(|(m, f)| *f == feed && m != from) {
            tracing::warn!(%from, feed, "a feed claimed twice; ignored");
            return;
        }
        conf.feeds.retain(|(m, _)| m != from);
        if conf.feeds.len() < MAX_FEEDS {
            conf.feeds.push((from.clone(), feed));
        }
        Self::receive_due(c, out);
    }

    /// Janus says these feeds publish.
    pub(super) fn feeds_published(&mut self, feeds: &[u64], out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        // Janus announces a feed again when its streams change (a member turned its camera on
        // in a call that started without video): the subscription is made anew to get them.
        if feeds
            .iter()
            .any(|f| conf.receiving.iter().any(|(_, r)| r == f))
        {
            out.push(Action::RestartConferenceLink {
                link: ConferenceLink::Subscribe,
            });
        }
        for f in feeds {
            if !conf.published.contains(f) && conf.published.len() < MAX_FEEDS {
                conf.published.push(*f);
            }
        }
        Self::receive_due(c, out);
    }

    /// Receives every feed both published and claimed by a member, not received yet.
    fn receive_due(c: &mut Call, out: &mut Vec<Action>) {
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        let due: Vec<(NxId, u64)> = conf
            .feeds
            .iter()
            .filter(|(_, f)| conf.published.contains(f))
            .filter(|p| !conf.receiving.contains(p))
            .cloned()
            .collect();
        for (peer, feed) in due {
            conf.receiving.push((peer.clone(), feed));
            out.push(Action::Receive { peer, feed });
        }
    }

    /// A feed left Janus: a member whose feed went without its `call_end` failed, and is told.
    pub(super) fn feed_gone(&mut self, feed: u64, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else { return };
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        conf.published.retain(|f| *f != feed);
        let member = conf
            .feeds
            .iter()
            .find(|(_, f)| *f == feed)
            .map(|(m, _)| m.clone());
        let room = c.room.clone();
        let Some(member) = member.filter(|m| c.roster.state(m) == Some(Membership::Joined)) else {
            return;
        };
        tracing::info!(%member, feed, "member's feed left the conference");
        out.push(self.call_end_to(&member, &room, EndReason::Failed, now));
        self.member_left(&member, Some(EndReason::Failed), now, out);
    }

    /// Stops receiving `peer` (it left) and forgets its feed.
    pub(super) fn stop_receiving(c: &mut Call, peer: &NxId, out: &mut Vec<Action>) {
        let Some(conf) = c.conference.as_mut() else {
            return;
        };
        conf.feeds.retain(|(m, _)| m != peer);
        conf.told.retain(|m| m != peer);
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut conf.receiving)
            .into_iter()
            .partition(|(m, _)| m == peer);
        conf.receiving = kept;
        for (peer, feed) in gone {
            out.push(Action::StopReceiving { peer, feed });
        }
    }

    /// Media from the conference flows: the call is connected.
    pub(super) fn conference_flowing(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut().filter(|c| c.conference.is_some()) else {
            return;
        };
        if c.connected_at.is_none() {
            c.connected_at = Some(now);
            let room = c.room.clone();
            self.set_state(CallState::Connected, out);
            out.push(Action::Emit(CallEvent::MediaConnected { room }));
        }
    }
}
