//! The peer connection's callbacks: candidates out, connection state, remote tracks in.

use super::receiving::{run_remote_track, Routes};
use super::MediaSessionEvent;
use crate::pipeline::MediaControl;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::RTCPeerConnectionIceEvent;
use webrtc::peer_connection::{PeerConnectionEventHandler, RTCPeerConnectionState};

pub(super) struct Flow {
    pub(super) connected: AtomicBool,
    pub(super) got_media: AtomicBool,
    pub(super) reported: AtomicBool,
}

impl Flow {
    pub(super) async fn maybe_report(&self, events: &mpsc::Sender<MediaSessionEvent>) {
        if self.connected.load(Ordering::Acquire)
            && self.got_media.load(Ordering::Acquire)
            && !self.reported.swap(true, Ordering::AcqRel)
        {
            let _ = events.send(MediaSessionEvent::MediaFlowing).await;
        }
    }
}

/// Peer connection callbacks; each remote track's task gets the context `routes` gives it.
pub(super) struct Handler {
    pub(super) events: mpsc::Sender<MediaSessionEvent>,
    pub(super) flow: Arc<Flow>,
    pub(super) routes: Arc<Routes>,
    pub(super) tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Asked for a keyframe on connecting: frames encoded before that were never sent.
    pub(super) control: Arc<MediaControl>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                let _ = self
                    .events
                    .send(MediaSessionEvent::LocalCandidate(init))
                    .await;
            }
            Err(e) => tracing::warn!(error = %e, "unusable local candidate"),
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        match state {
            RTCPeerConnectionState::Connected => {
                self.flow.connected.store(true, Ordering::Release);
                self.control.request_keyframe_now();
                let _ = self.events.send(MediaSessionEvent::Connected).await;
                self.flow.reported.store(false, Ordering::Release);
                self.flow.maybe_report(&self.events).await;
            }
            RTCPeerConnectionState::Disconnected => {
                self.flow.connected.store(false, Ordering::Release);
                let _ = self.events.send(MediaSessionEvent::Disconnected).await;
            }
            RTCPeerConnectionState::Failed => {
                self.flow.connected.store(false, Ordering::Release);
                let _ = self
                    .events
                    .send(MediaSessionEvent::Failed("ICE connection failed".into()))
                    .await;
            }
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let label = if kind == RtpCodecKind::Video {
            "video"
        } else {
            "audio"
        };
        let _ = self
            .events
            .send(MediaSessionEvent::RemoteTrack(label))
            .await;
        let Some(ctx) = self.routes.for_track(&track).await else {
            return;
        };
        let task = tokio::spawn(run_remote_track(track, kind, ctx));
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }
}
