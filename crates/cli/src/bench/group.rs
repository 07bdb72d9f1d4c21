//! `simu bench group`: an N-member call between `simu` processes (synthetic 1280x720@30 camera
//! and tone) through an in-process simu-server on loopback, in mesh or through a Janus
//! conference server (`--mode sfu`, with Janus's own CPU), and a 1:1 call measured the same way
//! in the same run as the reference. Per member: CPU, peak memory, uplink and downlink (RTP
//! payload), the frame rate of every stream it receives, and its join time (answering, or
//! dialling, to the first frame from every other member); the CPU ratio to the 1:1 call says
//! what each extra member costs. With
//! `--chromium K`, K of the members are Chromium tabs in the same Janus room (`group_tabs`), so
//! a Simu member's CPU is set beside a browser's in the same call.

use super::call::procs::{now_ms, Sampler};
use super::group_tabs::Tabs;
use anyhow::Context;
use clap::Args;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// The least frame rate every received stream must keep for the bench to pass.
const MIN_FPS: f64 = 10.0;
/// How often each member reports its legs' counters.
const REPORT_EVERY: &str = "0.25";

#[derive(Args)]
pub struct GroupArgs {
    /// Members of the call (mesh: 2 to 4; sfu: 2 to 16).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=16))]
    participants: u32,
    /// Seconds of connected call (fps and CPU are measured over its middle).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// `mesh`, or `sfu` through the Janus named by SIMU_JANUS_URL, SIMU_JANUS_SECRET and
    /// SIMU_JANUS_ADMIN_KEY (`scripts/bench-sfu.sh` starts one in a network namespace).
    #[arg(long, default_value = "mesh", value_parser = ["mesh", "sfu"])]
    mode: String,
    /// Janus's process, to measure its CPU beside the members' (sfu).
    #[arg(long, env = "SIMU_JANUS_PID")]
    janus_pid: Option<u32>,
    /// How many of the members are Chromium tabs (sfu; the caller is always Simu).
    #[arg(long, default_value_t = 0)]
    chromium: u32,
    /// The Chromium to run the tabs in.
    #[arg(long, env = "CHROMIUM", default_value = "/usr/bin/chromium")]
    chromium_exe: std::path::PathBuf,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

const MIB: f64 = 1024.0 * 1024.0;

/// What one member measured.
#[derive(Debug, Clone, serde::Serialize)]
struct MemberFigures {
    user: String,
    /// CPU over the measured window, % of one core.
    cpu_percent: f64,
    peak_pss_mib: f64,
    /// Frames per second of each stream it received, over the measured window.
    fps: Vec<f64>,
    /// RTP payload received from everyone, and sent as its receivers saw it (`fill_uplinks`).
    downlink_kbps: f64,
    uplink_kbps: Option<f64>,
    /// Payload received from each member (NX ID), kbit/s.
    #[serde(skip)]
    from_kbps: HashMap<String, f64>,
    /// From answering (or dialling) to the first frame from every other member.
    join_ms: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize)]
struct RunFigures {
    participants: u32,
    /// The Simu members.
    members: Vec<MemberFigures>,
    /// The Chromium tabs, each charged an even share of the browser (`--chromium`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    chromium: Vec<MemberFigures>,
    /// The conference server's CPU over the same window, % of one core (sfu).
    janus_cpu_percent: Option<f64>,
}

impl RunFigures {
    fn mean_cpu(&self) -> f64 {
        self.members.iter().map(|m| m.cpu_percent).sum::<f64>() / self.members.len().max(1) as f64
    }

    /// A Chromium tab's CPU beside a Simu member's in the same call, if there were tabs.
    fn chromium_cpu(&self) -> Option<f64> {
        (!self.chromium.is_empty()).then(|| {
            self.chromium.iter().map(|m| m.cpu_percent).sum::<f64>() / self.chromium.len() as f64
        })
    }

    fn everyone(&self) -> impl Iterator<Item = &MemberFigures> {
        self.members.iter().chain(&self.chromium)
    }

    fn fps_range(&self) -> (f64, f64) {
        let all: Vec<f64> = self.everyone().flat_map(|m| m.fps.clone()).collect();
        let min = all.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
        (if min.is_finite() { min } else { 0.0 }, mean)
    }
}

/// One member's process and what it printed, with when (Unix ms).
struct Member {
    user: String,
    child: tokio::process::Child,
    lines: mpsc::Receiver<(i64, serde_json::Value)>,
    sampler: Sampler,
}

fn spawn_member(
    url: &str,
    data: &std::path::Path,
    user: &str,
    args: &[String],
) -> anyhow::Result<Member> {
    let exe = std::env::current_exe().context("finding the simu binary")?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(args)
        .args([
            "--server",
            url,
            "--user",
            user,
            "--password",
            "bench-group-password",
            "--media-ip",
            "127.0.0.1",
            "--json",
            "--stats-every",
            REPORT_EVERY,
        ])
        .env("SIMU_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().context("starting a member")?;
    let pid = child.id().context("member pid")?;
    let mut out = tokio::io::BufReader::new(child.stdout.take().context("member stdout")?).lines();
    let (tx, lines) = mpsc::channel(4096);
    tokio::spawn(async move {
        while let Ok(Some(l)) = out.next_line().await {
            if let Ok(v) = serde_json::from_str(&l) {
                if tx.send((now_ms(), v)).await.is_err() {
                    break;
                }
            }
        }
    });
    Ok(Member {
        user: user.to_string(),
        child,
        lines,
        sampler: Sampler::start(vec![pid], SAMPLE_EVERY),
    })
}

/// Per-member counts of `field` in a `{"participants": [...]}` report.
fn counts(v: &serde_json::Value, field: &str) -> Option<HashMap<String, u64>> {
    Some(
        v.get("participants")?
            .as_array()?
            .iter()
            .filter_map(|p| Some((p["nx_id"].as_str()?.to_string(), p[field].as_u64()?)))
            .collect(),
    )
}

/// Per-leg video frame counts in a `{"participants": [...]}` report.
fn legs(v: &serde_json::Value) -> Option<HashMap<String, u64>> {
    counts(v, "video_frames")
}

/// How fast each counter of the report nearest `window.0` grew until the one nearest
/// `window.1`, per second.
fn rates(reports: &[(i64, HashMap<String, u64>)], window: (i64, i64)) -> HashMap<String, f64> {
    let at = |t: i64| reports.iter().min_by_key(|(at, _)| (at - t).abs());
    match (at(window.0), at(window.1)) {
        (Some((t0, a)), Some((t1, b))) if t1 > t0 => b
            .iter()
            .map(|(id, n)| {
                let grew = n.saturating_sub(a.get(id).copied().unwrap_or(0));
                (id.clone(), grew as f64 * 1000.0 / (t1 - t0) as f64)
            })
            .collect(),
        _ => HashMap::new(),
    }
}

/// CPU (% of one core over `window`) and peak memory (MiB) of `s`, split `share` ways.
fn usage(s: &Sampler, window: (i64, i64), share: f64) -> (f64, f64) {
    let secs = (window.1 - window.0) as f64 / 1000.0;
    let cpu = s.cpu_between(window.0, window.1) / secs.max(0.001) * 100.0;
    (cpu / share, s.peak_pss() as f64 / MIB / share)
}

/// What a member's lines say: when it started (dial or answer), its leg reports, and when every
/// other member's video had arrived.
fn figures(
    user: &str,
    (cpu_percent, peak_pss_mib): (f64, f64),
    lines: &[(i64, serde_json::Value)],
    others: usize,
    window: (i64, i64),
) -> MemberFigures {
    let started = lines
        .iter()
        .find(|(_, v)| v["event"] == "state_changed" && v["state"] == "calling")
        .map(|(t, _)| *t);
    let reports: Vec<(i64, HashMap<String, u64>)> = lines
        .iter()
        .filter_map(|(t, v)| Some((*t, legs(v)?)))
        .collect();
    let bytes: Vec<(i64, HashMap<String, u64>)> = lines
        .iter()
        .filter_map(|(t, v)| Some((*t, counts(v, "payload_bytes")?)))
        .collect();
    let all_in = reports
        .iter()
        .find(|(_, l)| l.len() >= others && l.values().all(|f| *f > 0))
        .map(|(t, _)| *t);
    let fps = rates(&reports, window).into_values().collect();
    let from_kbps: HashMap<String, f64> = rates(&bytes, window)
        .into_iter()
        .map(|(id, b)| (id, b * 8.0 / 1000.0))
        .collect();
    MemberFigures {
        user: user.to_string(),
        cpu_percent,
        peak_pss_mib,
        fps,
        downlink_kbps: from_kbps.values().sum(),
        uplink_kbps: None,
        from_kbps,
        join_ms: match (started, all_in) {
            (Some(s), Some(j)) => Some((j - s) as f64),
            _ => None,
        },
    }
}

/// Each member's uplink as its receivers saw it: the payload every other member got from it,
/// averaged over them through the SFU (one stream, forwarded) or summed in mesh (one copy per
/// leg).
fn fill_uplinks(members: &mut [MemberFigures], sfu: bool) {
    let ups: Vec<Option<f64>> = members
        .iter()
        .map(|m| {
            let me = format!("{}@", m.user);
            let seen: Vec<f64> = members
                .iter()
                .flat_map(|r| r.from_kbps.iter())
                .filter(|(id, _)| id.starts_with(&me))
                .map(|(_, k)| *k)
                .collect();
            let sum: f64 = seen.iter().sum();
            (!seen.is_empty()).then(|| if sfu { sum / seen.len() as f64 } else { sum })
        })
        .collect();
    for (m, up) in members.iter_mut().zip(ups) {
        m.uplink_kbps = up;
    }
}

/// How a call is carried: mesh, or the SFU (with Janus's pid to measure, and Chromium tabs).
struct Carry<'a> {
    janus_pid: Option<u32>,
    /// The Chromium to run tabs in, and how many of the members are tabs.
    chromium: Option<(&'a std::path::Path, u32)>,
}

/// One call of `n` members: everyone but the first answers, the first calls them all.
async fn run_call(
    srv: &server::ServerHandle,
    data: &std::path::Path,
    tag: &str,
    n: u32,
    seconds: u64,
    sfu: Option<Carry<'_>>,
) -> anyhow::Result<RunFigures> {
    let url = &srv.base_url();
    let tabs_n = sfu.as_ref().and_then(|c| c.chromium).map_or(0, |(_, k)| k);
    let users: Vec<String> = (0..n - tabs_n)
        .map(|i| format!("bench_{tag}_{i}"))
        .collect();
    let tab_users: Vec<String> = (0..tabs_n)
        .map(|i| format!("bench_{tag}_chromium_{i}"))
        .collect();
    let mut tabs = match sfu.as_ref().and_then(|c| c.chromium) {
        Some((exe, _)) => Some(
            Tabs::open(exe, srv, &tab_users)
                .await
                .context("opening the Chromium tabs")?,
        ),
        None => None,
    };
    let mut members = Vec::new();
    for u in &users[1..] {
        let args: Vec<String> = ["answer", "--calls", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        members.push(spawn_member(url, data, u, &args)?);
    }
    // Give the members a moment to sign in (an invitation to one not yet online is kept
    // and delivered later, but it would count in its join time).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut args: Vec<String> = vec!["call".into()];
    args.extend(users[1..].iter().chain(&tab_users).cloned());
    args.extend(["--video".into(), "--duration".into(), seconds.to_string()]);
    if sfu.is_some() {
        args.push("--sfu".into());
    }
    let janus = sfu
        .as_ref()
        .and_then(|c| c.janus_pid)
        .map(|pid| Sampler::start(vec![pid], SAMPLE_EVERY));
    members.insert(0, spawn_member(url, data, &users[0], &args)?);
    // The tabs are read as often as the CLI members report, until the caller hangs up.
    let mut read_tabs = tokio::time::interval(Duration::from_secs_f64(REPORT_EVERY.parse()?));
    let status = {
        let caller_done =
            tokio::time::timeout(Duration::from_secs(seconds + 60), members[0].child.wait());
        tokio::pin!(caller_done);
        loop {
            tokio::select! {
                done = &mut caller_done => break done.context("the call did not end in time")??,
                _ = read_tabs.tick(), if tabs.is_some() => {
                    if let Some(t) = tabs.as_mut() {
                        if let Err(e) = t.poll().await {
                            tracing::warn!("reading a Chromium tab: {e:#}");
                        }
                    }
                }
            }
        }
    };
    let tabs = match tabs {
        Some(t) => Some(t.close().await),
        None => None,
    };
    anyhow::ensure!(
        status.success(),
        "the caller's call did not end normally ({status})"
    );
    let mut all = Vec::new();
    for m in &mut members {
        m.sampler.stop();
        let _ = m.child.start_kill();
        let mut lines = Vec::new();
        while let Ok(l) = m.lines.try_recv() {
            lines.push(l);
        }
        all.push(lines);
    }
    // The measured window: the middle of the call, after everyone has joined.
    let joined = all
        .iter()
        .filter_map(|l| {
            l.iter()
                .find(|(_, v)| {
                    legs(v).is_some_and(|x| x.len() + 1 >= n as usize && x.values().all(|f| *f > 0))
                })
                .map(|(t, _)| *t)
        })
        .max()
        .context("not every member received everyone's video")?;
    let end = all[0].last().map(|(t, _)| *t).unwrap_or(joined);
    let window = (joined + 2000, (end - 2000).max(joined + 3000));
    let janus_cpu_percent = janus.map(|mut j| {
        j.stop();
        j.cpu_between(window.0, window.1) / ((window.1 - window.0) as f64 / 1000.0) * 100.0
    });
    let others = n as usize - 1;
    let chromium = match &tabs {
        Some((tabs, browser)) => {
            let share = usage(browser, window, tabs.len() as f64);
            tabs.iter()
                .map(|t| figures(&t.user, share, &t.lines, others, window))
                .collect()
        }
        None => Vec::new(),
    };
    let mut everyone: Vec<MemberFigures> = members
        .iter()
        .zip(&all)
        .map(|(m, l)| figures(&m.user, usage(&m.sampler, window, 1.0), l, others, window))
        .chain(chromium)
        .collect();
    fill_uplinks(&mut everyone, sfu.is_some());
    let chromium = everyone.split_off(members.len());
    Ok(RunFigures {
        janus_cpu_percent,
        participants: n,
        members: everyone,
        chromium,
    })
}

pub async fn run(a: GroupArgs) -> anyhow::Result<i32> {
    let sfu = a.mode == "sfu";
    anyhow::ensure!(
        sfu || a.participants <= 4,
        "a mesh call holds at most 4 members; use --mode sfu for more"
    );
    anyhow::ensure!(
        a.chromium == 0 || (sfu && a.chromium < a.participants),
        "--chromium needs --mode sfu and fewer tabs than members (the caller is Simu)"
    );
    let (dir, srv) = if sfu {
        let janus = server::config::SfuConfig::from_env().context(
            "--mode sfu needs SIMU_JANUS_URL, SIMU_JANUS_SECRET and SIMU_JANUS_ADMIN_KEY \
             (scripts/bench-sfu.sh sets them)",
        )?;
        super::loopback_server_with(janus).await?
    } else {
        super::loopback_server().await?
    };
    let reference = run_call(&srv, dir.path(), "ref", 2, a.seconds, None)
        .await
        .context("the 1:1 reference call")?;
    let carry = sfu.then(|| Carry {
        janus_pid: a.janus_pid,
        chromium: (a.chromium > 0).then_some((a.chromium_exe.as_path(), a.chromium)),
    });
    let group = run_call(&srv, dir.path(), "group", a.participants, a.seconds, carry)
        .await
        .context("the group call")?;
    srv.stop().await;
    let ratio = group.mean_cpu() / reference.mean_cpu().max(0.001);
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "mode": a.mode, "reference": reference, "group": group, "cpu_ratio": ratio,
                "chromium_ratio": group.chromium_cpu().map(|c| group.mean_cpu() / c.max(0.001)) })
        );
        return Ok(i32::from(!delivered(&group)));
    }
    let rows = |r: &RunFigures| -> Vec<(&'static str, MemberFigures)> {
        r.members
            .iter()
            .map(|m| ("", m.clone()))
            .chain(r.chromium.iter().map(|m| ("(tab)", m.clone())))
            .collect()
    };
    for r in [&reference, &group] {
        let (min_fps, mean_fps) = r.fps_range();
        println!(
            "{} members ({} streams): CPU {:.0}% of a core per member, fps min {:.1} mean {:.1}",
            r.participants,
            r.participants * (r.participants - 1),
            r.mean_cpu(),
            min_fps,
            mean_fps
        );
        for (kind, m) in rows(r) {
            println!(
                "  {:<30} CPU {:>5.1}%  PSS {:>6.1} MiB  up {:>5} down {:>5.0} kbit/s  join {:>6}  fps {}",
                format!("{} {kind}", m.user),
                m.cpu_percent,
                m.peak_pss_mib,
                m.uplink_kbps.map_or("-".to_string(), |u| format!("{u:.0}")),
                m.downlink_kbps,
                m.join_ms.map_or("-".to_string(), |j| format!("{j:.0} ms")),
                m.fps
                    .iter()
                    .map(|f| format!("{f:.1}"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
        }
    }
    if let Some(j) = group.janus_cpu_percent {
        println!("Janus: CPU {j:.1}% of a core for the whole room");
    }
    println!(
        "per-member CPU, {} members ({}) vs 1:1: x{ratio:.2}",
        a.participants, a.mode
    );
    if let Some(c) = group.chromium_cpu() {
        println!(
            "in the same room: Simu {:.1}% of a core per member, Chromium {c:.1}% per tab: x{:.2} (goal <= 0.60)",
            group.mean_cpu(),
            group.mean_cpu() / c.max(0.001)
        );
    }
    Ok(i32::from(!delivered(&group)))
}

/// The bench is a check too: every member joined and every stream kept moving.
fn delivered(r: &RunFigures) -> bool {
    let want = (r.participants - 1) as usize;
    let ok = r
        .everyone()
        .all(|m| m.join_ms.is_some() && m.fps.len() == want && m.fps.iter().all(|f| *f >= MIN_FPS));
    if !ok {
        eprintln!(
            "not every stream of the {}-member call kept {MIN_FPS} fps or more",
            r.participants
        );
    }
    ok
}
