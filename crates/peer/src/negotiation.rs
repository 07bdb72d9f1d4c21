//! Offer and answer on one peer connection, with trickled candidates: those that come before
//! the remote description wait (a bounded number), and the peer's DTLS identity is kept so an
//! offer from a new peer connection can be told from a renegotiation.

use crate::{rtc_err, PeerError};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use std::sync::Arc;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::PeerConnection;

/// Candidates kept while the remote description is not yet set; more are dropped (a real peer
/// sends a handful; ICE still works with the ones kept).
pub const MAX_PENDING_CANDIDATES: usize = 200;

/// The signaling side of one peer connection.
pub struct Negotiation {
    pc: Arc<dyn PeerConnection>,
    remote_set: bool,
    pending: Vec<RTCIceCandidateInit>,
    remote_fingerprint: Option<String>,
    /// The peer's ICE username fragment: a new one means the peer restarted its ICE.
    remote_ufrag: Option<String>,
}

impl Negotiation {
    pub fn new(pc: Arc<dyn PeerConnection>) -> Self {
        Self {
            pc,
            remote_set: false,
            pending: Vec::new(),
            remote_fingerprint: None,
            remote_ufrag: None,
        }
    }

    pub fn peer_connection(&self) -> &Arc<dyn PeerConnection> {
        &self.pc
    }

    /// Whether an offer or answer from the peer has been applied.
    pub fn has_remote_description(&self) -> bool {
        self.remote_set
    }

    /// Creates and applies an offer (with an ICE restart if asked); returns its SDP.
    pub async fn create_offer(&mut self, ice_restart: bool) -> Result<String, PeerError> {
        if ice_restart {
            self.pc.restart_ice().await.map_err(rtc_err)?;
        }
        let offer = self.pc.create_offer(None).await.map_err(rtc_err)?;
        let sdp = offer.sdp.clone();
        self.pc
            .set_local_description(offer)
            .await
            .map_err(rtc_err)?;
        Ok(sdp)
    }

    /// Applies the peer's offer and returns our answer's SDP.
    pub async fn apply_offer(&mut self, sdp: String) -> Result<String, PeerError> {
        self.note_remote(&sdp);
        let desc = RTCSessionDescription::offer(sdp).map_err(|e| PeerError::Sdp(e.to_string()))?;
        self.set_remote(desc).await?;
        let answer = self.pc.create_answer(None).await.map_err(rtc_err)?;
        let out = answer.sdp.clone();
        self.pc
            .set_local_description(answer)
            .await
            .map_err(rtc_err)?;
        Ok(out)
    }

    /// Applies the peer's answer to our offer.
    pub async fn apply_answer(&mut self, sdp: String) -> Result<(), PeerError> {
        self.note_remote(&sdp);
        let desc = RTCSessionDescription::answer(sdp).map_err(|e| PeerError::Sdp(e.to_string()))?;
        self.set_remote(desc).await
    }

    async fn set_remote(&mut self, desc: RTCSessionDescription) -> Result<(), PeerError> {
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| PeerError::Sdp(e.to_string()))?;
        self.remote_set = true;
        for c in std::mem::take(&mut self.pending) {
            if let Err(e) = self.pc.add_ice_candidate(c).await {
                tracing::debug!(error = %e, "buffered candidate refused");
            }
        }
        Ok(())
    }

    /// Adds a remote candidate, or keeps it until the remote description is set.
    pub async fn add_candidate(&mut self, c: RTCIceCandidateInit) -> Result<(), PeerError> {
        if c.candidate.trim().is_empty() {
            return Ok(());
        }
        if !self.remote_set {
            if self.pending.len() < MAX_PENDING_CANDIDATES {
                self.pending.push(c);
            }
            return Ok(());
        }
        self.pc.add_ice_candidate(c).await.map_err(rtc_err)
    }

    /// Whether `sdp` comes from a new peer connection (another DTLS identity than the one we
    /// talk to): the peer set the call up again, so this connection cannot take it.
    pub fn is_from_new_peer_connection(&self, sdp: &str) -> bool {
        match (&self.remote_fingerprint, attribute(sdp, "fingerprint")) {
            (Some(old), Some(new)) => old != new,
            _ => false,
        }
    }

    /// The ICE username fragment of the peer's latest description.
    pub fn remote_ice_ufrag(&self) -> Option<&str> {
        self.remote_ufrag.as_deref()
    }

    /// Keeps what later descriptions are compared with.
    fn note_remote(&mut self, sdp: &str) {
        self.remote_fingerprint = attribute(sdp, "fingerprint").map(str::to_owned);
        self.remote_ufrag = attribute(sdp, "ice-ufrag").map(str::to_owned);
    }

    /// Closes the peer connection.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!(error = %e, "close");
        }
    }
}

/// The DTLS certificate fingerprint an SDP announces.
/// The first `a=<name>:` attribute's value in `sdp`.
fn attribute<'a>(sdp: &'a str, name: &str) -> Option<&'a str> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=")?.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Asks the sender of `track` for a keyframe (a Picture Loss Indication, RFC 4585).
pub async fn request_keyframe(track: &Arc<dyn TrackRemote>, ssrc: u32) -> Result<(), PeerError> {
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc: ssrc,
    };
    track.write_rtcp(vec![Box::new(pli)]).await.map_err(rtc_err)
}
