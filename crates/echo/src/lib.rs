//! The echo contact: answers every call and sends the caller's own audio and video back,
//! packet for packet (no re-encoding), so a new user can test their set-up alone. Keyframe
//! requests from the caller are passed back upstream to the caller's encoder.

use nx::signal::{now_ms, EndReason, Signal, STALE_INVITATION};
use nx::{NxId, XmppClient, XmppConfig, XmppEvent, XmppHandle};
use peer::{build_peer, codecs, media_track, request_keyframe, Negotiation, NetConfig, PeerError};
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::Track;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

/// Calls the echo contact takes at once; more callers hear "busy".
const MAX_CALLS: usize = 8;
/// An echo call ends by itself after this long.
const MAX_CALL: Duration = Duration::from_secs(600);
/// An accepted call whose offer has not come by then gives its slot back.
const OFFER_WAIT: Duration = Duration::from_secs(20);
/// Slots one caller may hold at once, so one account cannot make the echo busy for all.
const CALLS_PER_PEER: usize = 2;

/// Where the echo contact signs in.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    pub nxws: String,
    pub jid: NxId,
    pub token: String,
    pub net: NetConfig,
}

impl EchoConfig {
    /// The echo contact of a server listening on `server_ip`, signed in as `account`: media on
    /// loopback when the server is only reachable there, on every interface otherwise.
    pub fn beside(server_ip: std::net::IpAddr, account: nx::SignedIn) -> Self {
        let udp = if server_ip.is_loopback() {
            format!("{server_ip}:0")
        } else {
            "0.0.0.0:0".to_string()
        };
        Self {
            nxws: account.nxws,
            jid: account.jid,
            token: account.token,
            net: NetConfig {
                udp_addrs: vec![udp],
                ..Default::default()
            },
        }
    }
}

enum Ev {
    Candidate(RTCIceCandidateInit),
    Failed,
}

struct Reflector {
    events: mpsc::Sender<(String, Ev)>,
    room: String,
    video_out: Arc<TrackLocalStaticRTP>,
    audio_out: Arc<TrackLocalStaticRTP>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Reflector {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self
                .events
                .send((self.room.clone(), Ev::Candidate(init)))
                .await;
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Failed {
            let _ = self.events.send((self.room.clone(), Ev::Failed)).await;
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let out = if kind == RtpCodecKind::Video {
            self.video_out.clone()
        } else {
            self.audio_out.clone()
        };
        let in_ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
        let out_ssrc = out.ssrcs().await.first().copied().unwrap_or(0);
        let upstream = track.clone();
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.push(tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(mut p) => {
                        p.header.ssrc = out_ssrc;
                        if let Err(e) = out.write_rtp(p).await {
                            tracing::trace!(error = %e, "echo packet not sent");
                        }
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        }));
        if kind == RtpCodecKind::Video {
            let local = self.video_out.clone();
            tasks.push(tokio::spawn(async move {
                let mut last = Instant::now() - Duration::from_secs(1);
                loop {
                    match tokio::time::timeout(Duration::from_millis(250), local.poll()).await {
                        Ok(Some(TrackLocalEvent::OnRtcpPacket(_)))
                            if last.elapsed() > Duration::from_millis(200) =>
                        {
                            last = Instant::now();
                            if request_keyframe(&upstream, in_ssrc).await.is_err() {
                                break;
                            }
                        }
                        Ok(Some(_)) | Err(_) => {}
                        Ok(None) => tokio::time::sleep(Duration::from_millis(250)).await,
                    }
                }
            }));
        }
    }
}

fn out_track(kind: RtpCodecKind) -> Arc<TrackLocalStaticRTP> {
    let codec = if kind == RtpCodecKind::Video {
        codecs::h264()
    } else {
        codecs::opus()
    };
    let ssrc = rand::random::<u32>();
    Arc::new(TrackLocalStaticRTP::new(media_track(
        "echo", kind, codec, ssrc, false,
    )))
}

struct EchoCall {
    peer: NxId,
    negotiation: Negotiation,
    started: Instant,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl EchoCall {
    async fn start(
        net: &NetConfig,
        room: &str,
        peer: NxId,
        events: mpsc::Sender<(String, Ev)>,
    ) -> Result<Self, PeerError> {
        let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handler = Arc::new(Reflector {
            events,
            room: room.to_string(),
            video_out: out_track(RtpCodecKind::Video),
            audio_out: out_track(RtpCodecKind::Audio),
            tasks: tasks.clone(),
        });
        let (v, a) = (handler.video_out.clone(), handler.audio_out.clone());
        // It sends back the caller's own packets: one codec both ways keeps that simple.
        let pc = build_peer(net, handler, &[codecs::VideoCodec::H264], None).await?;
        for track in [a, v] {
            pc.add_track(track as Arc<dyn TrackLocal>)
                .await
                .map_err(|e| PeerError::WebRtc(e.to_string()))?;
        }
        Ok(Self {
            peer,
            negotiation: Negotiation::new(pc),
            started: Instant::now(),
            tasks,
        })
    }

    async fn close(self) {
        self.negotiation.close().await;
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

/// A running echo contact.
pub struct EchoBot {
    xmpp: XmppHandle,
    task: tokio::task::JoinHandle<()>,
}

impl EchoBot {
    pub fn start(cfg: EchoConfig) -> Self {
        let (xmpp, rx, xmpp_task) = XmppClient::start(XmppConfig::new(
            cfg.nxws.clone(),
            cfg.jid.clone(),
            cfg.token.clone(),
        ));
        let task = tokio::spawn(run(cfg, xmpp.clone(), rx, xmpp_task));
        Self { xmpp, task }
    }

    pub async fn stop(self) {
        self.xmpp.close().await;
        self.task.abort();
    }
}

async fn send(xmpp: &XmppHandle, to: &NxId, s: Signal) {
    if let Err(e) = xmpp.send_body(to, s.to_json()).await {
        tracing::warn!(error = %e, "echo: signal not sent");
    }
}

async fn run(
    cfg: EchoConfig,
    xmpp: XmppHandle,
    mut rx: mpsc::Receiver<XmppEvent>,
    xmpp_task: tokio::task::JoinHandle<()>,
) {
    let (ev_tx, mut ev_rx) = mpsc::channel::<(String, Ev)>(256);
    let mut calls: HashMap<String, EchoCall> = HashMap::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(XmppEvent::Message { from, body, delayed, .. }) => {
                    let Ok(signal) = Signal::parse(&body) else { continue };
                    handle(&cfg, &xmpp, &mut calls, &ev_tx, from, signal, delayed).await;
                }
                Some(XmppEvent::Failed(e)) => {
                    tracing::error!(error = %e, "echo contact signed out for good");
                    break;
                }
                Some(_) => {}
                None => break,
            },
            Some((room, ev)) = ev_rx.recv() => {
                let Some(call) = calls.get(&room) else { continue };
                match ev {
                    Ev::Candidate(c) => {
                        let s = Signal::IceCandidate { room_id: room.clone(), candidate: c.candidate, sdp_mid: c.sdp_mid, sdp_mline_index: c.sdp_mline_index };
                        send(&xmpp, &call.peer, s).await;
                    }
                    Ev::Failed => {
                        if let Some(call) = calls.remove(&room) {
                            send(&xmpp, &call.peer, Signal::CallEnd { room_id: room, timestamp: now_ms(), reason: Some(EndReason::Failed) }).await;
                            call.close().await;
                        }
                    }
                }
            }
            _ = sweep.tick() => {
                let expired: Vec<String> = calls
                    .iter()
                    .filter(|(_, c)| c.started.elapsed() > MAX_CALL || (!c.negotiation.has_remote_description() && c.started.elapsed() > OFFER_WAIT))
                    .map(|(r, _)| r.clone())
                    .collect();
                for room in expired {
                    if let Some(call) = calls.remove(&room) {
                        send(&xmpp, &call.peer, Signal::CallEnd { room_id: room, timestamp: now_ms(), reason: Some(EndReason::Timeout) }).await;
                        call.close().await;
                    }
                }
            }
        }
    }
    for (_, c) in calls.drain() {
        c.close().await;
    }
    xmpp_task.abort();
}

async fn handle(
    cfg: &EchoConfig,
    xmpp: &XmppHandle,
    calls: &mut HashMap<String, EchoCall>,
    ev_tx: &mpsc::Sender<(String, Ev)>,
    from: NxId,
    signal: Signal,
    delayed: bool,
) {
    match signal {
        Signal::CallInvitation {
            room_id, timestamp, ..
        } => {
            // Saturating: the timestamp is the caller's word and may be anything.
            if calls.contains_key(&room_id)
                || (delayed
                    && now_ms().saturating_sub(timestamp) > STALE_INVITATION.as_millis() as i64)
            {
                return;
            }
            if calls.len() >= MAX_CALLS
                || calls.values().filter(|c| c.peer == from).count() >= CALLS_PER_PEER
            {
                send(
                    xmpp,
                    &from,
                    Signal::CallResponse {
                        room_id: room_id.clone(),
                        accepted: false,
                        timestamp: now_ms(),
                    },
                )
                .await;
                return;
            }
            match EchoCall::start(&cfg.net, &room_id, from.clone(), ev_tx.clone()).await {
                Ok(call) => {
                    calls.insert(room_id.clone(), call);
                    send(
                        xmpp,
                        &from,
                        Signal::CallResponse {
                            room_id,
                            accepted: true,
                            timestamp: now_ms(),
                        },
                    )
                    .await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "echo: cannot start a session");
                    send(
                        xmpp,
                        &from,
                        Signal::CallResponse {
                            room_id,
                            accepted: false,
                            timestamp: now_ms(),
                        },
                    )
                    .await;
                }
            }
        }
        Signal::Offer { room_id, sdp, .. } => {
            let Some(call) = calls.get_mut(&room_id).filter(|c| c.peer == from) else {
                return;
            };
            match call.negotiation.apply_offer(sdp).await {
                Ok(answer) => {
                    send(
                        xmpp,
                        &from,
                        Signal::Answer {
                            room_id,
                            sdp: answer,
                            sdp_type: "answer".into(),
                        },
                    )
                    .await
                }
                Err(e) => {
                    tracing::info!(error = %e, "echo: bad offer");
                    if let Some(call) = calls.remove(&room_id) {
                        send(
                            xmpp,
                            &from,
                            Signal::CallEnd {
                                room_id,
                                timestamp: now_ms(),
                                reason: Some(EndReason::Failed),
                            },
                        )
                        .await;
                        call.close().await;
                    }
                }
            }
        }
        Signal::IceCandidate {
            room_id,
            candidate,
            sdp_mid,
            sdp_mline_index,
        } => {
            if let Some(call) = calls.get_mut(&room_id).filter(|c| c.peer == from) {
                let c = RTCIceCandidateInit {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    ..Default::default()
                };
                if let Err(e) = call.negotiation.add_candidate(c).await {
                    tracing::debug!(error = %e, "echo: candidate refused");
                }
            }
        }
        Signal::CallEnd { room_id, .. } if calls.get(&room_id).is_some_and(|c| c.peer == from) => {
            if let Some(call) = calls.remove(&room_id) {
                call.close().await;
            }
        }
        _ => {}
    }
}
