//! `simu bench call`: 1:1 calls on loopback between two Simu peers (separate processes, the
//! synthetic 1280x720@30 source) and, when Chromium is installed, the same calls between two
//! Chromium tabs (fake camera 1280x720@30) in the same run, both through an in-process
//! simu-server; prints CPU, peak memory, setup time, glass-to-glass delay, fps and bitrate of
//! each and their ratios.

pub(crate) mod chromium;
pub mod peer;
pub mod procs;
mod report;

use anyhow::Context;
use clap::Args;
use procs::Sampler;
use report::{Report, Summary};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// What each side does, for the bench and for each peer it starts.
#[derive(Args, Clone, Debug)]
pub struct PlanArgs {
    /// Calls per side (setup time is their median).
    #[arg(long, default_value_t = 3)]
    calls: usize,
    /// Measured seconds of each call.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds after the first frame before measuring (the send rate ramps up).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Video bitrate cap of both sides (Simu's default 720p preset: 1000).
    #[arg(long, default_value_t = 1000)]
    kbps: u32,
    /// Split each Simu call's measured time into this many windows and print each (a long
    /// call: do fps, bitrate, glass-to-glass and memory stay flat?).
    #[arg(long, default_value_t = 1)]
    windows: usize,
}

#[derive(Args, Clone)]
pub struct CallBenchArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Video codec both sides prefer.
    #[arg(long, default_value = "h264")]
    codec: String,
    /// Chromium to compare with; skipped when missing.
    #[arg(long, env = "CHROMIUM", default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    /// Measure Simu only.
    #[arg(long)]
    no_chromium: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// What both sides are asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    calls: usize,
    seconds: f64,
    warmup: f64,
    kbps: u32,
    windows: usize,
    codec: String,
}

impl Plan {
    /// Generous time for the whole plan, for a stuck peer not to hang the bench.
    fn deadline(&self) -> Duration {
        Duration::from_secs_f64(60.0 + self.calls as f64 * (self.seconds + self.warmup + 30.0))
    }
}

/// Waits for `role` to report it is signed in.
async fn wait_online(rx: &mut mpsc::Receiver<(String, Report)>, role: &str) -> anyhow::Result<()> {
    let wait = async {
        while let Some((who, r)) = rx.recv().await {
            match r {
                Report::Online if who == role => return Ok(()),
                Report::Error { message } => anyhow::bail!("{who}: {message}"),
                _ => {}
            }
        }
        anyhow::bail!("{role} went away before signing in")
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .with_context(|| format!("{role} did not sign in within 60 s"))?
}

/// Gathers reports until `peers` peers are done; the first error ends the run.
async fn collect(
    rx: &mut mpsc::Receiver<(String, Report)>,
    within: Duration,
    peers: usize,
) -> anyhow::Result<Vec<Report>> {
    let gather = async {
        let (mut out, mut done) = (Vec::new(), 0);
        while let Some((who, r)) = rx.recv().await {
            match r {
                Report::Done => {
                    done += 1;
                    if done == peers {
                        return Ok(out);
                    }
                }
                Report::Error { message } => anyhow::bail!("{who}: {message}"),
                r => out.push(r),
            }
        }
        anyhow::bail!("a peer went away before finishing")
    };
    tokio::time::timeout(within, gather)
        .await
        .context("the calls did not finish in time")?
}

/// Starts one Simu peer process; its reports go to `tx` tagged with `role`.
fn spawn_peer(
    server: &str,
    data: &std::path::Path,
    role: &str,
    callee: Option<&str>,
    plan: &Plan,
    tx: mpsc::Sender<(String, Report)>,
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("finding the simu binary")?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args([
        "bench",
        "call-peer",
        "--server",
        server,
        "--media-ip",
        "127.0.0.1",
        "--user",
        &format!("simu_bench_{role}"),
    ])
    .args([
        "--codecs",
        &plan.codec,
        "--calls",
        &plan.calls.to_string(),
        "--seconds",
        &plan.seconds.to_string(),
        "--warmup",
        &plan.warmup.to_string(),
        "--kbps",
        &plan.kbps.to_string(),
        "--windows",
        &plan.windows.to_string(),
    ])
    .env("SIMU_DATA_DIR", data)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .kill_on_drop(true);
    if let Some(c) = callee {
        cmd.args(["--callee", c]);
    }
    let mut child = cmd.spawn().context("starting a Simu peer")?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().context("peer stdout")?).lines();
    let role = role.to_string();
    // Ends when the peer closes its stdout (it exits).
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            match serde_json::from_str::<Report>(&l) {
                Ok(r) => {
                    if tx.send((role.clone(), r)).await.is_err() {
                        break;
                    }
                }
                Err(e) => tracing::warn!("{role}: unreadable report {l:?}: {e}"),
            }
        }
    });
    Ok(child)
}

async fn run_simu(
    server: &str,
    data: &std::path::Path,
    plan: &Plan,
) -> anyhow::Result<(Vec<Report>, Sampler)> {
    let (tx, mut rx) = mpsc::channel(64);
    let mut callee = spawn_peer(server, data, "callee", None, plan, tx.clone())?;
    wait_online(&mut rx, "callee").await?;
    let mut caller = spawn_peer(server, data, "caller", Some("simu_bench_callee"), plan, tx)?;
    let pids = [callee.id(), caller.id()].into_iter().flatten().collect();
    let mut sampler = Sampler::start(pids, SAMPLE_EVERY);
    let reports = collect(&mut rx, plan.deadline(), 2).await;
    sampler.stop();
    for c in [&mut caller, &mut callee] {
        if tokio::time::timeout(Duration::from_secs(10), c.wait())
            .await
            .is_err()
        {
            let _ = c.kill().await;
        }
    }
    Ok((reports?, sampler))
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "n/a".into())
}

/// One line per measured window of the Simu caller: does a long call stay flat?
fn print_windows(reports: &[Report], sampler: &Sampler) {
    println!("Simu caller, window by window (start s, fps, kbit/s, glass-to-glass median ms, PSS MiB of both peers at the end):");
    let mut t0 = None;
    for r in reports {
        if let Report::Window {
            role,
            start_ms,
            end_ms,
            fps,
            bitrate_bps,
            g2g_ms,
            ..
        } = r
        {
            if role != "caller" {
                continue;
            }
            let t0 = *t0.get_or_insert(*start_ms);
            let mut g = g2g_ms.clone();
            g.sort_by(|a, b| a.total_cmp(b));
            let median = g.get(g.len() / 2).copied();
            println!(
                "  {:>6.0} {:>6.1} {:>8.0} {:>8} {:>8.0}",
                (start_ms - t0) as f64 / 1000.0,
                fps,
                bitrate_bps / 1000.0,
                opt(median),
                sampler.pss_at(*end_ms) as f64 / (1024.0 * 1024.0)
            );
        }
    }
}

fn print_table(plan: &Plan, simu: &Summary, chrome: Option<&Summary>) {
    println!("simu bench call: {} calls x {} s measured, 1280x720@30 sources, video capped at {} kbit/s, {} preferred", plan.calls, plan.seconds, plan.kbps, plan.codec);
    println!(
        "{:<26} {:>12} {:>12} {:>16}",
        "", "Simu", "Chromium", "Simu/Chromium"
    );
    let c = |f: &dyn Fn(&Summary) -> String| chrome.map(f).unwrap_or_else(|| "-".into());
    let rows: Vec<(&str, String, String, String)> = vec![
        (
            "CPU, % of one core",
            format!("{:.1}", simu.cpu_percent),
            c(&|s| format!("{:.1}", s.cpu_percent)),
            c(&|s| ratio(simu.cpu_percent, s.cpu_percent)),
        ),
        (
            "CPU seconds (both peers)",
            format!("{:.2}", simu.cpu_seconds),
            c(&|s| format!("{:.2}", s.cpu_seconds)),
            String::new(),
        ),
        (
            "peak memory, PSS MiB",
            format!("{:.0}", simu.peak_memory_mib),
            c(&|s| format!("{:.0}", s.peak_memory_mib)),
            c(&|s| ratio(simu.peak_memory_mib, s.peak_memory_mib)),
        ),
        (
            "setup median, ms",
            opt(simu.setup_ms_median),
            c(&|s| opt(s.setup_ms_median)),
            c(&|s| {
                ratio(
                    simu.setup_ms_median.unwrap_or(0.0),
                    s.setup_ms_median.unwrap_or(0.0),
                )
            }),
        ),
        (
            "glass-to-glass median, ms",
            opt(simu.g2g_ms_median),
            c(&|s| opt(s.g2g_ms_median)),
            c(&|s| {
                ratio(
                    simu.g2g_ms_median.unwrap_or(0.0),
                    s.g2g_ms_median.unwrap_or(0.0),
                )
            }),
        ),
        (
            "glass-to-glass p95, ms",
            opt(simu.g2g_ms_p95),
            c(&|s| opt(s.g2g_ms_p95)),
            String::new(),
        ),
        (
            "received fps",
            format!("{:.1}", simu.fps),
            c(&|s| format!("{:.1}", s.fps)),
            String::new(),
        ),
        (
            "received video kbit/s",
            format!("{:.0}", simu.video_kbps),
            c(&|s| format!("{:.0}", s.video_kbps)),
            c(&|s| ratio(simu.video_kbps, s.video_kbps)),
        ),
        (
            "received resolution",
            simu.resolution.clone(),
            c(&|s| s.resolution.clone()),
            String::new(),
        ),
        (
            "codec",
            simu.codec.clone(),
            c(&|s| s.codec.clone()),
            String::new(),
        ),
    ];
    for (name, a, b, r) in rows {
        println!("{name:<26} {a:>12} {b:>12} {r:>16}");
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    if let Some(ch) = chrome {
        println!(
            "target CPU <= 0.6x Chromium: {} ({})",
            verdict(simu.cpu_percent <= 0.6 * ch.cpu_percent),
            ratio(simu.cpu_percent, ch.cpu_percent)
        );
        if let (Some(a), Some(b)) = (simu.setup_ms_median, ch.setup_ms_median) {
            println!(
                "target setup <= Chromium: {} ({a:.0} vs {b:.0} ms)",
                verdict(a <= b)
            );
        }
    }
    if let Some(g) = simu.g2g_ms_median {
        println!(
            "target glass-to-glass median < 50 ms: {} ({g:.1} ms)",
            verdict(g < 50.0)
        );
    }
}

pub async fn run(a: CallBenchArgs) -> anyhow::Result<i32> {
    let p = &a.plan;
    anyhow::ensure!(
        p.calls >= 1 && p.seconds > 0.0,
        "at least one call of some seconds"
    );
    let codec: media::codec::VideoCodec = a.codec.parse().map_err(anyhow::Error::msg)?;
    let plan = Plan {
        calls: p.calls,
        seconds: p.seconds,
        warmup: p.warmup,
        kbps: p.kbps,
        windows: p.windows.max(1),
        codec: codec.to_string(),
    };
    let (dir, srv) = super::loopback_server().await?;
    let url = srv.base_url();
    let (reports, sampler) = run_simu(&url, dir.path(), &plan)
        .await
        .context("Simu calls")?;
    let simu = Summary::from_reports("simu", &reports, &sampler);
    if plan.windows > 1 && !a.json {
        print_windows(&reports, &sampler);
    }
    let chrome = if a.no_chromium {
        None
    } else if !a.chromium.exists() {
        eprintln!("{} not found: measuring Simu only", a.chromium.display());
        None
    } else {
        let (reports, sampler) = chromium::run(&a.chromium, &srv, &plan, chromium::Tabs::Both)
            .await
            .context("Chromium calls")?;
        Some(Summary::from_reports("chromium", &reports, &sampler))
    };
    // Chromium sends, Simu receives: the receive path against a libwebrtc sender.
    let mixed = match &chrome {
        Some(_) => Some(
            run_mixed(&a.chromium, &srv, dir.path(), &plan)
                .await
                .context("Chromium calling Simu")?,
        ),
        None => None,
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "simu": simu, "chromium": chrome, "chromium_to_simu": mixed })
        );
    } else {
        print_table(&plan, &simu, chrome.as_ref());
        if let Some(m) = &mixed {
            println!(
                "Chromium sends, Simu receives: {:.1} fps, {:.0} kbit/s, {} ({}), setup median {} ms",
                m.fps,
                m.video_kbps,
                m.resolution,
                m.codec,
                opt(m.setup_ms_median)
            );
        }
    }
    Ok(0)
}

/// One Chromium tab calls a Simu peer: what Simu receives from a libwebrtc sender.
async fn run_mixed(
    exe: &std::path::Path,
    srv: &server::ServerHandle,
    data: &std::path::Path,
    plan: &Plan,
) -> anyhow::Result<Summary> {
    let (tx, mut rx) = mpsc::channel(64);
    let mut callee = spawn_peer(&srv.base_url(), data, "callee", None, plan, tx)?;
    wait_online(&mut rx, "callee").await?;
    let jid = format!("simu_bench_callee@{}", srv.state.cfg.domain);
    let deadline = plan.deadline();
    let collected = tokio::spawn(async move { collect(&mut rx, deadline, 1).await });
    let (_, sampler) = chromium::run(exe, srv, plan, chromium::Tabs::CallerTo(jid)).await?;
    if tokio::time::timeout(Duration::from_secs(20), callee.wait())
        .await
        .is_err()
    {
        let _ = callee.kill().await;
    }
    let simu_reports = tokio::time::timeout(Duration::from_secs(10), collected)
        .await
        .context("the Simu callee did not finish")???;
    Ok(Summary::from_reports(
        "chromium_to_simu",
        &simu_reports,
        &sampler,
    ))
}
