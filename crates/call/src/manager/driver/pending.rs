//! Long I/O the driver spawns instead of awaiting (REST, ICE servers, a session's start, a
//! token refresh), and what it does with each result: the loop never waits on the network.

use crate::machine::{Input, Role};
use crate::media_session::{MediaSession, MediaSessionError, MediaSessionEvent, SendRate};
use crate::pipeline::RecvCounters;
use crate::sfu::{SfuEvent, SfuLink};
use media::FrameSink;
use nx::rest::SfuGrant;
use nx::NxId;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long shutdown waits for spawned I/O, so a session being built is closed, not leaked.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(6);

/// One piece of spawned I/O, finished.
pub(super) enum Done {
    /// The REST registration of the dialled call in `room`: whether the server put it on its
    /// conference server.
    Registered {
        room: String,
        result: Result<bool, String>,
    },
    /// This side's link to the call's conference room, joined (or why not).
    ConferenceJoined(Box<Result<ConferenceJoin, String>>),
    MediaStarted(Box<MediaStart>),
    /// A refreshed NX token for signaling.
    Token(Result<String, String>),
    /// A renewed grant for the conference room `room` (its Janus tokens), or why not.
    GrantRenewed {
        room: String,
        result: Result<SfuGrant, String>,
    },
}

/// A media session's start, and what it was started for.
pub(super) struct MediaStart {
    /// Which start this is; the driver keeps only the latest.
    pub attempt: u64,
    pub room: String,
    pub peer: NxId,
    pub video_sink: Arc<FrameSink>,
    pub role: Role,
    pub audio: bool,
    pub video: bool,
    pub counters: Arc<RecvCounters>,
    pub rate: SendRate,
    pub started: Result<(MediaSession, mpsc::Receiver<MediaSessionEvent>), MediaSessionError>,
}

/// A joined conference link, with the feeds already publishing and the link's events.
pub(super) struct ConferenceJoin {
    pub room: String,
    pub link: SfuLink,
    pub publishing: Vec<u64>,
    pub events: mpsc::Receiver<SfuEvent>,
}

impl super::Driver {
    pub(super) async fn done(&mut self, done: Done) {
        match done {
            Done::Registered { room, result } => {
                if self.machine.room() != Some(room.as_str()) {
                    return;
                }
                let input = match result {
                    Ok(on_conference) => {
                        if on_conference {
                            let now = Instant::now();
                            let actions = self
                                .machine
                                .handle(Input::OnConference { room: room.clone() }, now);
                            self.execute(actions).await;
                        }
                        Input::Registered { room }
                    }
                    Err(message) => {
                        tracing::info!(error = %message, "call registration failed");
                        Input::DialFailed { message }
                    }
                };
                let actions = self.machine.handle(input, Instant::now());
                self.execute(actions).await;
            }
            Done::MediaStarted(m) => self.media_started(*m).await,
            Done::ConferenceJoined(j) => self.conference_joined(*j).await,
            Done::Token(result) => self.token_refreshed(result),
            Done::GrantRenewed { room, result } => self.grant_renewed(&room, result),
        }
    }

    /// Waits a little for spawned I/O at shutdown and closes any session it built.
    pub(super) async fn drain_pending(&mut self) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        while let Ok(Some(res)) = tokio::time::timeout_at(deadline, self.pending.join_next()).await
        {
            match res {
                Ok(Done::MediaStarted(m)) => {
                    if let Ok((session, _)) = m.started {
                        session.close().await;
                    }
                }
                Ok(Done::ConferenceJoined(j)) => {
                    if let Ok(j) = *j {
                        j.link.close().await;
                    }
                }
                _ => {}
            }
        }
        self.pending.shutdown().await;
    }
}
