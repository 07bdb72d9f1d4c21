//! The call's media on the conference server (protocol.md §4.3): joining the room off the
//! driver's loop, receiving each member's feed into its own sinks, and the link's events as
//! machine inputs.

use super::legs::ParticipantMedia;
use super::pending::{ConferenceJoin, Done};
use crate::machine::{ConferenceLink, Input};
use crate::media_session::{MediaSessionEvent, RemoteMedia};
use crate::pipeline::{RecvCounters, SendCounters};
use crate::sfu::{SfuEvent, SfuHandle, SfuLink};
use crate::stats::StatsCollector;
use media::FrameSink;
use nx::rest::SfuGrant;
use nx::NxId;
use peer::bwe::EstimateReadout;
use peer::RembCap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the conference tokens and ICE servers may hold the join before it fails.
const JOIN_WAIT: Duration = Duration::from_secs(20);
/// How long a grant renewal may take, and the bounds on the wait before retrying a failed one.
const RENEW_WAIT: Duration = Duration::from_secs(20);
const RENEW_RETRY_MIN: Duration = Duration::from_secs(5);
const RENEW_RETRY_MAX: Duration = Duration::from_secs(30);

/// How long to use a grant that expires at `expires_at` (unix seconds) before fetching the
/// next: three quarters of what is left, so a failed fetch has time for retries before Janus
/// refuses the old tokens (it checks their expiry on every request, keepalives included).
fn renew_after(expires_at: u64, now_unix: u64) -> Duration {
    Duration::from_secs(expires_at.saturating_sub(now_unix) * 3 / 4)
}

fn unix_now() -> u64 {
    u64::try_from(nx::signal::now_ms() / 1000).unwrap_or(0)
}

/// The live link to the call's room and what is received through it.
pub(super) struct ConferenceMedia {
    pub room: String,
    pub link: SfuHandle,
    pub events: mpsc::Receiver<SfuEvent>,
    /// Each member received, with its feed.
    pub members: Vec<(u64, ParticipantMedia)>,
    /// The publishing connection's delay-based estimate.
    pub estimate: Arc<EstimateReadout>,
    /// The cap Janus sends the publisher by REMB (the room's bitrate, ramped up at the start).
    pub remb: Arc<RembCap>,
    /// The room's cap on this member's video as the grant told it, bit/s (0: none), until
    /// Janus's own REMB arrives.
    pub cap_bps: u64,
    /// When to fetch a new grant, and whether a fetch is under way.
    pub renew_at: Instant,
    pub renewing: bool,
    /// When the tokens in use expire (unix seconds).
    pub expires_at: u64,
    /// What the publishing connection counts of what it sends, and the stats stream's state.
    pub send_counters: Arc<SendCounters>,
    pub collector: StatsCollector,
    pub latency_seen: u64,
}

impl ConferenceMedia {
    /// What the publisher may send, bit/s, and what decided it: the delay-based estimate under
    /// Janus's REMB cap (or, before the first REMB, the cap the grant announced).
    pub fn send_budget(&self, now: Instant) -> Option<(u64, &'static str)> {
        let estimate = self.estimate.estimate(now, Duration::from_secs(2));
        let cap = match self.remb.get() {
            Some(c) => Some((c, "remb")),
            None => (self.cap_bps > 0).then_some((self.cap_bps, "grant")),
        };
        match (estimate, cap) {
            (Some(e), Some((c, by))) if c < e => Some((c, by)),
            (Some(e), _) => Some((e, "delay")),
            (None, cap) => cap,
        }
    }
}

impl super::Driver {
    /// Fetches this member's tokens and joins the room with the call's media, off the loop.
    pub(super) fn join_conference(&mut self, room: String) -> Result<(), String> {
        self.stop_preview();
        let (audio, video) = (self.audio_on, self.video_on);
        let send = self.outgoing(audio, video)?.subscribe();
        self.audio_mix()?;
        let rate = self.send_rate();
        let codecs = self.cfg.media.codecs.clone();
        let rest = self.cfg.rest.clone();
        let mut net = self.cfg.net.clone();
        let display = self.cfg.jid.to_string();
        self.pending.spawn(async move {
            let joined = tokio::time::timeout(JOIN_WAIT, async {
                let grant = rest
                    .sfu_grant(&room)
                    .await
                    .map_err(|e| format!("no conference tokens: {e}"))?;
                if let Ok(c) = rest.webrtc_credentials().await {
                    net.ice_servers = c.ice_servers;
                }
                let (link, publishing, events) =
                    SfuLink::join(&grant, &display, &net, send, &codecs, rate)
                        .await
                        .map_err(|e| format!("cannot join the conference: {e}"))?;
                Ok(ConferenceJoin {
                    room,
                    link,
                    publishing: publishing.iter().map(|f| f.id).collect(),
                    events,
                })
            })
            .await
            .unwrap_or_else(|_| Err("the conference server did not answer in time".into()));
            Done::ConferenceJoined(Box::new(joined))
        });
        Ok(())
    }

    /// The join finished: this side publishes (the machine hears its feed), or the call fails.
    pub(super) async fn conference_joined(&mut self, joined: Result<ConferenceJoin, String>) {
        let now = Instant::now();
        let j = match joined {
            Ok(j) if self.machine.room() == Some(j.room.as_str()) => j,
            Ok(stale) => {
                self.chores.spawn(stale.link.close());
                return;
            }
            Err(message) => {
                let actions = self.machine.handle(Input::MediaError { message }, now);
                self.execute(actions).await;
                return;
            }
        };
        let feed = j.link.feed();
        let estimate = j.link.send_estimate();
        let remb = j.link.remb();
        let cap_bps = u64::from(j.link.bitrate_cap());
        let expires_at = j.link.expires_at();
        let send_counters = j.link.send_counters();
        let (tx, rx) = mpsc::channel(64);
        let mut events = j.events;
        // The link's own events and its requests' trouble arrive on one channel.
        let forward = tx.clone();
        self.chores.spawn(async move {
            while let Some(e) = events.recv().await {
                if forward.send(e).await.is_err() {
                    return;
                }
            }
        });
        self.conference = Some(ConferenceMedia {
            room: j.room,
            link: SfuHandle::spawn(j.link, tx),
            events: rx,
            members: Vec::new(),
            estimate,
            remb,
            cap_bps,
            renew_at: now + renew_after(expires_at, unix_now()),
            renewing: false,
            expires_at,
            send_counters,
            collector: StatsCollector::default(),
            latency_seen: 0,
        });
        let mut actions = self.machine.handle(Input::ConferenceJoined { feed }, now);
        actions.extend(self.machine.handle(
            Input::FeedsPublished {
                feeds: j.publishing,
            },
            now,
        ));
        self.execute(actions).await;
    }

    /// What the link reports, as the machine's inputs.
    pub(super) async fn conference_event(&mut self, e: SfuEvent) {
        let input = match e {
            SfuEvent::Published(feeds) => Input::FeedsPublished {
                feeds: feeds.iter().map(|f| f.id).collect(),
            },
            SfuEvent::FeedGone(feed) => Input::FeedGone { feed },
            SfuEvent::RoomClosed => Input::MediaError {
                message: "the conference room closed".into(),
            },
            SfuEvent::Media(ConferenceLink::Subscribe, MediaSessionEvent::MediaFlowing) => {
                Input::ConferenceFlowing
            }
            SfuEvent::Media(link, MediaSessionEvent::Connected) => Input::ConferenceLinkUp { link },
            SfuEvent::Media(link, MediaSessionEvent::Disconnected) => {
                Input::ConferenceLinkDown { link, failed: None }
            }
            SfuEvent::Media(link, MediaSessionEvent::Failed(reason)) => Input::ConferenceLinkDown {
                link,
                failed: Some(reason),
            },
            SfuEvent::Trouble(message) => {
                tracing::warn!(%message, "conference request failed");
                return;
            }
            other => {
                tracing::debug!(event = ?other, "conference");
                return;
            }
        };
        let actions = self.machine.handle(input, Instant::now());
        self.execute(actions).await;
    }

    /// Receives `peer`'s feed into sinks and counters of its own.
    pub(super) fn receive_feed(&mut self, peer: NxId, feed: u64) -> Result<(), String> {
        let mix = self.audio_mix()?;
        let first = self
            .conference
            .as_ref()
            .is_some_and(|c| c.members.is_empty());
        let Some(conf) = self.conference.as_mut() else {
            return Ok(());
        };
        self.legs_started += 1;
        let video = if first {
            self.remote_video.clone()
        } else {
            FrameSink::new()
        };
        let counters = Arc::new(RecvCounters::for_call(self.legs_started));
        conf.link.receive(
            feed,
            RemoteMedia {
                video: video.clone(),
                counters: counters.clone(),
                audio: mix,
            },
        );
        conf.members.push((
            feed,
            ParticipantMedia {
                nx_id: peer,
                video,
                counters,
            },
        ));
        self.publish_legs();
        Ok(())
    }

    pub(super) fn stop_feed(&mut self, feed: u64) {
        if let Some(conf) = self.conference.as_mut() {
            conf.link.stop_receiving(feed);
            conf.members.retain(|(f, _)| *f != feed);
        }
        self.publish_legs();
    }

    /// The encoder follows the publishing connection's estimate, under Janus's REMB cap (or,
    /// before the first REMB, the cap the grant announced).
    pub(super) fn step_conference_rate(&self) {
        let (Some(conf), Some(o)) = (&self.conference, &self.outgoing) else {
            return;
        };
        if let Some((bps, _)) = conf.send_budget(Instant::now()) {
            o.control().set_estimate(peer::bwe::media_budget(bps));
        }
    }

    /// Fetches a new grant off the loop once the one in use is three quarters through.
    pub(super) fn renew_conference_grant(&mut self) {
        let Some(conf) = self.conference.as_mut() else {
            return;
        };
        if conf.renewing || Instant::now() < conf.renew_at {
            return;
        }
        conf.renewing = true;
        let room = conf.room.clone();
        let rest = self.cfg.rest.clone();
        self.pending.spawn(async move {
            let result = match tokio::time::timeout(RENEW_WAIT, rest.sfu_grant(&room)).await {
                Ok(Ok(grant)) => Ok(grant),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the server did not answer in time".into()),
            };
            Done::GrantRenewed { room, result }
        });
    }

    /// A renewed grant: the link sends its tokens from now on; a failure is retried while the
    /// old tokens last (and after, in case the server comes back before Janus gives up).
    pub(super) fn grant_renewed(&mut self, room: &str, result: Result<SfuGrant, String>) {
        let Some(conf) = self.conference.as_mut().filter(|c| c.room == room) else {
            return;
        };
        conf.renewing = false;
        let (now, now_unix) = (Instant::now(), unix_now());
        let retry = renew_after(conf.expires_at, now_unix).clamp(RENEW_RETRY_MIN, RENEW_RETRY_MAX);
        match result {
            Ok(grant) => {
                let expires_at = grant.expires_at;
                let cap = u64::from(grant.bitrate);
                if conf.link.renew(grant) {
                    tracing::debug!(room, expires_at, "conference tokens renewed");
                    conf.expires_at = expires_at;
                    conf.cap_bps = cap;
                    // At least the retry pause, even for a grant that is nearly spent.
                    conf.renew_at = now + renew_after(expires_at, now_unix).max(RENEW_RETRY_MIN);
                } else {
                    conf.renew_at = now + retry;
                }
            }
            Err(e) => {
                tracing::warn!(room, error = %e, "conference tokens not renewed; retrying");
                conf.renew_at = now + retry;
            }
        }
    }

    /// Leaves the room in the background.
    pub(super) fn leave_conference(&mut self) {
        if let Some(conf) = self.conference.take() {
            tracing::debug!(room = %conf.room, "leaving the conference");
            self.chores.spawn(conf.link.close());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::renew_after;
    use std::time::Duration;

    #[test]
    fn a_grant_is_renewed_three_quarters_through_what_is_left_of_it() {
        let four_hours = 4 * 3600;
        assert_eq!(
            renew_after(1_000 + four_hours, 1_000),
            Duration::from_secs(3 * 3600)
        );
        assert_eq!(renew_after(1_020, 1_000), Duration::from_secs(15));
        assert_eq!(renew_after(1_000, 1_000), Duration::ZERO, "due now");
        assert_eq!(renew_after(900, 1_000), Duration::ZERO, "already expired");
    }
}
