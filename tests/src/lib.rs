//! Test harness: a simu-server on 127.0.0.1:0 and CallManagers with synthetic media that
//! bind only to loopback.

use call::{CallConfig, CallEvent, CallManager, CallState, MediaFactory, NetConfig, Quality};
use nx::{NxId, RestClient, RestConfig};
use server::{ServerConfig, ServerHandle};
use std::time::Duration;
use tokio::sync::broadcast;

pub mod conference;
pub mod pulse;

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub struct Harness {
    pub server: ServerHandle,
    /// The echo contact beside the server, as `simu server` runs it.
    pub echo: Option<echo::EchoBot>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut ServerConfig)) -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().to_path_buf(),
            echo: true,
            ..Default::default()
        };
        f(&mut cfg);
        let server = server::start(cfg).await.expect("server starts");
        let echo = server
            .echo_account()
            .map(|a| echo::EchoBot::start(echo::EchoConfig::beside(server.addr.ip(), a)));
        Self {
            server,
            echo,
            _dir: dir,
        }
    }

    pub fn rest(&self) -> RestClient {
        let c = &self.server.state.cfg;
        RestClient::new(RestConfig::new(
            self.server.base_url(),
            c.api_key.clone(),
            c.secret_key.clone(),
        ))
        .expect("rest")
    }

    pub fn domain(&self) -> String {
        self.server.state.cfg.domain.clone()
    }

    pub fn jid(&self, user: &str) -> NxId {
        NxId::normalize(user, Some(&self.domain())).expect("jid")
    }

    /// A CallManager for `user`, signed in with a minted NX token, media on loopback.
    pub async fn manager(&self, user: &str) -> CallManager {
        self.manager_with(user, |_| {}).await
    }

    pub async fn manager_with(&self, user: &str, f: impl FnOnce(&mut CallConfig)) -> CallManager {
        let rest = self.rest();
        let who = rest
            .sign_in(user, "harness-password", nx::Registration::FirstUse)
            .await
            .expect("signed in");
        let mut cfg = CallConfig {
            rest,
            nxws: who.nxws,
            jid: who.jid,
            token: who.token,
            display_name: user.to_string(),
            net: NetConfig {
                udp_addrs: vec!["127.0.0.1:0".into()],
                ..Default::default()
            },
            quality: Quality::default(),
            media: MediaFactory::synthetic(),
            analytics_dir: None,
            timeouts: call::Timeouts::default(),
        };
        f(&mut cfg);
        let m = CallManager::start(cfg);
        wait_online(&m).await;
        m
    }
}

/// The one history row of `room` as `user` sees it.
pub async fn history_row(h: &Harness, user: &str, room: &str) -> nx::rest::CallRecord {
    let rest = h.rest();
    rest.login_or_register(user, "harness-password")
        .await
        .expect("token");
    let page = rest
        .call_history(&nx::rest::HistoryQuery::default())
        .await
        .expect("history");
    page.results
        .into_iter()
        .find(|r| r.room == room)
        .unwrap_or_else(|| panic!("{user} has no row for {room}"))
}

/// Waits until both parties' rows for `room` show `status` (analytics arrive asynchronously).
pub async fn wait_history_status(h: &Harness, users: &[&str], room: &str, status: &str) {
    for user in users {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let row = history_row(h, user, room).await;
            if row.status == status {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{user}: status {} instead of {status}",
                row.status
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `a` calls `callee` (the user behind `b`), `b` accepts, and both see media: returns the room.
pub async fn connected_call(a: &CallManager, b: &CallManager, callee: &str, video: bool) -> String {
    let mut be = b.subscribe();
    let room = a.initiate_call(callee, true, video).await.expect("dial");
    wait_event(&mut be, Duration::from_secs(15), |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await;
    b.accept_call(true, video).await.expect("accept");
    wait_state(a, CallState::Connected, Duration::from_secs(30)).await;
    wait_state(b, CallState::Connected, Duration::from_secs(30)).await;
    room
}

pub async fn wait_online(m: &CallManager) {
    m.wait_online(Duration::from_secs(10))
        .await
        .expect("signaling online in time");
}

pub async fn wait_state(m: &CallManager, s: CallState, within: Duration) {
    let mut w = m.state_watch();
    let reached = matches!(
        tokio::time::timeout(within, w.wait_for(|x| *x == s)).await,
        Ok(Ok(_))
    );
    assert!(
        reached,
        "state {:?} not reached within {within:?}; now {:?}",
        s,
        m.state()
    );
}

/// Waits for the first event matching `pred` and returns it.
pub async fn wait_event(
    rx: &mut broadcast::Receiver<CallEvent>,
    within: Duration,
    mut pred: impl FnMut(&CallEvent) -> bool,
) -> CallEvent {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return e,
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("event stream closed: {e}"),
            Err(_) => panic!("expected event not seen within {within:?}"),
        }
    }
}

/// Polls `f` until it returns Some or time runs out.
pub async fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A variable set by `infra/up.sh`; `None` (test skipped) unless `SIMU_REQUIRE_INFRA=1`,
/// in which case a missing server is a failure.
#[allow(clippy::print_stderr)] // a skipped test says why on the test's own output
pub fn infra_env(name: &str) -> Option<String> {
    match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        Some(v) => Some(v),
        None if std::env::var("SIMU_REQUIRE_INFRA").as_deref() == Ok("1") => {
            panic!("{name} is not set: run infra/up.sh first")
        }
        None => {
            // a skipped test says why on the test's own output
            eprintln!("skipping: {name} not set (run infra/up.sh and source its env file)");
            None
        }
    }
}
