//! Starting a call's media session off the driver's loop, and adding video to it.

use super::legs::LegMedia;
use super::pending::{Done, MediaStart};
use crate::machine::{CallEvent, Input, Role};
use crate::media_session::{MediaSession, RemoteMedia, SendRate};
use crate::outgoing::Outgoing;
use crate::pipeline::{AudioMix, AudioOutput, Encoded, MediaControl, RecvCounters};
use crate::stats::StatsCollector;
use media::FrameSink;
use nx::NxId;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the ICE-server request may hold a call's set-up before it goes on without them.
const ICE_SERVERS_WAIT: Duration = Duration::from_secs(5);

impl super::Driver {
    /// Turns the camera on for the leg to `peer` (an audio call turning video on): the call's
    /// video encoder starts with the current camera if it has not yet.
    pub(super) async fn add_video(&mut self, peer: &NxId) -> Result<(), String> {
        let rx = self.start_camera()?;
        let leg = self.leg_mut(peer).ok_or_else(|| "No call.".to_string())?;
        leg.session
            .add_video(rx)
            .await
            .map_err(|e| format!("Cannot turn the camera on: {e}"))
    }

    /// Turns the camera on in a conference call that started without it: the link publishes
    /// it to the room (a renegotiation with Janus, off the loop).
    pub(super) fn publish_video(&mut self) -> Result<(), String> {
        let rx = self.start_camera()?;
        let conf = self
            .conference
            .as_ref()
            .ok_or_else(|| "No call.".to_string())?;
        conf.link.add_video(rx);
        Ok(())
    }

    /// Starts the call's video encoder with the current camera if it has not yet; returns a
    /// queue of what it encodes.
    fn start_camera(&mut self) -> Result<tokio::sync::mpsc::Receiver<Encoded>, String> {
        self.stop_preview();
        let camera = self.current_camera();
        let outgoing = self
            .outgoing
            .as_mut()
            .ok_or_else(|| "No call.".to_string())?;
        if !outgoing.has_video() {
            let make = camera.ok_or_else(|| "No camera to turn on.".to_string())?;
            outgoing
                .add_video(make())
                .map_err(|e| format!("Cannot turn the camera on: {e}"))?;
        }
        outgoing
            .control()
            .video_enabled
            .store(true, Ordering::Relaxed);
        outgoing
            .subscribe_video()
            .ok_or_else(|| "No camera to turn on.".to_string())
    }

    /// What opens the camera in use.
    fn current_camera(&self) -> Option<crate::OpenVideo> {
        self.cfg
            .media
            .video
            .get(self.camera)
            .map(|(_, make)| make.clone())
    }

    /// Closes every leg and the call's encoders (in the background) and forgets every start
    /// under way.
    pub(super) fn stop_all_media(&mut self) {
        self.starting.clear();
        self.leave_conference();
        for leg in std::mem::take(&mut self.legs) {
            self.chores.spawn(leg.close());
        }
        if let Some(o) = self.outgoing.take() {
            self.chores.spawn(o.close());
        }
        if let Some(m) = self.mix.take() {
            self.chores.spawn(async move {
                let _ = tokio::task::spawn_blocking(move || m.close()).await;
            });
        }
        self.output = None;
        self.outgoing_errors = None;
        self.primary = None;
        self.publish_legs();
    }

    /// The call's encoders, started with the first leg: the microphone and (for a video
    /// call) the current camera, opened once for every leg.
    pub(super) fn outgoing(&mut self, audio: bool, video: bool) -> Result<&mut Outgoing, String> {
        if self.outgoing.is_none() {
            let control = MediaControl::new(self.quality, self.audio_on, self.video_on);
            let apm = self
                .cfg
                .media
                .audio_processing
                .filter(|_| audio)
                .map(media::apm::AudioProcessor::new);
            let mic = audio.then(|| (self.cfg.media.audio)(self.microphone.as_deref()));
            let (o, errors) = Outgoing::start(mic, apm, control, self.local_video.clone())
                .map_err(|e| format!("cannot start the microphone: {e}"))?;
            self.outgoing = Some(o);
            self.outgoing_errors = Some(errors);
        }
        let camera = self.current_camera();
        let o = self
            .outgoing
            .as_mut()
            .ok_or_else(|| "no outgoing media".to_string())?;
        if video && !o.has_video() {
            if let Some(make) = camera {
                o.add_video(make())
                    .map_err(|e| format!("cannot start the camera: {e}"))?;
            }
        }
        Ok(o)
    }

    /// The call's audio mixer and playback, started with the first leg and shared by all:
    /// the speaker plays one mix and echo cancellation hears it as the far end.
    pub(super) fn audio_mix(&mut self) -> Result<Arc<AudioMix>, String> {
        if let Some(m) = &self.mix {
            return Ok(m.clone());
        }
        let output = self
            .cfg
            .media
            .output
            .clone()
            .map(|open| AudioOutput::new(open, self.speaker.clone()));
        let apm = self.outgoing.as_ref().and_then(|o| o.apm().cloned());
        let mix = AudioMix::start(apm, output.clone())
            .map_err(|e| format!("cannot start audio playback: {e}"))?;
        self.output = output;
        self.mix = Some(mix.clone());
        Ok(mix)
    }

    /// Gives the leg to `peer` its share of the call's encoders and spawns the rest of its
    /// start (ICE servers, the peer connection); `media_started` takes the result. A leg
    /// already there for `peer` is replaced.
    pub(super) fn start_media(
        &mut self,
        peer: NxId,
        role: Role,
        room: String,
        audio: bool,
        video: bool,
    ) -> Result<(), String> {
        self.stop_leg(&peer);
        self.stop_preview();
        let send = self.outgoing(audio, video)?.subscribe();
        let mix = self.audio_mix()?;
        self.media_attempt += 1;
        let attempt = self.media_attempt;
        self.starting.push((peer.clone(), attempt));
        let primary_gone = self.primary.as_ref().is_none_or(|p| {
            *p != peer && self.leg(p).is_none() && !self.starting.iter().any(|(q, _)| q == p)
        });
        if primary_gone {
            self.primary = Some(peer.clone());
        }
        // The first member's picture goes to the handle's `remote_video`; others get their own.
        let video_sink = if self.primary.as_ref() == Some(&peer) {
            self.remote_video.clone()
        } else {
            FrameSink::new()
        };
        // Each leg counts from zero in counters of its own, dropped with it.
        self.legs_started += 1;
        let counters = Arc::new(RecvCounters::for_call(self.legs_started));
        let remote = RemoteMedia {
            video: video_sink.clone(),
            counters: counters.clone(),
            audio: mix,
        };
        let rate = self.send_rate();
        let codecs = self.cfg.media.codecs.clone();
        let rest = self.cfg.rest.clone();
        let mut net = self.cfg.net.clone();
        self.pending.spawn(async move {
            match tokio::time::timeout(ICE_SERVERS_WAIT, rest.webrtc_credentials()).await {
                Ok(Ok(c)) => net.ice_servers = c.ice_servers,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "no ICE servers from the server; using host candidates only")
                }
                Err(_) => {
                    tracing::warn!("ICE server request timed out; using host candidates only")
                }
            }
            let started = MediaSession::start(&net, send, &codecs, Some(remote), rate).await;
            Done::MediaStarted(Box::new(MediaStart {
                attempt,
                room,
                peer,
                video_sink,
                role,
                audio,
                video,
                counters,
                rate,
                started,
            }))
        });
        Ok(())
    }

    /// The send and receive rates a new session starts from, after the user's quality.
    pub(super) fn send_rate(&self) -> SendRate {
        // Start at the user's full rate: the controllers back off when the path says so.
        let start = u64::from(self.quality.video_kbps + self.quality.audio_kbps) * 1000;
        SendRate {
            start_bps: start,
            min_bps: 60_000,
            max_bps: start.max(60_000) * 5 / 2,
            // What we take in: twice the user's video rate to start (libwebrtc picks its first
            // resolution from the start rate: 720p wants about 1.5 Mbit/s), up to 2.5x it (its
            // own ceiling for 720p is 2.5 Mbit/s); the peer's estimator still rules beyond that.
            receive_start_kbps: self.quality.video_kbps.saturating_mul(2),
            receive_max_kbps: self.quality.video_kbps.saturating_mul(5) / 2,
        }
    }

    /// A spawned start finished: the latest one for its member becomes that leg's media and
    /// the machine hears it is ready; one replaced meanwhile is closed.
    pub(super) async fn media_started(&mut self, m: MediaStart) {
        let current = self
            .starting
            .iter()
            .position(|(p, a)| *p == m.peer && *a == m.attempt);
        let (session, rx) = match (m.started, current) {
            (Ok(s), Some(i)) => {
                self.starting.remove(i);
                s
            }
            (Ok((stale, _)), None) => {
                self.chores.spawn(stale.close());
                return;
            }
            (Err(_), None) => return,
            (Err(e), Some(i)) => {
                self.starting.remove(i);
                tracing::warn!(error = %e, peer = %m.peer, "media start failed");
                let actions = self.machine.handle(
                    Input::MediaError {
                        message: format!("cannot start media: {e}"),
                    },
                    Instant::now(),
                );
                self.execute(actions).await;
                return;
            }
        };
        let forward = LegMedia::spawn_forwarder(m.peer.clone(), rx, self.leg_events_tx.clone());
        self.legs.push(LegMedia {
            peer: m.peer.clone(),
            session,
            role: m.role,
            rate: peer::bwe::RateController::new(m.rate.start_bps, m.rate.min_bps, m.rate.max_bps),
            estimate: None,
            counters: m.counters,
            video: m.video_sink,
            collector: StatsCollector::default(),
            latency_seen: 0,
            forward,
        });
        self.publish_legs();
        self.emit(CallEvent::LocalMediaAvailable {
            audio: m.audio,
            video: m.video,
        });
        let actions = self.machine.handle(
            Input::MediaReady {
                room: m.room,
                peer: m.peer,
            },
            Instant::now(),
        );
        self.execute(actions).await;
    }
}
