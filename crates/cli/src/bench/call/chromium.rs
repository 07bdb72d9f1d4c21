//! The Chromium side of `simu bench call`: two tabs of one headless Chromium, opened over the
//! DevTools protocol, each running the NX browser peer against the same simu-server. The page,
//! its config and (on the same origin, since simu-server sends no CORS headers) the REST API
//! are served from a small HTTP server here; the tabs post their reports back to it.

use super::procs::Sampler;
use super::report::Report;
use super::Plan;
use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const PAGE: &str = include_str!("bench.html");
const SCRIPT: &str = include_str!("bench.js");
/// The independent browser NX peer the interop tests also use.
const PEER: &str = include_str!("peer.js");
/// The browser conference member (NX + the Janus WebSocket API) and the page that loads it.
const MEMBER: &str = include_str!("member.js");
const MEMBER_PAGE: &str = include_str!("member.html");

struct Site {
    configs: HashMap<String, serde_json::Value>,
    reports: mpsc::Sender<(String, Report)>,
    upstream: String,
    http: reqwest::Client,
}

fn page(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn config(State(s): State<Arc<Site>>, Path(role): Path<String>) -> Response {
    match s.configs.get(&role) {
        Some(c) => Json(c.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "no such role").into_response(),
    }
}

async fn report(State(s): State<Arc<Site>>, Path(role): Path<String>, body: Bytes) -> Response {
    match serde_json::from_slice::<Report>(&body) {
        Ok(r) => {
            let _ = s.reports.send((role, r)).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad report: {e}")).into_response(),
    }
}

/// Forwards /api/... to simu-server with the NX headers.
async fn proxy(
    State(s): State<Arc<Site>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        s.upstream,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut req = s.http.request(method, url).body(body);
    for (k, v) in &headers {
        if k.as_str().starts_with("x-") || k == header::CONTENT_TYPE {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status();
            let kind = r.headers().get(header::CONTENT_TYPE).cloned();
            let body = r.bytes().await.unwrap_or_default();
            let mut resp = (status, body).into_response();
            if let Some(k) = kind {
                resp.headers_mut().insert(header::CONTENT_TYPE, k);
            }
            resp
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Serves the bench page on 127.0.0.1:0; returns its origin and the report stream.
pub(crate) async fn serve(
    upstream: String,
    configs: HashMap<String, serde_json::Value>,
) -> anyhow::Result<(
    String,
    mpsc::Receiver<(String, Report)>,
    tokio::task::JoinHandle<()>,
)> {
    let (tx, rx) = mpsc::channel(64);
    let site = Arc::new(Site {
        configs,
        reports: tx,
        upstream,
        http: reqwest::Client::new(),
    });
    let app = Router::new()
        .route("/", get(|| async { page("text/html", PAGE) }))
        .route(
            "/bench.js",
            get(|| async { page("text/javascript", SCRIPT) }),
        )
        .route("/peer.js", get(|| async { page("text/javascript", PEER) }))
        .route(
            "/member.js",
            get(|| async { page("text/javascript", MEMBER) }),
        )
        .route("/member", get(|| async { page("text/html", MEMBER_PAGE) }))
        .route("/config/{role}", get(config))
        .route("/report/{role}", post(report))
        .route("/api/{*rest}", any(proxy))
        .with_state(site);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("bench page server: {e}");
        }
    });
    Ok((origin, rx, task))
}

/// A DevTools connection to the browser.
struct DevTools {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl DevTools {
    async fn call(
        &mut self,
        method: &str,
        params: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        self.call_in(None, method, params).await
    }

    /// A command to the browser, or (`session`) to one attached tab.
    async fn call_in(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = serde_json::json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        self.ws.send(Message::text(msg.to_string())).await?;
        while let Some(m) = tokio::time::timeout(Duration::from_secs(20), self.ws.next())
            .await
            .context("DevTools did not answer")?
        {
            if let Message::Text(t) = m? {
                let v: serde_json::Value = serde_json::from_str(&t)?;
                if v["id"] == id {
                    anyhow::ensure!(v.get("error").is_none(), "{method}: {}", v["error"]);
                    return Ok(v["result"].clone());
                }
            }
        }
        anyhow::bail!("DevTools closed")
    }
}

const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream=fps=30",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--remote-debugging-port=0",
];

/// Which tabs a run opens.
pub enum Tabs {
    /// A caller and a callee tab calling each other.
    Both,
    /// Only a caller tab, calling this NX ID (a Simu peer: Chromium sends, Simu receives).
    CallerTo(String),
}

/// Runs the plan between Chromium tabs (or one tab and a Simu peer): their reports, and the
/// browser's CPU and memory.
pub async fn run(
    exe: &std::path::Path,
    srv: &server::ServerHandle,
    plan: &Plan,
    tabs: Tabs,
) -> anyhow::Result<(Vec<Report>, Sampler)> {
    let server = srv.base_url();
    let cfg = &srv.state.cfg;
    let mut configs = HashMap::new();
    let (roles, mut callee_jid): (&[&str], String) = match tabs {
        Tabs::Both => (&["callee", "caller"], String::new()),
        Tabs::CallerTo(jid) => (&["caller"], jid),
    };
    for &role in roles {
        // The bench runs the server in-process, so it mints the browsers' tokens itself.
        let name = format!("chromium_bench_{role}");
        srv.state.store.create_user(&name, None, None).await?;
        let jid = format!("{name}@{}", cfg.domain);
        let token = srv.mint_nx_token(&jid);
        if role == "callee" {
            callee_jid = jid.clone();
        }
        configs.insert(
            role.to_string(),
            serde_json::json!({
                "nxws": srv.state.nxws, "jid": jid, "token": token,
                "apiKey": cfg.api_key, "secretKey": cfg.secret_key,
                "codec": plan.codec, "calls": plan.calls, "seconds": plan.seconds, "warmup": plan.warmup, "kbps": plan.kbps,
                "callee": callee_jid,
            }),
        );
    }
    let (origin, mut reports, site) = serve(server, configs).await?;
    let mut browser = Browser::launch(exe).await?;
    let mut sampler = Sampler::start(vec![browser.pid], super::SAMPLE_EVERY);
    let result = async {
        if roles.contains(&"callee") {
            browser.open(&format!("{origin}/?role=callee")).await?;
            super::wait_online(&mut reports, "callee").await?;
        }
        browser.open(&format!("{origin}/?role=caller")).await?;
        super::collect(&mut reports, plan.deadline(), roles.len()).await
    }
    .await;
    sampler.stop();
    browser.close().await;
    site.abort();
    Ok((result?, sampler))
}

/// One headless Chromium driven over DevTools; `close` ends it (killed if it lingers).
pub(crate) struct Browser {
    child: tokio::process::Child,
    dt: DevTools,
    drain: tokio::task::JoinHandle<()>,
    /// Its whole process tree is measured from here.
    pub pid: u32,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `exe` with a fresh profile and connects to its DevTools.
    pub async fn launch(exe: &std::path::Path) -> anyhow::Result<Browser> {
        let profile = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(exe)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut lines =
            tokio::io::BufReader::new(child.stderr.take().context("chromium stderr")?).lines();
        let ws_url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(l) = lines.next_line().await? {
                if let Some(u) = l.strip_prefix("DevTools listening on ") {
                    return Ok(u.trim().to_string());
                }
            }
            anyhow::bail!("Chromium exited before DevTools came up")
        })
        .await
        .context("Chromium did not start DevTools in 30 s")??;
        // Keeps draining Chromium's log (it would block on a full pipe); ends when Chromium exits.
        let drain = tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                tracing::debug!(target: "chromium", "{l}");
            }
        });
        let (ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .context("connecting to DevTools")?;
        let pid = child.id().context("chromium pid")?;
        Ok(Browser {
            child,
            dt: DevTools { ws, next_id: 0 },
            drain,
            pid,
            _profile: profile,
        })
    }

    /// Opens `url` in a new tab; returns its target id.
    pub async fn open(&mut self, url: &str) -> anyhow::Result<String> {
        let params = serde_json::json!({ "url": url, "newWindow": true });
        self.call_for_id("Target.createTarget", params, "targetId")
            .await
    }

    /// Attaches to a tab; returns the session that `evaluate` runs in.
    pub async fn attach(&mut self, target: &str) -> anyhow::Result<String> {
        let params = serde_json::json!({ "targetId": target, "flatten": true });
        self.call_for_id("Target.attachToTarget", params, "sessionId")
            .await
    }

    /// A browser command whose answer is the id named `field`.
    async fn call_for_id(
        &mut self,
        method: &str,
        params: serde_json::Value,
        field: &str,
    ) -> anyhow::Result<String> {
        let r = self.dt.call(method, params).await?;
        r[field]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{method}: no {field}"))
    }

    /// Runs `expression` in a tab (awaiting a promise); its value, or the page's exception.
    pub async fn evaluate(
        &mut self,
        session: &str,
        expression: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let r = self
            .dt
            .call_in(
                Some(session),
                "Runtime.evaluate",
                serde_json::json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await?;
        if let Some(e) = r.get("exceptionDetails") {
            anyhow::bail!("in the page: {}", e["exception"]["description"]);
        }
        Ok(r["result"]["value"].clone())
    }

    pub async fn close(mut self) {
        let _ = self.dt.call("Browser.close", serde_json::json!({})).await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.drain.abort();
    }
}
