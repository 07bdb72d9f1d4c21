//! Members through a real Janus: each decodes every other member's voice and picture. Janus does
//! ICE on 127.0.0.1 only inside a private network namespace, so `scripts/sfu-media.sh` sets
//! one up, starts Janus in it and sets `SIMU_JANUS_*`; without them these skip.

use super::*;
use crate::outgoing::Outgoing;
use crate::pipeline::{AudioMix, MediaControl, RecvCounters};
use crate::quality::Quality;
use media::FrameSink;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The namespaced Janus `scripts/sfu-media.sh` starts, if it did.
#[allow(clippy::print_stderr)] // a skipped test says why on its own output
fn janus() -> Option<server::config::SfuConfig> {
    let cfg = server::config::SfuConfig::from_env();
    if cfg.is_none() {
        eprintln!("skipping: no namespaced Janus (run scripts/sfu-media.sh)");
    }
    cfg
}

/// What one member sends and what it receives from each feed.
struct Member {
    link: SfuLink,
    events: mpsc::Receiver<SfuEvent>,
    outgoing: Outgoing,
    mix: Arc<AudioMix>,
    received: HashMap<u64, (Arc<FrameSink>, Arc<RecvCounters>)>,
    /// Feeds Janus said publish (at join, then by event).
    publishing: Vec<u64>,
}

const SMALL: Quality = Quality {
    width: 320,
    height: 180,
    fps: 15,
    video_kbps: 250,
    audio_kbps: 32,
};

async fn join(grant: &SfuGrant, n: usize) -> Member {
    let control = MediaControl::new(SMALL, true, true);
    let tone = media::audio::Tone::new(300.0 + 150.0 * n as f32, -20.0);
    let (mut outgoing, _trouble) =
        Outgoing::start(Some(Box::new(tone)), None, control, FrameSink::new()).expect("capture");
    outgoing
        .add_video(Box::new(media::pattern::TestPattern::new(320, 180)))
        .expect("camera");
    let net = NetConfig {
        udp_addrs: vec!["127.0.0.1:0".into()],
        ..Default::default()
    };
    let rate = SendRate {
        start_bps: 300_000,
        min_bps: 60_000,
        max_bps: 600_000,
        receive_start_kbps: 300,
        receive_max_kbps: 600,
    };
    let (link, already, events) = SfuLink::join(
        grant,
        &format!("member{n}"),
        &net,
        outgoing.subscribe(),
        &[VideoCodec::Vp8],
        rate,
    )
    .await
    .expect("joins and publishes");
    Member {
        link,
        events,
        outgoing,
        mix: AudioMix::start(None, None).expect("mix"),
        received: HashMap::new(),
        publishing: already.iter().map(|f| f.id).collect(),
    }
}

impl Member {
    /// Waits until Janus has said each of `feeds` publishes (one cannot subscribe before).
    async fn hear_published(&mut self, feeds: &[u64]) {
        let all = tokio::time::timeout(Duration::from_secs(20), async {
            while !feeds.iter().all(|f| self.publishing.contains(f)) {
                match self.events.recv().await {
                    Some(SfuEvent::Published(list)) => {
                        self.publishing.extend(list.iter().map(|f| f.id))
                    }
                    Some(_) => {}
                    None => return false,
                }
            }
            true
        })
        .await;
        assert_eq!(
            all,
            Ok(true),
            "told of {feeds:?}, heard {:?}",
            self.publishing
        );
    }

    async fn receive(&mut self, feeds: &[u64]) {
        let mut wanted = Vec::new();
        for &f in feeds {
            let remote = RemoteMedia {
                video: FrameSink::new(),
                counters: Arc::new(RecvCounters::default()),
                audio: self.mix.clone(),
            };
            self.received
                .insert(f, (remote.video.clone(), remote.counters.clone()));
            wanted.push((f, remote));
        }
        self.link.subscribe(&wanted).await.expect("subscribes");
    }

    /// Video and audio frames decoded from `feed`.
    fn frames_from(&self, feed: u64) -> (u64, u64) {
        self.received.get(&feed).map_or((0, 0), |(_, c)| {
            (
                c.video_frames.load(Ordering::Relaxed),
                c.audio_frames.load(Ordering::Relaxed),
            )
        })
    }

    async fn close(self) {
        self.link.close().await;
        self.mix.close();
        self.outgoing.close().await;
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Waits until every member decodes more than `min` video and audio frames from every other.
async fn all_streams_flow(members: &[Member], min: u64, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let mut short = Vec::new();
        for (i, m) in members.iter().enumerate() {
            for o in members.iter().filter(|o| o.link.feed() != m.link.feed()) {
                let (v, a) = m.frames_from(o.link.feed());
                if v <= min || a <= min {
                    short.push(format!("{i} <- {}: {v} video, {a} audio", o.link.feed()));
                }
            }
        }
        if short.is_empty() || Instant::now() > deadline {
            return short;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_decodes_every_other_member_through_janus_and_a_leaver_drops_out() {
    let Some(cfg) = janus() else { return };
    let n: usize = std::env::var("SIMU_SFU_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let sfu = server::sfu::Sfu::new(&cfg).expect("config").expect("sfu");
    let room = sfu.create_room("sfu-media-test", 16).await.expect("room");
    let grant = grant_expiring_in(&sfu, &cfg, &room, cfg.token_ttl_seconds);
    let mut members = Vec::new();
    for i in 0..n {
        members.push(join(&grant, i).await);
    }
    let feeds: Vec<u64> = members.iter().map(|m| m.link.feed()).collect();
    for m in &mut members {
        let others: Vec<u64> = feeds
            .iter()
            .copied()
            .filter(|f| *f != m.link.feed())
            .collect();
        m.hear_published(&others).await;
        m.receive(&others).await;
    }
    let short = all_streams_flow(&members, 20, Duration::from_secs(40)).await;
    assert!(short.is_empty(), "streams not decoded: {short:?}");
    // Janus caps each publisher at the room's bitrate by REMB, and each member read it.
    for (i, m) in members.iter().enumerate() {
        let cap = m.link.remb().get();
        assert!(
            cap.is_some_and(|c| c > 0 && c <= u64::from(grant.bitrate)),
            "member {i}: REMB {cap:?}, room bitrate {}",
            grant.bitrate
        );
    }

    // The first member leaves: the others hear its feed went and stop receiving it, while
    // the streams among themselves go on.
    let leaver = members.remove(0);
    let gone = leaver.link.feed();
    leaver.close().await;
    for m in &mut members {
        let told = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(e) = m.events.recv().await {
                if matches!(e, SfuEvent::FeedGone(f) if f == gone) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(told, Ok(true), "member told the leaver's feed went");
        m.link.unsubscribe(gone).await.expect("unsubscribes");
        m.received.remove(&gone);
        assert!(!m.link.subscribed.contains_key(&gone));
    }
    let before: Vec<Vec<u64>> = members
        .iter()
        .map(|m| {
            m.received
                .values()
                .map(|(_, c)| c.video_frames.load(Ordering::Relaxed))
                .collect()
        })
        .collect();
    let short = all_streams_flow(
        &members,
        before.iter().flatten().copied().max().unwrap_or(0) + 10,
        Duration::from_secs(20),
    )
    .await;
    assert!(short.is_empty(), "streams after the leave: {short:?}");
    for m in members {
        m.close().await;
    }
    sfu.destroy_room(&room).await.expect("room destroyed");
}

/// A grant for `room` that expires `secs` from now (as if minted `ttl - secs` ago).
fn grant_expiring_in(
    sfu: &server::sfu::Sfu,
    cfg: &server::config::SfuConfig,
    room: &server::store::SfuRoom,
    secs: u64,
) -> SfuGrant {
    let minted = unix_now() + secs - cfg.token_ttl_seconds;
    serde_json::from_value(serde_json::to_value(sfu.grant(room, minted)).expect("grant json"))
        .expect("grant")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewed_tokens_keep_a_member_in_the_room_past_the_first_expiry_while_stale_ones_are_refused(
) {
    let Some(cfg) = janus() else { return };
    let sfu = server::sfu::Sfu::new(&cfg).expect("config").expect("sfu");
    let room = sfu.create_room("sfu-renew-test", 4).await.expect("room");
    let short = grant_expiring_in(&sfu, &cfg, &room, 5);
    let mut renewed = join(&short, 0).await;
    let mut stale = join(&short, 1).await;
    renewed
        .link
        .renew(grant_expiring_in(&sfu, &cfg, &room, 600));
    assert!(renewed.link.expires_at() > short.expires_at);
    // Janus compares whole seconds: wait until the first tokens are surely past.
    let past = Duration::from_secs(short.expires_at.saturating_sub(unix_now()) + 2);
    tokio::time::sleep(past).await;

    // Every Janus request carries the token: the renewed member still subscribes...
    let (rf, sf) = (renewed.link.feed(), stale.link.feed());
    renewed.hear_published(&[sf]).await;
    renewed.receive(&[sf]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while renewed.frames_from(sf).0 <= 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        renewed.frames_from(sf).0 > 20,
        "frames after the first tokens expired: {:?}",
        renewed.frames_from(sf)
    );
    // ...while the one still on the first tokens is refused.
    stale.hear_published(&[rf]).await;
    let remote = RemoteMedia {
        video: FrameSink::new(),
        counters: Arc::new(RecvCounters::default()),
        audio: stale.mix.clone(),
    };
    match stale.link.subscribe(&[(rf, remote)]).await {
        Err(SfuLinkError::Janus(e)) => assert!(e.is_unauthorized(), "refused for {e}"),
        other => panic!("expired tokens accepted: {:?}", other.map(|_| ())),
    }
    renewed.close().await;
    stale.close().await;
    sfu.destroy_room(&room).await.expect("room destroyed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restarts_both_connections_and_keeps_its_feed_and_every_stream() {
    let Some(cfg) = janus() else { return };
    let sfu = server::sfu::Sfu::new(&cfg).expect("config").expect("sfu");
    let room = sfu.create_room("sfu-restart-test", 4).await.expect("room");
    let grant = grant_expiring_in(&sfu, &cfg, &room, cfg.token_ttl_seconds);
    let mut members = vec![join(&grant, 0).await, join(&grant, 1).await];
    let feeds: Vec<u64> = members.iter().map(|m| m.link.feed()).collect();
    for (m, other) in members.iter_mut().zip([feeds[1], feeds[0]]) {
        m.hear_published(&[other]).await;
        m.receive(&[other]).await;
    }
    let most = |members: &[Member]| {
        members
            .iter()
            .flat_map(|m| m.received.values())
            .map(|(_, c)| c.video_frames.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    };
    let short = all_streams_flow(&members, 20, Duration::from_secs(40)).await;
    assert!(short.is_empty(), "streams before: {short:?}");

    // The publisher's ICE restart: Janus answers with ICE of its own restarted, the feed
    // stays the same, and the other member goes on decoding it.
    let before = members[0]
        .link
        .publish
        .remote_ice_ufrag()
        .map(str::to_owned);
    members[0]
        .link
        .restart(ConferenceLink::Publish)
        .await
        .expect("publisher restarted");
    assert_ne!(
        members[0].link.publish.remote_ice_ufrag(),
        before.as_deref(),
        "Janus restarted its ICE"
    );
    assert_eq!(members[0].link.feed(), feeds[0]);
    let short = all_streams_flow(&members, most(&members) + 20, Duration::from_secs(20)).await;
    assert!(
        short.is_empty(),
        "streams after the publisher's restart: {short:?}"
    );

    // The subscriber is made anew and receives what it did.
    members[0]
        .link
        .restart(ConferenceLink::Subscribe)
        .await
        .expect("subscriber restarted");
    let short = all_streams_flow(&members, most(&members) + 20, Duration::from_secs(20)).await;
    assert!(
        short.is_empty(),
        "streams after the subscriber's restart: {short:?}"
    );
    while let Ok(e) = members[1].events.try_recv() {
        assert!(
            !matches!(e, SfuEvent::FeedGone(_)),
            "the restarted member's feed never left the room"
        );
    }

    // With nothing left to receive, a subscriber restart drops the connection and says
    // nothing is down any more (else the call would fail at the recovery deadline).
    let gone = members.pop().expect("member 1");
    gone.close().await;
    let first = &mut members[0];
    first
        .link
        .unsubscribe(feeds[1])
        .await
        .expect("unsubscribes");
    while first.events.try_recv().is_ok() {}
    first
        .link
        .restart(ConferenceLink::Subscribe)
        .await
        .expect("nothing to subscribe to");
    assert!(first.link.subscriber.is_none());
    assert!(matches!(
        first.events.try_recv(),
        Ok(SfuEvent::Media(
            ConferenceLink::Subscribe,
            MediaSessionEvent::Connected
        ))
    ));
    for m in members {
        m.close().await;
    }
    sfu.destroy_room(&room).await.expect("room destroyed");
}
