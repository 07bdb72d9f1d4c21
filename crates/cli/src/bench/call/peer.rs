//! `simu bench call-peer`: one Simu side of `simu bench call`, in its own process so its CPU
//! and memory can be read apart from the other side's. Prints JSON reports, one per line.

use super::report::Report;
use crate::client::{manager, Account};
use call::{CallEvent, CallManager, CallState, Quality};
use clap::Args;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct PeerArgs {
    #[command(flatten)]
    account: Account,
    /// Call this user (the caller); without it, answer calls (the callee).
    #[arg(long)]
    callee: Option<String>,
    #[command(flatten)]
    plan: super::PlanArgs,
}

fn emit(r: &Report) {
    if let Ok(s) = serde_json::to_string(r) {
        println!("{s}");
    }
}

pub async fn run(a: PeerArgs) -> anyhow::Result<i32> {
    let q = Quality::default().with_video_kbps(a.plan.kbps)?;
    let m = manager(&a.account, q, call::Timeouts::default(), None).await?;
    m.start_stats_collection(Duration::from_secs(1)).await?;
    emit(&Report::Online);
    let result = match &a.callee {
        Some(to) => caller(&m, to, &a).await,
        None => callee(&m, &a).await,
    };
    if let Err(e) = &result {
        emit(&Report::Error {
            message: format!("{e:#}"),
        });
    }
    m.dispose().await;
    emit(&Report::Done);
    Ok(i32::from(result.is_err()))
}

async fn caller(m: &CallManager, to: &str, a: &PeerArgs) -> anyhow::Result<()> {
    for _ in 0..a.plan.calls {
        let before = m.receive_counters().call_id();
        m.initiate_call(to, true, true).await?;
        reach(m, CallState::Connected).await?;
        first_frame(m, before).await?;
        tokio::time::sleep(Duration::from_secs_f64(a.plan.warmup)).await;
        let windows = a.plan.windows.max(1);
        for _ in 0..windows {
            let secs = a.plan.seconds / windows as f64;
            emit(
                &window(
                    m,
                    "caller",
                    tokio::time::sleep(Duration::from_secs_f64(secs)),
                )
                .await,
            );
        }
        m.end_call().await?;
        reach(m, CallState::Idle).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}

async fn callee(m: &CallManager, a: &PeerArgs) -> anyhow::Result<()> {
    let mut events = m.subscribe();
    for _ in 0..a.plan.calls {
        loop {
            match events.recv().await {
                Ok(CallEvent::IncomingCall { .. }) => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => anyhow::bail!("event stream closed: {e}"),
            }
        }
        let before = m.receive_counters().call_id();
        let accepted = Instant::now();
        m.accept_call(true, true).await?;
        first_frame(m, before).await?;
        emit(&Report::Setup {
            ms: accepted.elapsed().as_secs_f64() * 1000.0,
        });
        tokio::time::sleep(Duration::from_secs_f64(a.plan.warmup)).await;
        let mut state = m.state_watch();
        emit(
            &window(m, "callee", async move {
                let _ = state.wait_for(|s| *s != CallState::Connected).await;
            })
            .await,
        );
        reach(m, CallState::Idle).await?;
    }
    Ok(())
}

pub(crate) async fn reach(m: &CallManager, s: CallState) -> anyhow::Result<()> {
    let mut w = m.state_watch();
    let reached = matches!(
        tokio::time::timeout(Duration::from_secs(30), w.wait_for(|x| *x == s)).await,
        Ok(Ok(_))
    );
    anyhow::ensure!(
        reached,
        "state {s:?} not reached in 30 s (now {:?})",
        m.state()
    );
    Ok(())
}

/// Polls every 10 ms (as the Chromium tabs do) until the first frame of a call that started
/// after `call_before` (the counters' call id then) is decoded.
pub(crate) async fn first_frame(m: &CallManager, call_before: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    // Read afresh each time: the new call's media leg brings its own counters.
    while {
        let c = m.receive_counters();
        c.call_id() == call_before || c.video_frames.load(Ordering::Relaxed) == 0
    } {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no remote video frame within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Received fps, bitrate and glass-to-glass delays from now until `end` completes.
async fn window(m: &CallManager, role: &str, end: impl Future<Output = ()>) -> Report {
    let c = m.receive_counters();
    let mut stats = m.stats_stream();
    let frames0 = c.video_frames.load(Ordering::Relaxed);
    let (_, seen) = c.latencies_since(u64::MAX);
    let (start_ms, started) = (super::procs::now_ms(), Instant::now());
    let mut samples = Vec::new();
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = &mut end => break,
            s = stats.recv() => match s {
                Ok(s) => samples.push(s),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
        }
    }
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let frames = c
        .video_frames
        .load(Ordering::Relaxed)
        .saturating_sub(frames0);
    let g2g_ms = c
        .latencies_since(seen)
        .0
        .iter()
        .map(|us| *us as f64 / 1000.0)
        .collect();
    let bitrate_bps = match (samples.first(), samples.last()) {
        (Some(a), Some(b)) if b.timestamp_ms > a.timestamp_ms => {
            (b.video
                .bytes_received
                .saturating_sub(a.video.bytes_received)
                * 8) as f64
                * 1000.0
                / (b.timestamp_ms - a.timestamp_ms) as f64
        }
        _ => 0.0,
    };
    let (width, height) = m.remote_video().size();
    let codec = samples.last().map(|s| s.codec.clone()).unwrap_or_default();
    Report::Window {
        role: role.into(),
        start_ms,
        end_ms: super::procs::now_ms(),
        fps: frames as f64 / secs,
        bitrate_bps,
        width,
        height,
        g2g_ms,
        codec,
    }
}
