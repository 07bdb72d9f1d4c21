//! A member's link to the conference server (Janus VideoRoom, docs/protocol.md §4.3): one peer
//! connection publishing the call's one encoded stream, and one multistream connection
//! receiving every other member's feed, each routed to that member's sinks and counters.

mod actor;
#[cfg(test)]
mod tests;

pub use actor::SfuHandle;

pub use crate::machine::ConferenceLink;
use crate::media_session::{
    MediaSession, MediaSessionError, MediaSessionEvent, RawStats, RemoteMedia, SendRate,
};
use crate::outgoing::LegSend;
use crate::pipeline::{Encoded, SendCounters};
use media::codec::VideoCodec;
use nx::janus::videoroom::{self, Feed, RoomEvent};
use nx::janus::{JanusConfig, JanusError, JanusEvent, JanusHandle, JanusSession};
use nx::rest::SfuGrant;
use peer::bwe::EstimateReadout;
use peer::{NetConfig, RembCap};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Events queued for the link's owner.
const EVENT_QUEUE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum SfuLinkError {
    #[error(transparent)]
    Janus(#[from] JanusError),
    #[error(transparent)]
    Media(#[from] MediaSessionError),
}

/// What the link reports to its owner.
#[derive(Debug, Clone)]
pub enum SfuEvent {
    /// Feeds that started publishing (to be mapped to members over NX, then subscribed).
    Published(Vec<Feed>),
    /// A feed stopped publishing or left.
    FeedGone(u64),
    /// The room is gone or this member was put out of it: the conference is over here.
    RoomClosed,
    /// A connection's state.
    Media(ConferenceLink, MediaSessionEvent),
    /// A request to the conference server failed (the call goes on without what it asked).
    Trouble(String),
}

/// A live link to a call's Janus room.
pub struct SfuLink {
    janus: JanusSession,
    grant: SfuGrant,
    /// This member's feed and the private id its subscription is tied to.
    feed: u64,
    private_id: u64,
    publisher: JanusHandle,
    publish: MediaSession,
    subscriber: Option<(JanusHandle, MediaSession)>,
    /// The feeds received, and where each goes.
    subscribed: BTreeMap<u64, RemoteMedia>,
    /// A feed was dropped from the subscription, leaving an m-line Janus would reuse.
    recycled: bool,
    net: NetConfig,
    codecs: Vec<VideoCodec>,
    rate: SendRate,
    events: mpsc::Sender<SfuEvent>,
    /// Candidate and event forwarders; aborted on close.
    tasks: Vec<JoinHandle<()>>,
}

impl SfuLink {
    /// Joins the room of `grant` and publishes `local`; returns the link, the feeds already
    /// publishing, and the link's events.
    pub async fn join(
        grant: &SfuGrant,
        display: &str,
        net: &NetConfig,
        local: LegSend,
        codecs: &[VideoCodec],
        rate: SendRate,
    ) -> Result<(Self, Vec<Feed>, mpsc::Receiver<SfuEvent>), SfuLinkError> {
        let cfg = JanusConfig {
            url: grant.url.clone(),
            token: Some(grant.token.clone()),
        };
        let (janus, janus_events) = JanusSession::connect(&cfg).await?;
        let handle = janus.attach(videoroom::PLUGIN).await?;
        let joined =
            videoroom::join_publisher(&handle, grant.janus_room, &grant.room_token, display)
                .await?;
        let (events, events_rx) = mpsc::channel(EVENT_QUEUE);
        let mut tasks = vec![tokio::spawn(forward_room_events(
            janus_events,
            events.clone(),
        ))];
        let (mut publish, media_events) =
            MediaSession::start(net, local, codecs, None, rate).await?;
        tasks.push(tokio::spawn(forward_media(
            media_events,
            handle.clone(),
            ConferenceLink::Publish,
            events.clone(),
        )));
        let offer = publish.create_offer(false).await?;
        let answer = videoroom::publish(&handle, &offer).await?;
        publish.apply_answer(answer).await?;
        let link = Self {
            janus,
            grant: grant.clone(),
            feed: joined.id,
            private_id: joined.private_id,
            publisher: handle,
            publish,
            subscriber: None,
            subscribed: BTreeMap::new(),
            recycled: false,
            net: net.clone(),
            codecs: codecs.to_vec(),
            rate,
            events,
            tasks,
        };
        Ok((link, joined.publishers, events_rx))
    }

    /// This member's feed id (announced to the others over NX).
    pub fn feed(&self) -> u64 {
        self.feed
    }

    /// The publishing connection's delay-based send-rate estimate, for the encoder to follow.
    pub fn send_estimate(&self) -> Arc<EstimateReadout> {
        self.publish.estimate_readout()
    }

    /// The room's cap on this member's video as the grant announced it, bit/s (0: none).
    pub fn bitrate_cap(&self) -> u32 {
        self.grant.bitrate
    }

    /// When this link's Janus tokens expire (unix seconds): it needs [`SfuLink::renew`] before.
    pub fn expires_at(&self) -> u64 {
        self.grant.expires_at
    }

    /// Uses a renewed grant's tokens from now on (the room is the same).
    pub fn renew(&mut self, grant: SfuGrant) {
        self.janus.set_token(grant.token.clone());
        self.grant = grant;
    }

    /// What the publishing connection counts of the encoded media it sends.
    pub fn send_counters(&self) -> Arc<SendCounters> {
        self.publish.send_counters.clone()
    }

    /// Counters for one stats sample of the whole link: what is sent (and the round trip) from
    /// the publishing connection, what is received from the subscription, every feed together.
    pub async fn raw_stats(&self) -> RawStats {
        let sent = self.publish.raw_stats().await;
        let received = match &self.subscriber {
            Some((_, session)) => session.raw_stats().await,
            None => RawStats::default(),
        };
        RawStats {
            video_in: received.video_in,
            audio_in: received.audio_in,
            ..sent
        }
    }

    /// Where the cap Janus sends this publisher by REMB is noted.
    pub fn remb(&self) -> Arc<RembCap> {
        self.publish.remb_readout()
    }

    /// Starts receiving `feeds`, each into its member's sinks.
    pub async fn subscribe(&mut self, feeds: &[(u64, RemoteMedia)]) -> Result<(), SfuLinkError> {
        let new: Vec<&(u64, RemoteMedia)> = feeds
            .iter()
            .filter(|(f, _)| *f != self.feed && !self.subscribed.contains_key(f))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        for (f, remote) in &new {
            self.subscribed.insert(*f, remote.clone());
        }
        let offer = match (&mut self.subscriber, self.recycled) {
            (Some((handle, session)), false) => {
                for (f, remote) in &new {
                    session.route_stream(&f.to_string(), remote)?;
                }
                let ids: Vec<u64> = new.iter().map(|(f, _)| *f).collect();
                videoroom::update(handle, &ids, &[]).await?
            }
            // Janus would put a new feed on the m-line a departed one left, and the peer
            // connection announces no new track on a reused m-line: subscribe afresh instead.
            _ => Some(self.resubscribe().await?),
        };
        match offer {
            Some(offer) => self.answer_subscription(offer).await,
            None => Ok(()),
        }
    }

    /// Answers Janus's offer for the subscription and starts it.
    async fn answer_subscription(&mut self, offer: String) -> Result<(), SfuLinkError> {
        if let Some((handle, session)) = &mut self.subscriber {
            let answer = session.apply_offer(offer).await?;
            videoroom::start(handle, &answer).await?;
        }
        Ok(())
    }

    /// A new subscriber connection for every feed received, replacing any there was;
    /// returns Janus's offer.
    async fn resubscribe(&mut self) -> Result<String, SfuLinkError> {
        self.drop_subscription().await;
        self.recycled = false;
        let handle = self.janus.attach(videoroom::PLUGIN).await?;
        let receive_only = LegSend {
            control: self.publish.control().clone(),
            counters: Default::default(),
            audio: None,
            video: None,
        };
        let (mut session, media_events) =
            MediaSession::start(&self.net, receive_only, &self.codecs, None, self.rate).await?;
        self.tasks.push(tokio::spawn(forward_media(
            media_events,
            handle.clone(),
            ConferenceLink::Subscribe,
            self.events.clone(),
        )));
        for (f, remote) in &self.subscribed {
            session.route_stream(&f.to_string(), remote)?;
        }
        let ids: Vec<u64> = self.subscribed.keys().copied().collect();
        let offer = videoroom::subscribe(
            &handle,
            self.grant.janus_room,
            &self.grant.room_token,
            self.private_id,
            &ids,
        )
        .await?;
        self.subscriber = Some((handle, session));
        Ok(offer)
    }

    /// Closes the subscriber connection, if there is one, and detaches its handle.
    async fn drop_subscription(&mut self) {
        if let Some((handle, session)) = self.subscriber.take() {
            session.close().await;
            if let Err(e) = handle.detach().await {
                tracing::debug!(error = %e, "old subscription not detached");
            }
        }
    }

    /// Stops receiving `feed` (its member left).
    pub async fn unsubscribe(&mut self, feed: u64) -> Result<(), SfuLinkError> {
        if self.subscribed.remove(&feed).is_none() {
            return Ok(());
        }
        let Some((handle, session)) = &mut self.subscriber else {
            return Ok(());
        };
        session.unroute_stream(&feed.to_string());
        self.recycled = true;
        match videoroom::update(handle, &[], &[feed]).await? {
            Some(offer) => self.answer_subscription(offer).await,
            None => Ok(()),
        }
    }

    /// Starts sending video in a call that started without it: a new track on the publishing
    /// connection, renegotiated with Janus by `configure`; Janus announces the feed's new
    /// stream to the room, and the members subscribe anew to receive it.
    pub async fn add_video(&mut self, rx: mpsc::Receiver<Encoded>) -> Result<(), SfuLinkError> {
        self.publish.add_video(rx).await?;
        let offer = self.publish.create_offer(false).await?;
        let answer = videoroom::configure(&self.publisher, &offer).await?;
        self.publish.apply_answer(answer).await?;
        Ok(())
    }

    /// Brings a connection that went down back: the publisher by an ICE restart (a new offer
    /// in a `configure`, so the feed stays in the room and the members see nothing), the
    /// subscriber by a new subscription to every feed received.
    pub async fn restart(&mut self, link: ConferenceLink) -> Result<(), SfuLinkError> {
        match link {
            ConferenceLink::Publish => {
                let before = self.publish.remote_ice_ufrag().map(str::to_owned);
                let offer = self.publish.create_offer(true).await?;
                let answer = videoroom::configure(&self.publisher, &offer).await?;
                self.publish.apply_answer(answer).await?;
                if before.as_deref() == self.publish.remote_ice_ufrag() {
                    tracing::warn!(
                        feed = self.feed,
                        "Janus answered the ICE restart without restarting its own ICE"
                    );
                }
            }
            ConferenceLink::Subscribe => {
                if self.subscribed.is_empty() {
                    // Nothing left to receive (the members left meanwhile): the connection that
                    // went down goes, and nothing is down any more.
                    self.drop_subscription().await;
                    let up =
                        SfuEvent::Media(ConferenceLink::Subscribe, MediaSessionEvent::Connected);
                    let _ = self.events.try_send(up);
                    return Ok(());
                }
                let offer = self.resubscribe().await?;
                self.answer_subscription(offer).await?;
            }
        }
        tracing::info!(feed = self.feed, ?link, "conference connection restarted");
        Ok(())
    }

    /// Leaves the room: both connections close and Janus forgets this member.
    pub async fn close(self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some((_, session)) = self.subscriber {
            session.close().await;
        }
        self.publish.close().await;
        if let Err(e) = self.janus.destroy().await {
            tracing::debug!(error = %e, "Janus session not destroyed; it times out on its own");
        }
    }
}

/// Janus's room events, read into what changes for this member.
async fn forward_room_events(mut rx: mpsc::Receiver<JanusEvent>, tx: mpsc::Sender<SfuEvent>) {
    while let Some(e) = rx.recv().await {
        let out = match e {
            JanusEvent::Plugin(p) => match videoroom::room_event(&p.data) {
                Some(RoomEvent::Published(feeds)) => SfuEvent::Published(feeds),
                Some(RoomEvent::Gone(feed)) => SfuEvent::FeedGone(feed),
                Some(RoomEvent::Destroyed | RoomEvent::Kicked) => SfuEvent::RoomClosed,
                None => continue,
            },
            JanusEvent::SessionTimeout => SfuEvent::RoomClosed,
            other => {
                tracing::debug!(event = ?other, "janus");
                continue;
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
    let _ = tx.send(SfuEvent::RoomClosed).await;
}

/// A connection's events: local candidates go to Janus, the rest to the owner.
async fn forward_media(
    mut rx: mpsc::Receiver<MediaSessionEvent>,
    handle: JanusHandle,
    dir: ConferenceLink,
    tx: mpsc::Sender<SfuEvent>,
) {
    while let Some(e) = rx.recv().await {
        match e {
            MediaSessionEvent::LocalCandidate(c) => {
                let mid = c.sdp_mid.clone().unwrap_or_default();
                if let Err(e) = handle.trickle(Some((&c.candidate, &mid))).await {
                    tracing::warn!(error = %e, ?dir, "candidate not given to Janus");
                }
            }
            other => {
                if tx.send(SfuEvent::Media(dir, other)).await.is_err() {
                    return;
                }
            }
        }
    }
}
