//! Keeping this side's two connections to the conference server up (protocol.md §4.3): one
//! that goes quiet or fails is restarted (an ICE restart for the publisher, a new subscription
//! for the subscriber) until it is back, and the call fails if it is not back within the
//! recovery deadline, as a mesh leg's would. The other members see nothing of it: this side's
//! feed stays in the room throughout.

use super::{Action, CallEvent, CallMachine};
use std::time::{Duration, Instant};

/// How long a connection that went quiet (ICE disconnected, itself ~5 s without a packet) may
/// come back by itself before it is restarted.
pub const RESTART_GRACE: Duration = Duration::from_secs(3);
/// How long one restart may take before the next is tried.
pub const RESTART_EVERY: Duration = Duration::from_secs(5);

/// One of this side's two connections to the conference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConferenceLink {
    /// Sends this side's media to the room.
    Publish,
    /// Receives every other member's feed.
    Subscribe,
}

/// A connection that is down, and when to restart it next.
#[derive(Debug, Clone, Copy)]
struct Down {
    link: ConferenceLink,
    restart_at: Instant,
    /// A restart was asked for since it went down.
    restarted: bool,
}

/// The state of this side's connections to the conference server.
#[derive(Debug, Clone, Default)]
pub(super) struct Recovery {
    /// Connections that have been up at least once (one that never was cannot be restarted).
    up_once: Vec<ConferenceLink>,
    down: Vec<Down>,
    /// When the call fails unless every connection is back.
    deadline: Option<Instant>,
}

impl Recovery {
    pub fn next_deadline(&self) -> Option<Instant> {
        self.down
            .iter()
            .map(|d| d.restart_at)
            .chain(self.deadline)
            .min()
    }

    /// Restarts due at `now`, each rescheduled for if it does not bring the connection back.
    fn due(&mut self, now: Instant) -> Vec<ConferenceLink> {
        let mut due = Vec::new();
        for d in self.down.iter_mut().filter(|d| d.restart_at <= now) {
            d.restart_at = now + RESTART_EVERY;
            d.restarted = true;
            due.push(d.link);
        }
        due
    }
}

impl CallMachine {
    /// A connection to the conference server is up (again).
    pub(super) fn conference_link_up(&mut self, link: ConferenceLink) {
        let Some(c) = self.call.as_mut() else { return };
        let room = c.room.clone();
        let Some(r) = c.conference.as_mut().map(|k| &mut k.recovery) else {
            return;
        };
        if !r.up_once.contains(&link) {
            r.up_once.push(link);
        }
        let was_down = r.down.iter().any(|d| d.link == link);
        r.down.retain(|d| d.link != link);
        if was_down {
            tracing::info!(%room, ?link, "conference connection back");
        }
        if r.down.is_empty() {
            r.deadline = None;
        }
    }

    /// A connection to the conference server went quiet (`failed`: ICE gave up on it). One
    /// that never came up fails the call, as before it was joined.
    pub(super) fn conference_link_down(
        &mut self,
        link: ConferenceLink,
        failed: Option<&str>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let recover = self.timeouts.recover;
        let Some(c) = self.call.as_mut() else { return };
        let room = c.room.clone();
        let Some(r) = c.conference.as_mut().map(|k| &mut k.recovery) else {
            return;
        };
        if !r.up_once.contains(&link) {
            if let Some(reason) = failed {
                let message = format!("could not connect to the conference server: {reason}");
                self.media_error(message, now, out);
            }
            return;
        }
        let first = r.down.is_empty();
        match r.down.iter_mut().find(|d| d.link == link) {
            // Failed after going quiet: restart now, unless a restart is under way.
            Some(d) if failed.is_some() && !d.restarted => d.restart_at = now,
            Some(_) => {}
            None => r.down.push(Down {
                link,
                restart_at: if failed.is_some() {
                    now
                } else {
                    now + RESTART_GRACE
                },
                restarted: false,
            }),
        }
        r.deadline.get_or_insert(now + recover);
        tracing::info!(%room, ?link, reason = failed.unwrap_or("quiet"), "conference connection down; recovering");
        if first {
            out.push(Action::Emit(CallEvent::Reconnecting { room }));
        }
        self.conference_recovery(now, out);
    }

    /// Restarts the connections due for it; fails the call once the recovery deadline passes
    /// with a connection still down.
    pub(super) fn conference_recovery(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(r) = self
            .call
            .as_mut()
            .and_then(|c| c.conference.as_mut())
            .map(|k| &mut k.recovery)
        else {
            return;
        };
        if r.deadline.is_some_and(|d| now >= d) {
            let message = "lost the connection to the conference server".to_string();
            self.media_error(message, now, out);
            return;
        }
        for link in r.due(now) {
            out.push(Action::RestartConferenceLink { link });
        }
    }
}
