//! `simu bench signaling`: message round trips through simu-server and, when configured,
//! ejabberd, measured by the same clients in the same run.

use anyhow::Context;
use base64::Engine as _;
use clap::Args;
use nx::{NxId, XmppClient, XmppConfig, XmppEvent, XmppHandle};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Args, Clone)]
pub struct SignalingArgs {
    /// Concurrent sender/echo pairs (2 users each).
    #[arg(long, default_value_t = 50)]
    pairs: usize,
    /// Round trips per pair.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Bytes of JSON in each message (a typical ICE candidate is ~200).
    #[arg(long, default_value_t = 200)]
    size: usize,
    /// ejabberd WebSocket URL to compare with (e.g. ws://127.0.0.1:5280/nx-websocket/).
    #[arg(long, env = "SIMU_EJABBERD_WS")]
    ejabberd_ws: Option<String>,
    /// ejabberd's XMPP domain.
    #[arg(long, env = "SIMU_EJABBERD_DOMAIN", default_value = "localhost")]
    ejabberd_domain: String,
    /// JWK file holding ejabberd's `jwt_key` (HS256), to mint tokens.
    #[arg(long, env = "SIMU_EJABBERD_JWK")]
    ejabberd_jwk: Option<std::path::PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Results of one server's run.
#[derive(Debug, serde::Serialize)]
struct Report {
    server: String,
    pairs: usize,
    round_trips: usize,
    failed: usize,
    seconds: f64,
    round_trips_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn online(
    url: &str,
    jid: NxId,
    token: String,
) -> anyhow::Result<(XmppHandle, mpsc::Receiver<XmppEvent>)> {
    let (h, mut rx, _task) = XmppClient::start(XmppConfig::new(url, jid.clone(), token));
    match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
        Ok(Some(XmppEvent::Online { .. })) => Ok((h, rx)),
        other => anyhow::bail!("{jid} did not sign in: {other:?}"),
    }
}

/// Mints tokens for a target server.
type Minter = Box<dyn Fn(&NxId) -> String + Send + Sync>;

async fn measure(
    name: &str,
    url: &str,
    domain: &str,
    mint: Minter,
    a: &SignalingArgs,
) -> anyhow::Result<Report> {
    let tag = rand::random::<u32>();
    let mut pairs = Vec::new();
    for i in 0..a.pairs {
        let s = NxId::new(format!("bench{tag}s{i}"), domain)?;
        let e = NxId::new(format!("bench{tag}e{i}"), domain)?;
        let sender = online(url, s.clone(), mint(&s)).await?;
        let echo = online(url, e.clone(), mint(&e)).await?;
        pairs.push((s, sender, e, echo));
    }
    let payload: String = "x".repeat(a.size.saturating_sub(40));
    let start = Instant::now();
    let mut echoes = tokio::task::JoinSet::new();
    let mut senders = tokio::task::JoinSet::new();
    let mut keep = Vec::new();
    for (s, (sh, mut srx), e, (eh, mut erx)) in pairs {
        let echo_h = eh.clone();
        keep.push((sh.clone(), eh));
        echoes.spawn(async move {
            while let Some(ev) = erx.recv().await {
                if let XmppEvent::Message { body, .. } = ev {
                    let _ = echo_h.send_body(&s, body).await;
                }
            }
        });
        let n = a.messages;
        let payload = payload.clone();
        senders.spawn(async move {
            let mut rtts = Vec::with_capacity(n);
            for k in 0..n {
                let body = format!("{{\"type\":\"bench\",\"k\":{k},\"p\":\"{payload}\"}}");
                let marker = format!("\"k\":{k},");
                let t = Instant::now();
                if sh.send_body(&e, body).await.is_err() {
                    break;
                }
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                loop {
                    match tokio::time::timeout_at(deadline, srx.recv()).await {
                        Ok(Some(XmppEvent::Message { body, .. })) if body.contains(&marker) => {
                            rtts.push(t.elapsed());
                            break;
                        }
                        Ok(Some(_)) => continue,
                        _ => break,
                    }
                }
            }
            rtts
        });
    }
    let mut rtts: Vec<Duration> = Vec::new();
    while let Some(r) = senders.join_next().await {
        rtts.extend(r.unwrap_or_default());
    }
    let secs = start.elapsed().as_secs_f64();
    echoes.abort_all();
    for (sh, eh) in keep {
        sh.close().await;
        eh.close().await;
    }
    rtts.sort_unstable();
    let pct = |p: f64| {
        rtts.get(((rtts.len() as f64 * p) as usize).min(rtts.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    Ok(Report {
        server: name.to_string(),
        pairs: a.pairs,
        round_trips: rtts.len(),
        failed: a.pairs * a.messages - rtts.len(),
        seconds: secs,
        round_trips_per_second: rtts.len() as f64 / secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: rtts
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN),
    })
}

fn jwk_secret(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    )?;
    let k = v["k"].as_str().context("JWK without \"k\"")?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(k.trim_end_matches('='))?)
}

pub async fn run(a: SignalingArgs) -> anyhow::Result<i32> {
    let dir = tempfile::tempdir()?;
    let mut cfg = server::ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        echo: false,
        ..Default::default()
    };
    cfg.limits.stanzas_per_second = 100_000;
    cfg.limits.stanza_burst = 100_000;
    let handle = server::start(cfg).await?;
    let tokens = handle.state.tokens.clone();
    let ttl = 3600;
    let simu_mint: Minter =
        Box::new(move |j| tokens.issue(&j.to_string(), server::tokens::TokenKind::Nx, ttl));
    let mut reports = vec![
        measure(
            "simu-server",
            &handle.ws_url(),
            &handle.state.cfg.domain,
            simu_mint,
            &a,
        )
        .await?,
    ];
    if let (Some(url), Some(jwk)) = (&a.ejabberd_ws, &a.ejabberd_jwk) {
        let secret = jwk_secret(jwk)?;
        let t = server::tokens::Tokens::new(&secret);
        let mint: Minter =
            Box::new(move |j| t.issue(&j.to_string(), server::tokens::TokenKind::Nx, ttl));
        match measure("ejabberd", url, &a.ejabberd_domain, mint, &a).await {
            Ok(r) => reports.push(r),
            Err(e) => eprintln!("ejabberd run failed: {e:#}"),
        }
    } else if !a.json {
        eprintln!("(no ejabberd configured: set --ejabberd-ws and --ejabberd-jwk to compare)");
    }
    handle.stop().await;
    if a.json {
        println!("{}", serde_json::to_string(&reports)?);
    } else {
        println!(
            "{:12} {:>6} {:>8} {:>7} {:>10} {:>8} {:>8} {:>8}",
            "server", "pairs", "trips", "failed", "trips/s", "p50 ms", "p99 ms", "max ms"
        );
        for r in &reports {
            println!(
                "{:12} {:>6} {:>8} {:>7} {:>10.0} {:>8.2} {:>8.2} {:>8.2}",
                r.server,
                r.pairs,
                r.round_trips,
                r.failed,
                r.round_trips_per_second,
                r.p50_ms,
                r.p99_ms,
                r.max_ms
            );
        }
        if let [s, e] = &reports[..] {
            println!(
                "simu/ejabberd: throughput x{:.2}, p99 x{:.2}",
                s.round_trips_per_second / e.round_trips_per_second,
                s.p99_ms / e.p99_ms
            );
        }
    }
    Ok(if reports.iter().all(|r| r.failed == 0) {
        0
    } else {
        1
    })
}
