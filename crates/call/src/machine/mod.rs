//! The call state machine as a pure function of (state, input, now): no sockets, no timers,
//! no media. The driver (`manager`) feeds it inputs and carries out the actions it returns,
//! and asks `next_deadline()` when to call `on_timeout`. Tests drive it with a fake clock.
//!
//! A call has members (`Roster`) and one media leg per other member this side exchanges media
//! with; a 1:1 call is the two-member case (docs/protocol.md §4, §4.2).

mod call;
mod conference;
mod conference_recovery;
mod ending;
mod invitations;
mod knocks;
mod legs;

use nx::signal::{EndReason, Signal};
use nx::{CallType, NxId};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::call_filter::{CallFilter, Filtered};
use crate::roster::Membership;
pub use crate::wall_clock::WallClock;
use call::Call;
pub use conference_recovery::ConferenceLink;

/// How long a call rings before it counts as missed (protocol.md §4 rule 1).
pub const RING_TIMEOUT: Duration = Duration::from_secs(60);
/// How long media may take to start flowing after the callee accepts, all set-up attempts
/// together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one set-up attempt (ICE, then DTLS) may take before the caller starts another:
/// webrtc 0.21.1's DTLS gives up after ~8 s of retries and does not always say so.
pub const SETUP_ATTEMPT: Duration = Duration::from_secs(12);
/// How long a failed connection may take to recover through an ICE restart.
pub const RECOVER_TIMEOUT: Duration = Duration::from_secs(20);
/// Times a call that never connected is set up again from scratch (new peer connection, new
/// offer): webrtc 0.21.1's DTLS gives up after 7 fixed 1 s retries under heavy loss
/// (docs/upstream/webrtc-dtls-retransmission.md), and an ICE restart cannot redo DTLS.
pub const MAX_REBUILDS: u8 = 3;
pub use nx::signal::STALE_INVITATION;
/// Offers and candidates kept per member while its leg's media is not ready yet; more are
/// dropped.
pub const MAX_EARLY_SIGNALS: usize = 64;

/// The machine's deadlines; defaults follow the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub ring: Duration,
    pub connect: Duration,
    pub attempt: Duration,
    pub recover: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            ring: RING_TIMEOUT,
            connect: CONNECT_TIMEOUT,
            attempt: SETUP_ATTEMPT,
            recover: RECOVER_TIMEOUT,
        }
    }
}

/// Call states as the app shows them (protocol.md §4 rule 6).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    Idle,
    Calling,
    Incoming,
    Connected,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Caller,
    Callee,
}

/// Outcome of a call, as analytics and the history record it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ended,
    Declined,
    Cancelled,
    Missed,
    Failed,
    Busy,
}

impl Outcome {
    /// The analytics status (protocol.md §2); a busy callee is a decline.
    pub fn analytics_status(self) -> &'static str {
        match self {
            Outcome::Ended => "ended",
            Outcome::Declined | Outcome::Busy => "declined",
            Outcome::Cancelled => "cancelled",
            Outcome::Missed => "missed",
            Outcome::Failed => "failed",
        }
    }
}

/// What the app hears about.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CallEvent {
    StateChanged {
        state: CallState,
    },
    IncomingCall {
        room: String,
        caller_name: String,
        caller: String,
        call_type: CallType,
        /// Who else is invited to the call (a group call); empty for a 1:1 call.
        others: Vec<String>,
        /// A guest with a room link asks to be let in (the lobby), rather than calling.
        knock: bool,
    },
    /// Someone's standing in the call changed (a group call's join and leave notices).
    Participant {
        room: String,
        nx_id: String,
        membership: Membership,
    },
    /// A member turned its microphone or camera on or off (group calls).
    ParticipantMedia {
        room: String,
        nx_id: String,
        audio: bool,
        video: bool,
    },
    /// A call that did not ring because of the user's filter (blocked, do not disturb).
    IncomingFiltered {
        room: String,
        caller: String,
        caller_name: String,
        call_type: CallType,
        filtered: Filtered,
    },
    /// A guest with a call link asks to join the call under way (docs/protocol.md §2.2); the
    /// user admits (`Input::Admit`) or denies (`Input::Deny`).
    Knock {
        room: String,
        guest: String,
        name: String,
    },
    /// A knock is over without an answer from the user (the guest gave up, or the call ended).
    KnockWithdrawn {
        guest: String,
    },
    /// The incoming screen must go (caller cancelled, or it rang out).
    IncomingWithdrawn {
        room: String,
        outcome: Outcome,
    },
    CallEnded {
        room: String,
        outcome: Outcome,
        reason: String,
        duration_seconds: u64,
    },
    /// Media flows both ways; `connected` means this, not just signaling done.
    MediaConnected {
        room: String,
    },
    LocalMediaAvailable {
        audio: bool,
        video: bool,
    },
    RemoteMediaAvailable {
        kind: String,
    },
    Reconnecting {
        room: String,
    },
    /// The camera in use stopped mid-call; `now_using` is the one switched to, or `None` when
    /// there is no other (a black picture is sent).
    CameraLost {
        camera: String,
        now_using: Option<String>,
        message: String,
    },
    Error {
        message: String,
    },
}

/// Work for the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send {
        to: NxId,
        signal: Signal,
    },
    /// Register the call over REST (`/nx/webrtc/call/`), which also invites the callee.
    RegisterCall {
        to: NxId,
        room: String,
        call_type: CallType,
    },
    /// Register a group call over REST (`/nx/group-call/`); the invitations are ours to send.
    /// `conference` asks for the conference server even where mesh would do.
    RegisterGroupCall {
        participants: Vec<NxId>,
        room: String,
        call_type: CallType,
        conference: bool,
    },
    /// Register people invited into the call under way (`/nx/group-call/{room}/members/`).
    RegisterMembers {
        room: String,
        participants: Vec<NxId>,
    },
    /// Tell the REST API the call was declined.
    DeclineOverRest {
        room: String,
    },
    /// Fetch ICE servers, create the peer connection and local media for the leg to `peer`,
    /// off the driver's loop; the driver answers with `Input::MediaReady` (or `MediaError`).
    /// `role` says which side of the leg offers (`Caller`).
    StartMedia {
        role: Role,
        room: String,
        peer: NxId,
        audio: bool,
        video: bool,
    },
    /// Create an offer on the ready media and send it to the peer.
    Offer {
        room: String,
        peer: NxId,
    },
    /// Hand an offer, answer or candidate to the leg's peer connection.
    ApplyRemote {
        peer: NxId,
        signal: Signal,
    },
    RestartIce {
        peer: NxId,
    },
    /// Start sending video in the call under way and renegotiate (an offer to the peer).
    AddVideo {
        room: String,
        peer: NxId,
    },
    /// Close the leg to `peer`.
    StopMedia {
        peer: NxId,
    },
    /// Fetch this member's tokens and join the call's conference room, publishing the call's
    /// media, off the driver's loop; the driver answers `ConferenceJoined` (or `MediaError`).
    JoinConference {
        room: String,
    },
    /// Receive `peer`'s feed from the conference room.
    Receive {
        peer: NxId,
        feed: u64,
    },
    /// Stop receiving `peer`'s feed.
    StopReceiving {
        peer: NxId,
        feed: u64,
    },
    /// Leave the conference room (the call is over here).
    LeaveConference,
    /// Start publishing video to the conference room (the camera turned on in a call that
    /// started without it).
    PublishVideo {
        room: String,
    },
    /// Restart a connection to the conference server that went down (ICE restart for the
    /// publisher, a new subscription for the subscriber).
    RestartConferenceLink {
        link: ConferenceLink,
    },
    Emit(CallEvent),
    RecordAnalytics {
        room: String,
        call_type: CallType,
        status: &'static str,
        duration_seconds: u64,
        metadata: serde_json::Value,
    },
}

/// Inputs from the user, the network and the media engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Dial {
        to: NxId,
        room: String,
        audio: bool,
        video: bool,
    },
    /// Call several people at once (a group call); `conference` puts it on the conference
    /// server even where mesh would do.
    DialGroup {
        to: Vec<NxId>,
        room: String,
        audio: bool,
        video: bool,
        conference: bool,
    },
    /// Invite one more person into the call under way.
    Invite {
        to: NxId,
    },
    /// Let a knocking guest into the call under way.
    Admit {
        guest: NxId,
    },
    /// Turn a knocking guest away.
    Deny {
        guest: NxId,
    },
    /// The REST registration of a dialled call, or of people invited into it, went through:
    /// the invitations can go out.
    Registered {
        room: String,
    },
    /// That registration failed: the dial fails, or the people invited into the call under
    /// way are not rung.
    DialFailed {
        message: String,
    },
    Accept {
        audio: bool,
        video: bool,
    },
    Reject,
    Hangup,
    /// The user turns the camera on in a call that sends no video (an audio call).
    StartVideo,
    /// The user muted or unmuted, or turned the camera off or on: the members are told.
    LocalMedia {
        audio: bool,
        video: bool,
    },
    /// A signaling message; `delayed` if the server replayed it from offline storage.
    Signal {
        from: NxId,
        signal: Signal,
        delayed: bool,
    },
    /// The leg's media asked for with `Action::StartMedia` is ready for offers and answers.
    MediaReady {
        room: String,
        peer: NxId,
    },
    /// The peer set its side of the leg up again (an offer from a new peer connection): new
    /// media to match, then that offer.
    PeerRestarted {
        peer: NxId,
        offer: Signal,
    },
    MediaConnected {
        peer: NxId,
    },
    MediaFailed {
        peer: NxId,
        reason: String,
    },
    /// The leg's path went quiet (ICE disconnected); it may come back by itself.
    MediaDisconnected {
        peer: NxId,
    },
    MediaError {
        message: String,
    },
    /// The server put the call being registered on its conference server (before `Registered`).
    OnConference {
        room: String,
    },
    /// This side publishes in the conference room as `feed`.
    ConferenceJoined {
        feed: u64,
    },
    /// The conference server says these feeds publish.
    FeedsPublished {
        feeds: Vec<u64>,
    },
    /// A feed left the conference room.
    FeedGone {
        feed: u64,
    },
    /// Media from the conference room flows.
    ConferenceFlowing,
    /// A connection to the conference server is up (again).
    ConferenceLinkUp {
        link: ConferenceLink,
    },
    /// A connection to the conference server went quiet, or failed (`failed` says why).
    ConferenceLinkDown {
        link: ConferenceLink,
        failed: Option<String>,
    },
}

/// The pure core.
#[derive(Debug)]
pub struct CallMachine {
    me: NxId,
    my_name: String,
    state: CallState,
    call: Option<Call>,
    /// Rooms of calls over, with the newest invitation seen for each (`Call::invitation_ms`).
    recent_rooms: VecDeque<(String, i64)>,
    dropped_stale: u64,
    timeouts: Timeouts,
    wall: WallClock,
    filter: CallFilter,
}

fn media_signal(s: &Signal) -> bool {
    matches!(
        s,
        Signal::Offer { .. } | Signal::Answer { .. } | Signal::IceCandidate { .. }
    )
}

impl CallMachine {
    pub fn new(me: NxId, my_name: impl Into<String>) -> Self {
        Self::with_timeouts(me, my_name, Timeouts::default())
    }

    pub fn with_timeouts(me: NxId, my_name: impl Into<String>, timeouts: Timeouts) -> Self {
        Self {
            me,
            my_name: my_name.into(),
            state: CallState::Idle,
            call: None,
            recent_rooms: VecDeque::new(),
            dropped_stale: 0,
            timeouts,
            wall: WallClock::system(),
            filter: CallFilter::default(),
        }
    }

    /// Reads wall time from `wall` instead of the system clock (tests).
    pub fn with_wall_clock(mut self, wall: WallClock) -> Self {
        self.wall = wall;
        self
    }

    /// A fresh reading of the wall clock (the driver gives one with each event).
    pub fn set_wall_clock(&mut self, wall: WallClock) {
        self.wall = wall;
    }

    /// Do-not-disturb and blocked callers for the invitations that come next.
    pub fn set_filter(&mut self, filter: CallFilter) {
        self.filter = filter;
    }

    pub fn state(&self) -> CallState {
        self.state
    }

    pub fn room(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.room.as_str())
    }

    /// The other side the UI names (1:1: the peer; group: the inviter or first invitee).
    pub fn peer(&self) -> Option<&NxId> {
        self.call.as_ref().map(|c| &c.peer)
    }

    /// The call's members other than this side, with their standing.
    pub fn members(&self) -> Vec<(NxId, Membership)> {
        self.call.as_ref().map_or_else(Vec::new, |c| {
            c.roster.members().map(|(id, m)| (id.clone(), m)).collect()
        })
    }

    /// Whether this side offers on the leg to `peer` (and so restarts its ICE).
    pub fn offers_to(&self, peer: &NxId) -> bool {
        self.call
            .as_ref()
            .and_then(|c| c.leg(peer))
            .is_some_and(|l| l.offerer)
    }

    /// Signals dropped by the stale-signal guard so far.
    pub fn dropped_stale(&self) -> u64 {
        self.dropped_stale
    }

    /// The earliest moment `on_timeout` has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.call.as_ref()?.next_deadline()
    }

    fn set_state(&mut self, s: CallState, out: &mut Vec<Action>) {
        if self.state != s {
            self.state = s;
            out.push(Action::Emit(CallEvent::StateChanged { state: s }));
        }
    }

    /// Feeds one input; returns what to do.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Dial {
                to,
                room,
                audio,
                video,
            } => self.dial(vec![to], room, audio, video, now, &mut out),
            Input::DialGroup {
                to,
                room,
                audio,
                video,
                conference,
            } => {
                self.dial(to, room, audio, video, now, &mut out);
                if conference {
                    for a in &mut out {
                        if let Action::RegisterGroupCall { conference, .. } = a {
                            *conference = true;
                        }
                    }
                }
            }
            Input::Invite { to } => self.invite(to, &mut out),
            Input::Admit { guest } => self.admit(&guest, now, &mut out),
            Input::Deny { guest } => self.deny(&guest, now, &mut out),
            Input::Registered { room } => self.registered(&room, now, &mut out),
            Input::DialFailed { message } => self.registration_failed(&message, now, &mut out),
            Input::Accept { audio, video } => self.accept(audio, video, now, &mut out),
            Input::Reject => self.reject(now, &mut out),
            Input::Hangup => self.hangup(now, &mut out),
            Input::StartVideo => self.start_video(&mut out),
            Input::LocalMedia { audio, video } => self.local_media(audio, video, &mut out),
            Input::Signal {
                from,
                signal,
                delayed,
            } => self.signal(from, signal, delayed, now, &mut out),
            Input::MediaReady { room, peer } => self.media_ready(&room, &peer, &mut out),
            Input::PeerRestarted { peer, offer } => self.peer_restarted(&peer, offer, &mut out),
            Input::MediaConnected { peer } => self.media_connected(&peer, now, &mut out),
            Input::MediaFailed { peer, reason } => self.media_failed(&peer, &reason, now, &mut out),
            Input::MediaDisconnected { peer } => self.media_disconnected(&peer, now, &mut out),
            Input::OnConference { room } => self.on_conference(&room, &mut out),
            Input::ConferenceJoined { feed } => self.conference_joined(feed, &mut out),
            Input::FeedsPublished { feeds } => self.feeds_published(&feeds, &mut out),
            Input::FeedGone { feed } => self.feed_gone(feed, now, &mut out),
            Input::ConferenceFlowing => self.conference_flowing(now, &mut out),
            Input::ConferenceLinkUp { link } => self.conference_link_up(link),
            Input::ConferenceLinkDown { link, failed } => {
                self.conference_link_down(link, failed.as_deref(), now, &mut out)
            }
            Input::MediaError { message } => self.media_error(message, now, &mut out),
        }
        out
    }

    /// This side's media cannot go on: the members are told and the call fails.
    fn media_error(&mut self, message: String, now: Instant, out: &mut Vec<Action>) {
        if self.call.is_some() {
            out.push(Action::Emit(CallEvent::Error {
                message: message.clone(),
            }));
            self.end_everyone(EndReason::Failed, now, out);
            self.finish(Outcome::Failed, &message, "local", now, out);
        }
    }

    /// A signaling message: invitations open a call; the rest must come from one of the
    /// current call's members, for its room.
    fn signal(
        &mut self,
        from: NxId,
        signal: Signal,
        delayed: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Signal::CallInvitation { .. } = &signal {
            self.invitation(from, signal, delayed, now, out);
            return;
        }
        if self.knock_withdrawn(&from, &signal, out) {
            return;
        }
        let Some(c) = self.call.as_ref() else {
            self.dropped_stale += 1;
            return;
        };
        if signal.room_id() != Some(c.room.as_str()) || c.roster.state(&from).is_none() {
            self.dropped_stale += 1;
            tracing::debug!(kind = signal.kind(), room = ?signal.room_id(), "dropping signal for another call");
            return;
        }
        match signal {
            Signal::CallResponse { accepted: true, .. } | Signal::CallAccepted { .. } => {
                self.member_accepted(&from, now, out)
            }
            Signal::CallResponse {
                accepted: false, ..
            } => self.member_declined(&from, false, now, out),
            Signal::CallEnd { reason, .. } => self.member_ended(&from, reason, now, out),
            Signal::GroupJoined { joined_at, .. } => {
                self.member_announced(&from, joined_at, now, out)
            }
            Signal::GroupInvited {
                participants, sfu, ..
            } => self.members_invited(&from, &participants, sfu, now, out),
            Signal::MediaState { audio, video, .. } => self.member_media(&from, audio, video, out),
            Signal::SfuFeed { feed, .. } => self.member_feed(&from, feed, out),
            s if media_signal(&s) => self.media_signal(from, s, now, out),
            other => {
                tracing::debug!(kind = other.kind(), state = ?self.state, "ignoring signal in this state");
            }
        }
    }

    /// Fires whatever deadlines have passed.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self
            .call
            .as_ref()
            .and_then(|c| c.ring_deadline)
            .is_some_and(|d| now >= d)
        {
            self.rang_out(now, &mut out);
            return out;
        }
        self.invitees_rang_out(now, &mut out);
        self.leg_deadlines(now, &mut out);
        self.conference_recovery(now, &mut out);
        out
    }

    /// The name of the other party, for the UI.
    pub fn peer_name(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.peer_name.as_str())
    }

    /// Current call type.
    pub fn call_type(&self) -> Option<CallType> {
        self.call.as_ref().map(|c| c.call_type)
    }
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod media_tests;

#[cfg(test)]
mod props;

#[cfg(test)]
mod group_tests;

#[cfg(test)]
mod conference_tests;

#[cfg(test)]
mod conference_recovery_tests;

#[cfg(test)]
mod conference_move_tests;

#[cfg(test)]
mod knock_tests;
