//! Starting a call's media session and adding video to it.

use crate::machine::Role;
use crate::media_session::{MediaSession, MediaSessionError, RemoteMedia, SendRate};
use crate::pipeline::MediaControl;
use crate::stats::StatsCollector;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl super::Driver {
    /// Opens the current camera and adds it to the call's media (an audio call turning video on).
    pub(super) async fn add_video(&mut self) -> Result<(), String> {
        let src = self
            .cfg
            .media
            .video
            .get(self.camera)
            .map(|(_, make)| make())
            .ok_or_else(|| "No camera to turn on.".to_string())?;
        self.stop_preview();
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| "No call.".to_string())?;
        session
            .control()
            .video_enabled
            .store(true, Ordering::Relaxed);
        session
            .add_video(src)
            .await
            .map_err(|e| format!("Cannot turn the camera on: {e}"))?;
        if let Some((role, audio, _)) = self.media_flags {
            self.media_flags = Some((role, audio, true));
        }
        Ok(())
    }

    pub(super) async fn start_media(
        &mut self,
        role: Role,
        audio: bool,
        video: bool,
    ) -> Result<(), MediaSessionError> {
        if let Some(old) = self.session.take() {
            old.close().await;
        }
        self.media_flags = Some((role, audio, video));
        // Each call's receive metrics start from zero (the old call's threads are joined).
        self.counters.reset();
        self.latency_seen = 0;
        self.estimate = None;
        let mut net = self.cfg.net.clone();
        match tokio::time::timeout(Duration::from_secs(5), self.cfg.rest.webrtc_credentials()).await
        {
            Ok(Ok(c)) => net.ice_servers = c.ice_servers,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "no ICE servers from the server; using host candidates only")
            }
            Err(_) => tracing::warn!("ICE server request timed out; using host candidates only"),
        }
        self.stop_preview();
        let control = MediaControl::new(self.quality, self.audio_on, self.video_on);
        let video_src = if video {
            self.cfg
                .media
                .video
                .get(self.camera)
                .map(|(_, make)| make())
        } else {
            None
        };
        let local = crate::media_session::LocalMedia {
            audio: if audio {
                Some((self.cfg.media.audio)(self.microphone.as_deref()))
            } else {
                None
            },
            codecs: self.cfg.media.codecs.clone(),
            apm: self
                .cfg
                .media
                .audio_processing
                .filter(|_| audio)
                .map(media::apm::AudioProcessor::new),
            video: video_src,
            control,
            preview: self.local_video.clone(),
        };
        self.output = self
            .cfg
            .media
            .output
            .clone()
            .map(|open| crate::pipeline::AudioOutput::new(open, self.speaker.clone()));
        let remote = RemoteMedia {
            video: self.remote_video.clone(),
            counters: self.counters.clone(),
            output: self.output.clone(),
        };
        // Start at the user's full rate: the controllers back off when the path says so.
        let start = u64::from(self.quality.video_kbps + self.quality.audio_kbps) * 1000;
        let rate = SendRate {
            start_bps: start,
            min_bps: 60_000,
            max_bps: start.max(60_000) * 5 / 2,
            // What we take in: twice the user's video rate to start (libwebrtc picks its first
            // resolution from the start rate: 720p wants about 1.5 Mbit/s), up to 2.5x it (its
            // own ceiling for 720p is 2.5 Mbit/s); the peer's estimator still rules beyond that.
            receive_start_kbps: self.quality.video_kbps.saturating_mul(2),
            receive_max_kbps: self.quality.video_kbps.saturating_mul(5) / 2,
        };
        let (session, rx) = MediaSession::start(&net, local, remote, rate).await?;
        self.session = Some(session);
        self.session_rx = Some(rx);
        self.rate = Some(peer::bwe::RateController::new(
            rate.start_bps,
            rate.min_bps,
            rate.max_bps,
        ));
        self.role = Some(role);
        self.collector = StatsCollector::default();
        Ok(())
    }
}
