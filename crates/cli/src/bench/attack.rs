//! `simu bench attack`: what an attacker's floods cost a `simu server` process (its own CPU
//! and peak RSS from /proc), with `/healthz` latency sampled throughout. The reference in the
//! same run is the same bytes sent as one frame, and the server's memory before the flood.

use anyhow::Context;
use clap::Args;
use futures_util::SinkExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Args)]
pub struct AttackArgs {
    /// Frames the dribbling client splits one stanza into.
    #[arg(long, default_value_t = 16_000)]
    frames: usize,
    /// Concurrent wrong-password logins.
    #[arg(long, default_value_t = 200)]
    logins: usize,
}

/// CPU seconds (user + system) and peak RSS (KiB) of a process.
fn proc_usage(pid: u32) -> anyhow::Result<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, r)| r)
        .unwrap_or_default()
        .split(' ')
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((cpu, hwm))
}

/// Samples `/healthz` every 50 ms until stopped; returns the latencies in ms.
fn sample_health(url: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<f64>> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let ok = http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            out.push(if ok {
                t.elapsed().as_secs_f64() * 1000.0
            } else {
                5000.0
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        out
    })
}

fn max_and_p99(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let p99 = v
        .get((v.len() * 99 / 100).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    (v.last().copied().unwrap_or(0.0), p99)
}

/// Sends `<message><body>` + `n` bytes + `</body></message>` in `frames` frames, before
/// authenticating; returns how many frames went out before the server cut the connection.
async fn dribble(ws_url: &str, n: usize, frames: usize) -> anyhow::Result<usize> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .context("connecting")?;
    ws.send(Message::Text(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='simu.local' version='1.0'/>".into(),
    ))
    .await?;
    let chunk = (n / frames).max(1);
    let mut sent = 0;
    ws.send(Message::Text("<message><body>".into())).await?;
    for _ in 0..frames {
        if ws
            .send(Message::Text("x".repeat(chunk).into()))
            .await
            .is_err()
        {
            return Ok(sent);
        }
        sent += 1;
    }
    let _ = ws.send(Message::Text("</body></message>".into())).await;
    Ok(sent)
}

/// A `simu server` child process on a free loopback port.
struct Child {
    proc: tokio::process::Child,
    pid: u32,
    base: String,
    ws: String,
    keys: server::secrets::TenantKeys,
    _dir: tempfile::TempDir,
}

async fn start_server(config: Option<&str>) -> anyhow::Result<Child> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.path());
    if let Some(text) = config {
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, text)?;
        cmd.arg("--config").arg(path);
    }
    let proc = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting simu server")?;
    let pid = proc.id().context("server pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let keys = server::secrets::TenantKeys::read(dir.path()).context("tenant keys")?;
    Ok(Child {
        proc,
        pid,
        ws: format!("ws://127.0.0.1:{port}/nx-websocket/"),
        base,
        keys,
        _dir: dir,
    })
}

/// What a login flood did to the server.
struct Flood {
    outcomes: std::collections::BTreeMap<String, usize>,
    rss_before: u64,
    rss_after: u64,
    cpu: f64,
}

impl Flood {
    fn line(&self) -> String {
        format!(
            "{:?}; server peak RSS {} MiB before, {} MiB after (x{:.2}); CPU {:.2} s",
            self.outcomes,
            self.rss_before / 1024,
            self.rss_after / 1024,
            self.rss_after as f64 / self.rss_before.max(1) as f64,
            self.cpu
        )
    }
}

/// `n` concurrent wrong-password logins, half for a real account, half for unknown names.
async fn bad_logins(srv: &Child, n: usize) -> anyhow::Result<Flood> {
    let rest = nx::RestClient::new(nx::RestConfig::new(
        srv.base.clone(),
        srv.keys.api_key.clone(),
        srv.keys.secret_key.clone(),
    ))?;
    rest.login_or_register("victim", "the-right-password")
        .await
        .context("victim account")?;
    let (cpu_before, rss_before) = proc_usage(srv.pid)?;
    let mut tasks = Vec::new();
    for i in 0..n {
        let r = nx::RestClient::new(nx::RestConfig::new(
            srv.base.clone(),
            srv.keys.api_key.clone(),
            srv.keys.secret_key.clone(),
        ))?;
        tasks.push(tokio::spawn(async move {
            let user = if i % 2 == 0 {
                "victim".to_string()
            } else {
                format!("nobody{i}")
            };
            match r.login(&user, "wrong-password").await {
                Err(e) => e
                    .status()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "refused at connect".into()),
                Ok(_) => "200".into(),
            }
        }));
    }
    let mut outcomes = std::collections::BTreeMap::new();
    for t in tasks {
        *outcomes
            .entry(t.await.unwrap_or_else(|_| "panicked".into()))
            .or_insert(0) += 1;
    }
    let (cpu_after, rss_after) = proc_usage(srv.pid)?;
    Ok(Flood {
        outcomes,
        rss_before,
        rss_after,
        cpu: cpu_after - cpu_before,
    })
}

/// Server CPU seconds spent while `f` runs (and 300 ms after, for the server to catch up).
async fn cpu_during<F: std::future::Future<Output = anyhow::Result<usize>>>(
    pid: u32,
    f: F,
) -> anyhow::Result<(f64, usize)> {
    let (before, _) = proc_usage(pid)?;
    let n = f.await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (after, _) = proc_usage(pid)?;
    Ok((after - before, n))
}

pub async fn run(a: AttackArgs) -> anyhow::Result<i32> {
    // 1. The parser alone: per-connection frame and byte limits lifted, so every frame is
    //    parsed; compared with the same bytes in one frame.
    let lifted = start_server(Some("[limits]\nframes_per_second = 100000000\nbytes_per_second = 100000000\npre_auth_bytes = 65536\n")).await?;
    let (one_cpu, _) = cpu_during(lifted.pid, dribble(&lifted.ws, a.frames, 1)).await?;
    let (many_cpu, _) = cpu_during(lifted.pid, dribble(&lifted.ws, a.frames, a.frames)).await?;
    drop(lifted);

    // 2. The default limits, with /healthz sampled throughout.
    let mut srv = start_server(None).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let health = sample_health(format!("{}/healthz", srv.base), stop.clone());
    let started = Instant::now();
    let (cut_cpu, sent) = cpu_during(srv.pid, dribble(&srv.ws, a.frames, a.frames)).await?;
    let dribble_secs = started.elapsed().as_secs_f64();
    let flood = bad_logins(&srv, a.logins).await?;
    stop.store(true, Ordering::Relaxed);
    let mut lat = health.await.unwrap_or_default();
    let (max, p99) = max_and_p99(&mut lat);
    let _ = srv.proc.kill().await;
    let lifted = start_server(Some(
        "[limits]\nlogin_failures_per_account = 1000000\nlogin_failures_per_address = 1000000\nconnections_per_address = 100000\n",
    ))
    .await?;
    let unthrottled = bad_logins(&lifted, a.logins).await?;
    drop(lifted);

    println!("parser: one {}-byte stanza before auth, limits lifted: server CPU {:.0} ms in {} frames vs {:.0} ms in one frame", a.frames, many_cpu * 1000.0, a.frames, one_cpu * 1000.0);
    println!("dribble with default limits: cut off after at most {sent} of {} frames ({dribble_secs:.2} s), server CPU {:.0} ms", a.frames, cut_cpu * 1000.0);
    println!(
        "bad logins: {} concurrent wrong passwords -> {}",
        a.logins,
        flood.line()
    );
    println!("  the same with the login throttles and connection caps lifted (the hashing bound alone) -> {}", unthrottled.line());
    println!("healthz during the dribble and the flood: {} samples, p99 {p99:.1} ms, max {max:.1} ms (target < 100 ms): {}", lat.len(), if max < 100.0 { "met" } else { "NOT met" });
    Ok(if max < 100.0 { 0 } else { 1 })
}
