//! The driver task: owns the call machine, the signaling client and the media session, and
//! turns the machine's actions into I/O.

mod conference;
mod legs;

pub use legs::ParticipantMedia;
mod media_start;
mod negotiation;
mod pending;
mod signaling;
mod stats_sampling;

use super::{CallConfig, CallError, Cmd};
use crate::analytics::AnalyticsQueue;
use crate::machine::{
    Action, CallEvent, CallMachine, CallState, ConferenceLink, Input, Role, WallClock,
};
use crate::media_session::MediaSessionEvent;
use crate::pipeline::{MediaTrouble, RecvCounters};
use crate::quality::Quality;
use crate::stats::StatsSample;
use media::FrameSink;
use nx::rest::AnalyticsRecord;
use nx::signal::Signal;
use nx::{NxId, XmppClient, XmppConfig, XmppEvent, XmppHandle};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

pub(super) struct Driver {
    cfg: CallConfig,
    machine: CallMachine,
    events: broadcast::Sender<CallEvent>,
    state_tx: watch::Sender<CallState>,
    sig_tx: watch::Sender<bool>,
    stats_tx: watch::Sender<Option<StatsSample>>,
    stats_stream: broadcast::Sender<StatsSample>,
    local_video: Arc<FrameSink>,
    remote_video: Arc<FrameSink>,
    /// The latest leg's receive counters, for the handle.
    counters: watch::Sender<Arc<RecvCounters>>,
    xmpp: XmppHandle,
    xmpp_rx: mpsc::Receiver<XmppEvent>,
    xmpp_task: tokio::task::JoinHandle<()>,
    /// The call's microphone, camera and encoders, shared by its legs.
    outgoing: Option<crate::outgoing::Outgoing>,
    /// Device and codec trouble from the call's encoders.
    outgoing_errors: Option<mpsc::Receiver<MediaTrouble>>,
    /// The live legs, one per member this side exchanges media with.
    legs: Vec<legs::LegMedia>,
    /// The link to the call's conference room, when the conference server carries it.
    conference: Option<conference::ConferenceMedia>,
    /// Legs being started: the member and the start's attempt number.
    starting: Vec<(NxId, u64)>,
    /// The member whose picture goes to the handle's `remote_video` (a 1:1 call's peer).
    primary: Option<NxId>,
    leg_events_tx: mpsc::Sender<(NxId, MediaSessionEvent)>,
    leg_events_rx: mpsc::Receiver<(NxId, MediaSessionEvent)>,
    /// Every leg's media, for the handle.
    participants: watch::Sender<Vec<ParticipantMedia>>,
    quality: Quality,
    audio_on: bool,
    video_on: bool,
    camera: usize,
    speaker: Option<String>,
    /// The microphone the next call opens (`set_microphone`).
    microphone: Option<String>,
    /// Numbers each media start: a spawned start that is no longer the latest for its member
    /// is closed when it finishes.
    media_attempt: u64,
    /// Media legs started so far (the receive counters' call id).
    legs_started: u64,
    /// Spawned long I/O; each result comes back through `done`.
    pending: JoinSet<pending::Done>,
    /// Set to stop the settings preview's capture thread.
    preview_stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The live call's playback (follows `set_speaker`).
    output: Option<Arc<crate::pipeline::AudioOutput>>,
    /// The call's received audio, mixed (see `audio_mix`).
    mix: Option<Arc<crate::pipeline::AudioMix>>,
    stats_every: Option<Duration>,
    analytics: AnalyticsQueue,
    analytics_task: tokio::task::JoinHandle<()>,
    chores: JoinSet<()>,
    last_token_refresh: Option<Instant>,
    /// A signaling restart waiting for its turn, and whether it refreshes the token.
    restart_at: Option<(Instant, bool)>,
    /// Keeps the parked event channel open while signaling waits to restart.
    parked_tx: Option<mpsc::Sender<XmppEvent>>,
}

/// Least time between two signaling restarts after final failures.
const SIGNALING_RESTART_GAP: Duration = Duration::from_secs(60);
impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        cfg: CallConfig,
        events: broadcast::Sender<CallEvent>,
        state_tx: watch::Sender<CallState>,
        sig_tx: watch::Sender<bool>,
        stats_tx: watch::Sender<Option<StatsSample>>,
        stats_stream: broadcast::Sender<StatsSample>,
        local_video: Arc<FrameSink>,
        remote_video: Arc<FrameSink>,
        counters: watch::Sender<Arc<RecvCounters>>,
        participants: watch::Sender<Vec<ParticipantMedia>>,
    ) -> Self {
        let (leg_events_tx, leg_events_rx) = mpsc::channel(legs::LEG_EVENTS);
        let (xmpp, xmpp_rx, xmpp_task) = XmppClient::start(XmppConfig::new(
            cfg.nxws.clone(),
            cfg.jid.clone(),
            cfg.token.clone(),
        ));
        let (analytics, analytics_task) =
            AnalyticsQueue::start(cfg.rest.clone(), cfg.analytics_dir.clone());
        Self {
            machine: CallMachine::with_timeouts(
                cfg.jid.clone(),
                cfg.display_name.clone(),
                cfg.timeouts,
            ),
            quality: cfg.quality,
            cfg,
            events,
            state_tx,
            sig_tx,
            stats_tx,
            stats_stream,
            local_video,
            remote_video,
            counters,
            xmpp,
            xmpp_rx,
            xmpp_task,
            outgoing: None,
            outgoing_errors: None,
            legs: Vec::new(),
            conference: None,
            starting: Vec::new(),
            primary: None,
            leg_events_tx,
            leg_events_rx,
            participants,
            audio_on: true,
            video_on: true,
            camera: 0,
            speaker: None,
            microphone: None,
            preview_stop: None,
            output: None,
            mix: None,
            stats_every: None,
            media_attempt: 0,
            legs_started: 0,
            pending: JoinSet::new(),
            analytics,
            analytics_task,
            chores: JoinSet::new(),
            last_token_refresh: None,
            restart_at: None,
            parked_tx: None,
        }
    }

    fn emit(&self, e: CallEvent) {
        if let CallEvent::StateChanged { state } = &e {
            let _ = self.state_tx.send(*state);
        }
        let _ = self.events.send(e);
    }

    pub(super) async fn run(mut self, mut cmds: mpsc::Receiver<Cmd>) {
        let mut stats_timer: Option<tokio::time::Interval> = None;
        // The encoder follows the send-rate controller (bwe.rs), stepped once a second.
        let mut bwe_timer = tokio::time::interval(Duration::from_secs(1));
        bwe_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.machine.next_deadline();
            // The machine's wall time is read here, at the I/O edge, once per event: the
            // monotonic clock stops while the computer sleeps, so a clock read once would drift.
            self.machine.set_wall_clock(WallClock::system());
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        Cmd::Dispose(done) => {
                            self.shutdown().await;
                            let _ = done.send(());
                            return;
                        }
                        Cmd::Stats(every) => {
                            self.stats_every = every;
                            stats_timer = every.map(|d| {
                                let mut i = tokio::time::interval(d);
                                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                                i
                            });
                        }
                        other => self.command(other).await,
                    }
                }
                ev = self.xmpp_rx.recv() => match ev {
                    Some(ev) => self.signaling_event(ev).await,
                    None => {
                        let _ = self.sig_tx.send(false);
                        self.restart_signaling(false);
                    }
                },
                Some((peer, ev)) = self.leg_events_rx.recv() => self.leg_event(peer, ev).await,
                Some(ev) = async { match self.conference.as_mut() { Some(c) => c.events.recv().await, None => std::future::pending().await } } => self.conference_event(ev).await,
                Some(trouble) = async { match self.outgoing_errors.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => self.media_trouble(trouble),
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d.into()).await, None => std::future::pending().await } } => {
                    let actions = self.machine.on_timeout(Instant::now());
                    self.execute(actions).await;
                }
                _ = async { match stats_timer.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                    self.sample_stats().await;
                }
                _ = bwe_timer.tick(), if !self.legs.is_empty() || self.conference.is_some() => {
                    self.step_send_rates().await;
                    self.step_conference_rate();
                    self.renew_conference_grant();
                }
                Some(_) = self.chores.join_next(), if !self.chores.is_empty() => {}
                Some(done) = self.pending.join_next(), if !self.pending.is_empty() => match done {
                    Ok(done) => self.done(done).await,
                    Err(e) => tracing::warn!(error = %e, "spawned call I/O ended abnormally"),
                },
                _ = async { match self.restart_at { Some((t, _)) => tokio::time::sleep_until(t.into()).await, None => std::future::pending().await } } => {
                    let refresh = self.restart_at.take().is_some_and(|(_, r)| r);
                    self.last_token_refresh = None;
                    self.restart_signaling(refresh);
                }
            }
        }
        self.shutdown().await;
    }

    fn stop_preview(&mut self) {
        if let Some(stop) = self.preview_stop.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }

    async fn shutdown(&mut self) {
        self.stop_preview();
        if self.machine.state() != CallState::Idle {
            let actions = self.machine.handle(Input::Hangup, Instant::now());
            self.execute(actions).await;
        }
        self.starting.clear();
        for leg in std::mem::take(&mut self.legs) {
            leg.close().await;
        }
        if let Some(c) = self.conference.take() {
            c.link.close().await;
        }
        if let Some(o) = self.outgoing.take() {
            o.close().await;
        }
        self.drain_pending().await;
        let left = self.analytics.flush(Duration::from_secs(5)).await;
        if left > 0 {
            tracing::warn!(left, "analytics not yet delivered at shutdown");
        }
        self.xmpp.close().await;
        self.xmpp_task.abort();
        self.analytics_task.abort();
        // Sessions closing in the background finish closing (their threads are joined).
        let until = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Ok(Some(_)) = tokio::time::timeout_at(until, self.chores.join_next()).await {}
        self.chores.shutdown().await;
    }

    async fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Dial {
                to,
                audio,
                video,
                conference,
                reply,
            } => {
                let mut ids = Vec::with_capacity(to.len());
                for t in &to {
                    match NxId::normalize(t, Some(self.cfg.jid.domain())) {
                        Ok(id) => ids.push(id),
                        Err(e) => {
                            let _ = reply.send(Err(CallError::BadAddress(e.to_string())));
                            return;
                        }
                    }
                }
                if self.machine.state() != CallState::Idle {
                    let _ = reply.send(Err(CallError::Busy));
                    return;
                }
                let room = format!("call_{}", nx::signal::now_ms());
                self.audio_on = audio;
                self.video_on = video;
                let input = match <[NxId; 1]>::try_from(ids) {
                    Ok([to]) => Input::Dial {
                        to,
                        room: room.clone(),
                        audio,
                        video,
                    },
                    Err(to) => Input::DialGroup {
                        to,
                        room: room.clone(),
                        audio,
                        video,
                        conference,
                    },
                };
                let actions = self.machine.handle(input, now);
                let _ = reply.send(Ok(room));
                self.execute(actions).await;
            }
            Cmd::Invite(to, reply) => {
                let to = match NxId::normalize(&to, Some(self.cfg.jid.domain())) {
                    Ok(id) => id,
                    Err(e) => {
                        let _ = reply.send(Err(CallError::BadAddress(e.to_string())));
                        return;
                    }
                };
                if self.machine.state() == CallState::Idle {
                    let _ = reply.send(Err(CallError::NoCall));
                    return;
                }
                let _ = reply.send(Ok(()));
                let actions = self.machine.handle(Input::Invite { to }, now);
                self.execute(actions).await;
            }
            Cmd::Knock(guest, admit) => {
                let input = if admit {
                    Input::Admit { guest }
                } else {
                    Input::Deny { guest }
                };
                let actions = self.machine.handle(input, now);
                self.execute(actions).await;
            }
            Cmd::Accept { audio, video } => {
                self.audio_on = audio;
                self.video_on = video;
                let actions = self.machine.handle(Input::Accept { audio, video }, now);
                self.execute(actions).await;
            }
            Cmd::Reject => {
                let actions = self.machine.handle(Input::Reject, now);
                self.execute(actions).await;
            }
            Cmd::End => {
                let actions = self.machine.handle(Input::Hangup, now);
                self.execute(actions).await;
            }
            Cmd::AudioEnabled(on) => {
                self.audio_on = on;
                if let Some(o) = &self.outgoing {
                    o.control().audio_enabled.store(on, Ordering::Relaxed);
                }
                self.tell_local_media(now).await;
            }
            Cmd::StartVideo => {
                self.video_on = true;
                let actions = self.machine.handle(Input::StartVideo, Instant::now());
                self.execute(actions).await;
                // A group call's members are told the camera is on.
                self.tell_local_media(now).await;
            }
            Cmd::VideoEnabled(on) => {
                self.video_on = on;
                if let Some(o) = &self.outgoing {
                    o.control().video_enabled.store(on, Ordering::Relaxed);
                    o.control().request_keyframe();
                }
                self.tell_local_media(now).await;
            }
            Cmd::VideoCodecs(c) => {
                tracing::info!(codecs = ?c, "video codec preference");
                self.cfg.media.codecs = c;
            }
            Cmd::Speaker(dev) => {
                tracing::info!(device = ?dev, "audio output selected");
                if let Some(out) = &self.output {
                    out.select(dev.clone());
                }
                self.speaker = dev;
            }
            Cmd::Microphone(dev) => {
                tracing::info!(device = ?dev, "microphone selected");
                self.microphone = dev;
            }
            Cmd::Filter(filter) => {
                tracing::info!(dnd = filter.do_not_disturb, "incoming call filter set");
                self.machine.set_filter(filter);
            }
            Cmd::Preview(on, reply) => {
                self.stop_preview();
                let Some((name, make)) = self.cfg.media.video.get(self.camera) else {
                    let _ = reply.send(if on {
                        Err(CallError::NoCamera)
                    } else {
                        Ok(String::new())
                    });
                    return;
                };
                if on && self.outgoing.is_none() {
                    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    if let Err(e) = crate::pipeline::spawn_preview(
                        make(),
                        self.local_video.clone(),
                        stop.clone(),
                    ) {
                        let _ = reply.send(Err(CallError::Media(e.to_string())));
                        return;
                    }
                    self.preview_stop = Some(stop);
                }
                let _ = reply.send(Ok(name.clone()));
            }
            Cmd::SelectCamera(name, reply) => {
                let found = self.cfg.media.video.iter().position(|(n, _)| *n == name);
                let _ = reply.send(match found {
                    Some(i) if i == self.camera => Ok(name),
                    Some(i) => self.use_camera(i).ok_or(CallError::NoCamera),
                    None => Err(CallError::UnknownCamera(name)),
                });
            }
            Cmd::SwitchCamera(reply) => {
                let n = self.cfg.media.video.len();
                if n < 2 {
                    let _ = reply.send(Err(CallError::NoOtherCamera));
                    return;
                }
                let name = self.use_camera((self.camera + 1) % n).unwrap_or_default();
                let _ = reply.send(Ok(name));
            }
            Cmd::Quality(f, reply) => match f(self.quality) {
                Ok(q) => {
                    self.quality = q;
                    if let Some(o) = &self.outgoing {
                        o.control().set_quality(q);
                    }
                    let _ = reply.send(Ok(q));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Cmd::DropSignaling => {
                let _ = self.xmpp.drop_connection().await;
            }
            Cmd::RestartIce if self.conference.is_some() => {
                let both = [ConferenceLink::Publish, ConferenceLink::Subscribe]
                    .map(|link| Action::RestartConferenceLink { link });
                self.execute(both.to_vec()).await;
            }
            Cmd::RestartIce => {
                let offered: Vec<Action> = self
                    .legs
                    .iter()
                    .filter(|l| l.role == Role::Caller)
                    .map(|l| Action::RestartIce {
                        peer: l.peer.clone(),
                    })
                    .collect();
                self.execute(offered).await;
            }
            Cmd::Stats(_) | Cmd::Dispose(_) => {}
        }
    }

    /// Tells the machine (and so a group call's members) whether the microphone and camera
    /// are on.
    async fn tell_local_media(&mut self, now: Instant) {
        let input = Input::LocalMedia {
            audio: self.audio_on,
            video: self.video_on,
        };
        let actions = self.machine.handle(input, now);
        self.execute(actions).await;
    }

    /// Trouble from the call's encoders: an error to show, or a camera that stopped (the next
    /// one takes over, or a black picture goes out).
    fn media_trouble(&mut self, trouble: MediaTrouble) {
        match trouble {
            MediaTrouble::Error(message) => self.emit(CallEvent::Error { message }),
            MediaTrouble::CameraLost(message) => {
                let lost = self
                    .cfg
                    .media
                    .video
                    .get(self.camera)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default();
                let now_using = if self.cfg.media.video.len() > 1 {
                    self.use_camera((self.camera + 1) % self.cfg.media.video.len())
                } else {
                    None
                };
                self.emit(CallEvent::CameraLost {
                    camera: lost,
                    now_using,
                    message,
                });
            }
        }
    }

    /// Makes camera `i` current and, in a call with video, switches the live track to it.
    fn use_camera(&mut self, i: usize) -> Option<String> {
        let (name, make) = self.cfg.media.video.get(i)?.clone();
        self.camera = i;
        if let Some(o) = self.outgoing.as_ref().filter(|o| o.has_video()) {
            o.control().replace_camera(make());
        }
        Some(name)
    }

    async fn send_signal(&self, to: &NxId, s: &Signal) {
        if let Err(e) = self.xmpp.send_body(to, s.to_json()).await {
            tracing::warn!(error = %e, kind = s.kind(), "signal not sent");
        }
    }

    async fn execute(&mut self, actions: Vec<Action>) {
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(a) = queue.pop_front() {
            match a {
                Action::Send { to, signal } => self.send_signal(&to, &signal).await,
                Action::RegisterCall {
                    to,
                    room,
                    call_type,
                } => {
                    let rest = self.cfg.rest.clone();
                    self.pending.spawn(async move {
                        let result = rest
                            .start_p2p_call(&to.to_string(), Some(&room), Some(call_type.as_str()))
                            .await
                            .map(|_| false)
                            .map_err(|e| e.to_string());
                        pending::Done::Registered { room, result }
                    });
                }
                Action::RegisterGroupCall {
                    participants,
                    room,
                    call_type,
                    conference,
                } => {
                    let rest = self.cfg.rest.clone();
                    let ids: Vec<String> = participants.iter().map(ToString::to_string).collect();
                    self.pending.spawn(async move {
                        let result = rest
                            .start_group_call(&ids, call_type.as_str(), Some(&room), conference)
                            .await
                            .map(|r| r.media.as_deref() == Some("sfu"))
                            .map_err(|e| e.to_string());
                        pending::Done::Registered { room, result }
                    });
                }
                Action::RegisterMembers { room, participants } => {
                    let rest = self.cfg.rest.clone();
                    let ids: Vec<String> = participants.iter().map(ToString::to_string).collect();
                    self.pending.spawn(async move {
                        let result = rest
                            .add_group_members(&room, &ids)
                            .await
                            .map(|r| r.media.as_deref() == Some("sfu"))
                            .map_err(|e| e.to_string());
                        pending::Done::Registered { room, result }
                    });
                }
                Action::DeclineOverRest { room } => {
                    let rest = self.cfg.rest.clone();
                    self.chores.spawn(async move {
                        if let Err(e) = rest.decline_call(&room).await {
                            tracing::info!(error = %e, "decline not recorded");
                        }
                    });
                }
                Action::StartMedia {
                    role,
                    room,
                    peer,
                    audio,
                    video,
                } => {
                    if let Err(message) = self.start_media(peer, role, room, audio, video) {
                        tracing::warn!(%message, "media start failed");
                        queue.extend(
                            self.machine
                                .handle(Input::MediaError { message }, Instant::now()),
                        );
                    }
                }
                Action::Offer { room, peer } => self.offer(&room, &peer, false, &mut queue).await,
                Action::AddVideo { room, peer } => {
                    if let Err(message) = self.add_video(&peer).await {
                        // No camera after all: the members are told it is off.
                        self.video_on = false;
                        self.emit(CallEvent::Error { message });
                        continue;
                    }
                    self.offer(&room, &peer, false, &mut queue).await;
                }
                Action::ApplyRemote { peer, signal } => {
                    self.apply_remote(peer, signal, &mut queue).await
                }
                Action::RestartIce { peer } => {
                    if let Some(room) = self.machine.room().map(str::to_string) {
                        self.offer(&room, &peer, true, &mut queue).await;
                    }
                }
                Action::JoinConference { room } => {
                    if let Err(message) = self.join_conference(room) {
                        let actions = self
                            .machine
                            .handle(Input::MediaError { message }, Instant::now());
                        Box::pin(self.execute(actions)).await;
                    }
                }
                Action::Receive { peer, feed } => {
                    if let Err(e) = self.receive_feed(peer, feed) {
                        tracing::warn!(error = %e, feed, "feed not received");
                    }
                }
                Action::StopReceiving { feed, .. } => self.stop_feed(feed),
                Action::PublishVideo { .. } => {
                    if let Err(message) = self.publish_video() {
                        self.video_on = false;
                        self.emit(CallEvent::Error { message });
                    }
                }
                Action::RestartConferenceLink { link } => {
                    if let Some(conf) = &self.conference {
                        conf.link.restart(link);
                    }
                }
                Action::LeaveConference => self.stop_all_media(),
                Action::StopMedia { peer } => {
                    self.stop_leg(&peer);
                    if self.machine.state() == CallState::Idle {
                        self.stop_all_media();
                    }
                }
                Action::Emit(e) => self.emit(e),
                Action::RecordAnalytics {
                    room,
                    call_type,
                    status,
                    duration_seconds,
                    metadata,
                } => {
                    let metadata = match metadata {
                        serde_json::Value::Object(m) => m,
                        _ => serde_json::Map::new(),
                    };
                    self.analytics
                        .record(AnalyticsRecord {
                            room,
                            call_type: call_type.as_str().into(),
                            status: status.into(),
                            duration_seconds,
                            metadata,
                            record_id: None,
                        })
                        .await;
                }
            }
        }
    }
}
