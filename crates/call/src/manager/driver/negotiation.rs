//! Offers, answers and candidates between the machine and the peer connection.

use crate::machine::{Action, Input};
use crate::media_session::MediaSessionError;
use nx::signal::Signal;
use nx::NxId;
use std::time::Instant;

impl super::Driver {
    pub(super) async fn offer(
        &mut self,
        room: &str,
        peer: &NxId,
        restart: bool,
        queue: &mut std::collections::VecDeque<Action>,
    ) {
        let Some(leg) = self.leg_mut(peer) else {
            return;
        };
        match leg.session.create_offer(restart).await {
            Ok(sdp) => {
                let signal = Signal::Offer {
                    room_id: room.to_string(),
                    sdp,
                    sdp_type: "offer".into(),
                };
                self.send_signal(peer, &signal).await;
            }
            Err(e) => queue.extend(self.machine.handle(
                Input::MediaError {
                    message: e.to_string(),
                },
                Instant::now(),
            )),
        }
    }

    pub(super) async fn apply_remote(
        &mut self,
        peer: NxId,
        signal: Signal,
        queue: &mut std::collections::VecDeque<Action>,
    ) {
        let Some(room) = self.machine.room().map(str::to_string) else {
            return;
        };
        let Some(leg) = self.leg_mut(&peer) else {
            return;
        };
        if let Signal::Offer { sdp, .. } = &signal {
            if leg.session.is_from_new_peer_connection(sdp) {
                queue.extend(self.machine.handle(
                    Input::PeerRestarted {
                        peer,
                        offer: signal,
                    },
                    Instant::now(),
                ));
                return;
            }
        }
        let s = &mut leg.session;
        let res: Result<(), MediaSessionError> = match signal {
            Signal::Offer { sdp, .. } => match s.apply_offer(sdp).await {
                Ok(answer) => {
                    let signal = Signal::Answer {
                        room_id: room,
                        sdp: answer,
                        sdp_type: "answer".into(),
                    };
                    self.send_signal(&peer, &signal).await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Signal::Answer { sdp, .. } => s.apply_answer(sdp).await,
            Signal::IceCandidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
                ..
            } => {
                let init = rtc::peer_connection::transport::RTCIceCandidateInit {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    ..Default::default()
                };
                if let Err(e) = s.add_candidate(init).await {
                    tracing::debug!(error = %e, "remote candidate refused");
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, %peer, "remote description refused");
            queue.extend(self.machine.handle(
                Input::MediaError {
                    message: e.to_string(),
                },
                Instant::now(),
            ));
        }
    }
}
