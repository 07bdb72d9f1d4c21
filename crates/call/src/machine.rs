//! The call state machine as a pure function of (state, input, now): no sockets, no timers,
//! no media. The driver (`manager`) feeds it inputs and carries out the actions it returns,
//! and asks `next_deadline()` when to call `on_timeout`. Tests drive it with a fake clock.

use nx::signal::{EndReason, Signal};
use nx::{CallType, NxId};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::call_filter::{CallFilter, Filtered};
pub use crate::wall_clock::WallClock;

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
/// Offers and candidates kept while the media is not ready yet; more are dropped.
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
    },
    /// A call that did not ring because of the user's filter (blocked, do not disturb).
    IncomingFiltered {
        room: String,
        caller: String,
        caller_name: String,
        call_type: CallType,
        filtered: Filtered,
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
    /// Tell the REST API the call was declined.
    DeclineOverRest {
        room: String,
    },
    /// Fetch ICE servers, create the peer connection and local media, off the driver's loop;
    /// the driver answers with `Input::MediaReady` (or `MediaError`).
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
    /// Hand an offer, answer or candidate to the peer connection.
    ApplyRemote {
        signal: Signal,
    },
    RestartIce,
    /// Start sending video in the call under way and renegotiate (an offer to the peer).
    AddVideo {
        room: String,
        peer: NxId,
    },
    StopMedia,
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
    /// The REST registration of a dialled call went through: the invitation can go out.
    Registered {
        room: String,
    },
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
    /// A signaling message; `delayed` if the server replayed it from offline storage.
    Signal {
        from: NxId,
        signal: Signal,
        delayed: bool,
    },
    /// The media asked for with `Action::StartMedia` is ready for offers and answers.
    MediaReady {
        room: String,
    },
    /// The peer set its side of the call up again (an offer from a new peer connection): new
    /// media to match, then that offer.
    PeerRestarted {
        offer: Signal,
    },
    MediaConnected,
    MediaFailed {
        reason: String,
    },
    MediaError {
        message: String,
    },
}

#[derive(Debug, Clone)]
struct Call {
    room: String,
    peer: NxId,
    peer_name: String,
    call_type: CallType,
    role: Role,
    audio: bool,
    video: bool,
    accepted: bool,
    /// The caller's invitation has gone out (after the REST registration).
    invited: bool,
    media_started: bool,
    /// The started media answered `MediaReady`; until then media signals wait in `early`.
    media_ready: bool,
    connected_at: Option<Instant>,
    ring_deadline: Option<Instant>,
    connect_deadline: Option<Instant>,
    /// When the caller's current set-up attempt is given up for a new one.
    attempt_deadline: Option<Instant>,
    recover_deadline: Option<Instant>,
    restarted: bool,
    /// Times the media was set up again before it ever connected.
    rebuilds: u8,
    /// Offers and candidates that came before our media was ready.
    early: Vec<Signal>,
}

impl Call {
    /// A call that has just started ringing.
    fn ringing(
        room: String,
        peer: NxId,
        peer_name: String,
        call_type: CallType,
        role: Role,
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
            media_started: false,
            media_ready: false,
            connected_at: None,
            ring_deadline: Some(ring_deadline),
            connect_deadline: None,
            attempt_deadline: None,
            recover_deadline: None,
            restarted: false,
            rebuilds: 0,
            early: Vec::new(),
        }
    }
}

/// The pure core.
#[derive(Debug)]
pub struct CallMachine {
    me: NxId,
    my_name: String,
    state: CallState,
    call: Option<Call>,
    recent_rooms: VecDeque<String>,
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

    pub fn peer(&self) -> Option<&NxId> {
        self.call.as_ref().map(|c| &c.peer)
    }

    /// Signals dropped by the stale-signal guard so far.
    pub fn dropped_stale(&self) -> u64 {
        self.dropped_stale
    }

    /// The earliest moment `on_timeout` has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let c = self.call.as_ref()?;
        [
            c.ring_deadline,
            c.connect_deadline,
            c.attempt_deadline,
            c.recover_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn set_state(&mut self, s: CallState, out: &mut Vec<Action>) {
        if self.state != s {
            self.state = s;
            out.push(Action::Emit(CallEvent::StateChanged { state: s }));
        }
    }

    fn call_end(&self, c: &Call, reason: EndReason, now: Instant) -> Action {
        Action::Send {
            to: c.peer.clone(),
            signal: Signal::CallEnd {
                room_id: c.room.clone(),
                timestamp: self.wall.ms(now),
                reason: Some(reason),
            },
        }
    }

    /// Ends the current call: analytics once, events, back to idle.
    fn finish(
        &mut self,
        outcome: Outcome,
        reason: &str,
        ended_by: &str,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.call.take() else { return };
        if c.media_started {
            out.push(Action::StopMedia);
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
        out.push(Action::RecordAnalytics {
            room: c.room.clone(),
            call_type: c.call_type,
            status: outcome.analytics_status(),
            duration_seconds: duration,
            metadata: serde_json::json!({
                "ended_by": ended_by, "role": c.role, "reason": reason, "peer": c.peer.to_string(), "is_group": false,
            }),
        });
        out.push(Action::Emit(CallEvent::CallEnded {
            room: c.room.clone(),
            outcome,
            reason: reason.to_string(),
            duration_seconds: duration,
        }));
        self.remember(&c.room);
        self.set_state(CallState::Ended, out);
        self.set_state(CallState::Idle, out);
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
        self.remember(room);
        out.push(Action::Emit(event));
    }

    fn remember(&mut self, room: &str) {
        if self.recent_rooms.len() >= 64 {
            self.recent_rooms.pop_front();
        }
        self.recent_rooms.push_back(room.to_string());
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
            } => self.dial(to, room, audio, video, now, &mut out),
            Input::DialFailed { message } => {
                if self
                    .call
                    .as_ref()
                    .is_some_and(|c| c.role == Role::Caller && !c.accepted)
                {
                    out.push(Action::Emit(CallEvent::Error {
                        message: message.clone(),
                    }));
                    self.finish(Outcome::Failed, &message, "local", now, &mut out);
                }
            }
            Input::Registered { room } => self.registered(&room, now, &mut out),
            Input::MediaReady { room } => self.media_ready(&room, &mut out),
            Input::PeerRestarted { offer } => self.peer_restarted(offer, &mut out),
            Input::Accept { audio, video } => self.accept(audio, video, now, &mut out),
            Input::Reject => {
                if let Some(c) = self
                    .call
                    .as_ref()
                    .filter(|c| c.role == Role::Callee && !c.accepted)
                {
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
                    self.finish(Outcome::Declined, "declined", "callee", now, &mut out);
                }
            }
            Input::Hangup => self.hangup(now, &mut out),
            Input::StartVideo => self.start_video(&mut out),
            Input::Signal {
                from,
                signal,
                delayed,
            } => self.signal(from, signal, delayed, now, &mut out),
            Input::MediaConnected => {
                if let Some(c) = self.call.as_mut() {
                    c.connect_deadline = None;
                    c.attempt_deadline = None;
                    c.recover_deadline = None;
                    if c.connected_at.is_none() {
                        c.connected_at = Some(now);
                        let room = c.room.clone();
                        self.set_state(CallState::Connected, &mut out);
                        out.push(Action::Emit(CallEvent::MediaConnected { room }));
                    }
                }
            }
            Input::MediaFailed { reason } => {
                if let Some(c) = self.call.as_mut().filter(|c| c.media_started) {
                    if c.connected_at.is_none() && c.rebuilds < MAX_REBUILDS {
                        tracing::info!(room = %c.room, %reason, "media never connected");
                        if let Some(a) = self.rebuild(now) {
                            out.push(a);
                        }
                        return out;
                    }
                    if c.recover_deadline.is_none() {
                        c.recover_deadline = Some(now + self.timeouts.recover);
                    }
                    let room = c.room.clone();
                    if c.role == Role::Caller && !c.restarted {
                        c.restarted = true;
                        out.push(Action::RestartIce);
                    }
                    tracing::info!(%room, %reason, "media path failed; recovering");
                    out.push(Action::Emit(CallEvent::Reconnecting { room }));
                }
            }
            Input::MediaError { message } => {
                if self.call.is_some() {
                    out.push(Action::Emit(CallEvent::Error {
                        message: message.clone(),
                    }));
                    if let Some(c) = &self.call {
                        out.push(self.call_end(c, EndReason::Failed, now));
                    }
                    self.finish(Outcome::Failed, &message, "local", now, &mut out);
                }
            }
        }
        out
    }

    fn dial(
        &mut self,
        to: NxId,
        room: String,
        audio: bool,
        video: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.call.is_some() {
            out.push(Action::Emit(CallEvent::Error {
                message: "already in a call".into(),
            }));
            return;
        }
        if to == self.me {
            out.push(Action::Emit(CallEvent::Error {
                message: "you cannot call yourself".into(),
            }));
            return;
        }
        let call_type = if video {
            CallType::Video
        } else {
            CallType::Audio
        };
        let mut call = Call::ringing(
            room.clone(),
            to.clone(),
            to.local().to_string(),
            call_type,
            Role::Caller,
            now + self.timeouts.ring,
        );
        call.audio = audio;
        call.video = video;
        self.call = Some(call);
        self.set_state(CallState::Calling, out);
        out.push(Action::RegisterCall {
            to,
            room,
            call_type,
        });
    }

    /// The call is registered: the invitation goes to the callee.
    fn registered(&mut self, room: &str, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.role == Role::Caller && c.room == room && !c.invited)
        else {
            return;
        };
        c.invited = true;
        out.push(Action::Send {
            to: c.peer.clone(),
            signal: Signal::CallInvitation {
                room_id: c.room.clone(),
                call_type: c.call_type,
                from_nx_id: self.me.to_string(),
                from_name: self.my_name.clone(),
                timestamp: self.wall.ms(now),
                participants: vec![],
            },
        });
    }

    /// Marks new media as starting: media signals wait until it is ready.
    fn starting_media(c: &mut Call) -> Action {
        c.media_started = true;
        c.media_ready = false;
        Action::StartMedia {
            role: c.role,
            room: c.room.clone(),
            peer: c.peer.clone(),
            audio: c.audio,
            video: c.video,
        }
    }

    /// The started media is ready: the caller offers, and what came early is applied in order.
    fn media_ready(&mut self, room: &str, out: &mut Vec<Action>) {
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.room == room && c.media_started && !c.media_ready)
        else {
            return;
        };
        c.media_ready = true;
        if c.role == Role::Caller {
            out.push(Action::Offer {
                room: c.room.clone(),
                peer: c.peer.clone(),
            });
        }
        out.extend(
            std::mem::take(&mut c.early)
                .into_iter()
                .map(|signal| Action::ApplyRemote { signal }),
        );
    }

    /// The peer set the call up again: new media, which then answers its offer.
    fn peer_restarted(&mut self, offer: Signal, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut().filter(|c| c.media_started) else {
            return;
        };
        tracing::info!(room = %c.room, "the peer set the call up again; new media to match");
        c.early = vec![offer];
        out.push(Self::starting_media(c));
    }

    fn accept(&mut self, audio: bool, video: bool, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.role == Role::Callee && !c.accepted)
        else {
            out.push(Action::Emit(CallEvent::Error {
                message: "no incoming call to accept".into(),
            }));
            return;
        };
        c.accepted = true;
        c.audio = audio;
        c.video = video && c.call_type.has_video();
        c.ring_deadline = None;
        c.connect_deadline = Some(now + self.timeouts.connect);
        let (room, peer) = (c.room.clone(), c.peer.clone());
        let start = Self::starting_media(c);
        out.push(Action::Send {
            to: peer,
            signal: Signal::CallResponse {
                room_id: room,
                accepted: true,
                timestamp: self.wall.ms(now),
            },
        });
        out.push(start);
        self.set_state(CallState::Calling, out);
    }

    /// Turns an audio call into a video call from this side; the peer's camera stays as it is.
    fn start_video(&mut self, out: &mut Vec<Action>) {
        let Some(c) = self.call.as_mut() else {
            return;
        };
        if self.state != CallState::Connected || c.video || !c.media_ready {
            return;
        }
        c.video = true;
        c.call_type = CallType::Video;
        out.push(Action::AddVideo {
            room: c.room.clone(),
            peer: c.peer.clone(),
        });
        out.push(Action::Emit(CallEvent::LocalMediaAvailable {
            audio: c.audio,
            video: true,
        }));
    }

    fn hangup(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(c) = self.call.clone() else { return };
        match (c.role, c.accepted, c.connected_at.is_some()) {
            (Role::Callee, false, _) => {
                self.handle_into(Input::Reject, now, out);
            }
            (Role::Caller, false, _) => {
                out.push(self.call_end(&c, EndReason::Cancelled, now));
                self.finish(
                    Outcome::Cancelled,
                    "cancelled by caller",
                    "caller",
                    now,
                    out,
                );
            }
            (role, true, connected) => {
                out.push(self.call_end(&c, EndReason::Hangup, now));
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

    fn handle_into(&mut self, input: Input, now: Instant, out: &mut Vec<Action>) {
        out.extend(self.handle(input, now));
    }

    fn signal(
        &mut self,
        from: NxId,
        signal: Signal,
        delayed: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Signal::CallInvitation {
            room_id,
            call_type,
            from_nx_id,
            from_name,
            timestamp,
            ..
        } = &signal
        {
            let age_ms = self.wall.ms(now).saturating_sub(*timestamp);
            let stale = (delayed || *timestamp > 0) && age_ms > STALE_INVITATION.as_millis() as i64;
            if stale || self.recent_rooms.iter().any(|r| r == room_id) {
                self.dropped_stale += 1;
                tracing::debug!(room = %room_id, age_ms, "dropping stale invitation");
                return;
            }
            if self.call.as_ref().is_some_and(|c| c.room == *room_id) {
                return;
            }
            let caller = NxId::parse_jid(from_nx_id)
                .ok()
                .filter(|id| *id == from)
                .unwrap_or_else(|| from.clone());
            let name = if from_name.trim().is_empty() {
                caller.local().to_string()
            } else {
                from_name.clone()
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
                self.filtered(room_id, from, filtered, event, now, out);
                return;
            }
            if self.call.is_some() {
                out.push(Action::Send {
                    to: from.clone(),
                    signal: Signal::CallResponse {
                        room_id: room_id.clone(),
                        accepted: false,
                        timestamp: self.wall.ms(now),
                    },
                });
                out.push(Action::Send {
                    to: from,
                    signal: Signal::CallEnd {
                        room_id: room_id.clone(),
                        timestamp: self.wall.ms(now),
                        reason: Some(EndReason::Busy),
                    },
                });
                return;
            }
            self.call = Some(Call::ringing(
                room_id.clone(),
                caller.clone(),
                name.clone(),
                call_type,
                Role::Callee,
                now + self.timeouts.ring,
            ));
            self.set_state(CallState::Incoming, out);
            out.push(Action::Emit(CallEvent::IncomingCall {
                room: room_id.clone(),
                caller_name: name,
                caller: caller.to_string(),
                call_type,
            }));
            return;
        }
        let Some(c) = self.call.as_mut() else {
            self.dropped_stale += 1;
            return;
        };
        if signal.room_id() != Some(c.room.as_str()) || from != c.peer {
            self.dropped_stale += 1;
            tracing::debug!(kind = signal.kind(), room = ?signal.room_id(), "dropping signal for another call");
            return;
        }
        match signal {
            Signal::CallResponse { accepted: true, .. } | Signal::CallAccepted { .. }
                if c.role == Role::Caller && !c.accepted =>
            {
                c.accepted = true;
                c.ring_deadline = None;
                c.connect_deadline = Some(now + self.timeouts.connect);
                c.attempt_deadline = Some(now + self.timeouts.attempt);
                out.push(Self::starting_media(c));
            }
            Signal::CallResponse {
                accepted: false, ..
            } if c.role == Role::Caller && !c.accepted => {
                self.finish(Outcome::Declined, "declined", "callee", now, out);
            }
            Signal::CallEnd { reason, .. } => {
                let (outcome, why) = match (c.accepted, c.role, reason) {
                    (_, Role::Caller, Some(EndReason::Busy)) if !c.accepted => {
                        (Outcome::Busy, "busy")
                    }
                    (false, Role::Callee, Some(EndReason::Timeout)) => {
                        (Outcome::Missed, "no answer")
                    }
                    (false, Role::Callee, _) => (Outcome::Cancelled, "cancelled by caller"),
                    (false, Role::Caller, _) => (Outcome::Declined, "declined"),
                    (true, _, Some(EndReason::Failed)) => (Outcome::Failed, "peer failed"),
                    (true, _, _) if c.connected_at.is_some() => (Outcome::Ended, "remote hangup"),
                    (true, _, _) => (Outcome::Cancelled, "remote hangup before media"),
                };
                self.finish(outcome, why, "remote", now, out);
            }
            s if media_signal(&s) => {
                if c.media_ready {
                    out.push(Action::ApplyRemote { signal: s });
                } else if c.media_started && matches!(s, Signal::Answer { .. }) {
                    // New media is starting, so this answers an offer of the media it replaces.
                    tracing::debug!(room = %c.room, "dropping an answer for replaced media");
                } else if c.early.len() < MAX_EARLY_SIGNALS {
                    c.early.push(s);
                }
            }
            other => {
                tracing::debug!(kind = other.kind(), state = ?self.state, "ignoring signal in this state");
            }
        }
    }

    /// Never connected (ICE or DTLS gave up during set-up): set the media up again, quietly,
    /// within the connect deadline. The caller starts new media and offers anew; the callee has
    /// nothing to do until that offer (a new DTLS identity) arrives, and rebuilds then.
    fn rebuild(&mut self, now: Instant) -> Option<Action> {
        let attempt = self.timeouts.attempt;
        let c = self
            .call
            .as_mut()
            .filter(|c| c.connected_at.is_none() && c.rebuilds < MAX_REBUILDS)?;
        if c.role != Role::Caller {
            return None;
        }
        c.rebuilds += 1;
        c.attempt_deadline = Some(now + attempt);
        tracing::info!(room = %c.room, attempt = c.rebuilds + 1, "setting the media up again");
        Some(Self::starting_media(c))
    }

    /// Fires whatever deadlines have passed.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(c) = self.call.clone() else {
            return out;
        };
        let connect_over = c.connect_deadline.is_some_and(|d| now >= d);
        if c.attempt_deadline.is_some_and(|d| now >= d) && !connect_over {
            if let Some(a) = self.rebuild(now) {
                out.push(a);
                return out;
            }
            // The last attempt is over: no need to wait out the connect deadline.
            if let Some(cm) = self.call.as_mut() {
                cm.attempt_deadline = None;
                cm.connect_deadline = Some(now);
            }
        }
        let Some(c) = self.call.clone() else {
            return out;
        };
        if c.ring_deadline.is_some_and(|d| now >= d) {
            if c.role == Role::Caller {
                out.push(self.call_end(&c, EndReason::Timeout, now));
            }
            self.finish(Outcome::Missed, "no answer", "timeout", now, &mut out);
        } else if c.connect_deadline.is_some_and(|d| now >= d)
            || c.recover_deadline.is_some_and(|d| now >= d)
        {
            out.push(Action::Emit(CallEvent::Error {
                message: "could not establish media with the other side".into(),
            }));
            out.push(self.call_end(&c, EndReason::Failed, now));
            self.finish(
                Outcome::Failed,
                "media connection failed",
                "timeout",
                now,
                &mut out,
            );
        }
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
#[path = "machine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "machine_props.rs"]
mod props;
