//! `simu bench link`: what a call link costs a guest. The web call page's transferred size (JS +
//! CSS as simu-server sends them, gzipped), and the time from pressing "Join" on the page in
//! Chromium to the first remote video frame, the link's owner (a Simu client) answering
//! automatically; beside it, in the same run, a Simu-to-Simu call from "Call" to the first frame.

use super::call::chromium::Browser;
use super::call::peer::{first_frame, reach};
use crate::client::{manager, sign_in, Account};
use anyhow::Context;
use call::{CallEvent, CallManager, CallState, Preset, Timeouts};
use clap::Args;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct LinkArgs {
    /// Joins (and reference calls) measured; the figures are their medians.
    #[arg(long, default_value_t = 5)]
    tries: usize,
    #[arg(long, env = "CHROMIUM", default_value = "/usr/bin/chromium")]
    chromium: std::path::PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// The transferred-size goal for the page's JS and CSS, bytes.
const SIZE_GOAL: usize = 150 * 1024;
/// The join-to-first-frame goal on loopback, ms.
const JOIN_GOAL_MS: f64 = 2000.0;

fn account(server: &str, data: &std::path::Path, user: &str) -> Account {
    Account {
        server: server.to_string(),
        user: user.to_string(),
        password: Some("bench-link-password".into()),
        api_key: None,
        secret_key: None,
        server_data: Some(data.to_path_buf()),
        name: None,
        media_ip: "127.0.0.1".into(),
        relay: false,
        codecs: Vec::new(),
    }
}

/// The page's JS and CSS as the server sends them to a browser that takes gzip: (name, bytes).
async fn page_size(base: &str) -> anyhow::Result<Vec<(String, usize)>> {
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .header("Accept-Encoding", "gzip")
            .send()
    };
    // The page itself plain (reqwest here does not decompress); its assets as sent, gzipped.
    let html = http
        .get(format!("{base}/call"))
        .send()
        .await?
        .text()
        .await?;
    let mut out = Vec::new();
    for piece in html.split("/call-assets/").skip(1) {
        let name = piece.split('"').next().unwrap_or_default().to_string();
        if !(name.ends_with(".js") || name.ends_with(".css")) {
            continue;
        }
        let r = get(format!("/call-assets/{name}")).await?;
        anyhow::ensure!(r.status().is_success(), "{name}: {}", r.status());
        out.push((name, r.bytes().await?.len()));
    }
    anyhow::ensure!(!out.is_empty(), "the page names no script or style");
    Ok(out)
}

/// Types a name, waits for the camera preview, presses Join, and polls (every 10 ms, as the
/// reference does) until the first remote frame is decoded; resolves with the ms in between.
const JOIN_AND_TIME: &str = r#"(async () => {
  const until = async (f, what) => { for (let i = 0; i < 3000; i++) { const v = f(); if (v) return v; await new Promise((r) => setTimeout(r, 10)); } throw new Error(`no ${what}`); };
  const input = await until(() => document.querySelector("form input[autocomplete=name]"), "join form");
  input.value = "Bench"; input.dispatchEvent(new Event("input", { bubbles: true }));
  await until(() => document.querySelector("video[aria-label='You']"), "camera preview");
  const button = await until(() => { const b = document.querySelector("button[type=submit]"); return b && !b.disabled && b; }, "Join enabled");
  const t0 = performance.now();
  button.click();
  for (;;) {
    const s = window.simuCall ? await window.simuCall.stats() : null;
    if (s && s.video.framesDecoded > 0) return performance.now() - t0;
    if (s && (s.phase === "failed" || s.phase === "declined")) throw new Error(`the call ${s.phase}`);
    if (performance.now() - t0 > 30000) throw new Error("no remote frame in 30 s");
    await new Promise((r) => setTimeout(r, 10));
  }
})()"#;

const HANG_UP: &str = r#"(() => { const b = [...document.querySelectorAll("button")].find((x) => x.textContent === "Hang up"); if (b) b.click(); return !!b; })()"#;

/// Waits until the tab has loaded the page (an evaluation during navigation fails).
async fn loaded(browser: &mut Browser, session: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = browser
            .evaluate(
                session,
                "location.pathname === '/call' && document.readyState === 'complete'",
            )
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if done {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the page did not load in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Accepts every call `m` gets, until dropped.
fn auto_answer(m: &CallManager) -> tokio::task::JoinHandle<()> {
    let m = m.clone();
    tokio::spawn(async move {
        let mut events = m.subscribe();
        loop {
            match events.recv().await {
                Ok(CallEvent::IncomingCall { .. }) => {
                    if let Err(e) = m.accept_call(true, true).await {
                        tracing::warn!("bench owner could not answer: {e}");
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    })
}

pub async fn run(a: LinkArgs) -> anyhow::Result<i32> {
    let tries = a.tries.max(1);
    let (dir, srv) = super::loopback_server().await?;
    let base = srv.base_url();
    let sizes = page_size(&base).await.context("fetching the page")?;
    let total: usize = sizes.iter().map(|(_, n)| n).sum();
    let owner_acct = account(&base, dir.path(), "bench_link_owner");
    let owner = manager(
        &owner_acct,
        Preset::Medium.quality(),
        Timeouts::default(),
        None,
    )
    .await?;
    let caller = manager(
        &account(&base, dir.path(), "bench_link_caller"),
        Preset::Medium.quality(),
        Timeouts::default(),
        None,
    )
    .await?;
    let answering = auto_answer(&owner);
    let mut reference = Vec::new();
    for _ in 0..tries {
        let before = caller.receive_counters().call_id();
        let t0 = Instant::now();
        caller.initiate_call("bench_link_owner", true, true).await?;
        first_frame(&caller, before).await?;
        reference.push(t0.elapsed().as_secs_f64() * 1000.0);
        caller.end_call().await?;
        reach(&caller, CallState::Idle).await?;
        reach(&owner, CallState::Idle).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let link = sign_in(&owner_acct)
        .await?
        .rest
        .call_url("bench_link_caller", "video", None, None)
        .await?
        .call_url;
    let mut browser = Browser::launch(&a.chromium).await?;
    let mut joins = Vec::new();
    let measured: anyhow::Result<()> = async {
        for _ in 0..tries {
            let tab = browser.open(&link).await?;
            let session = browser.attach(&tab).await?;
            loaded(&mut browser, &session).await?;
            let ms = browser
                .evaluate(&session, JOIN_AND_TIME)
                .await?
                .as_f64()
                .context("the page gave no time")?;
            joins.push(ms);
            browser.evaluate(&session, HANG_UP).await?;
            reach(&owner, CallState::Idle).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }
    .await;
    browser.close().await;
    answering.abort();
    owner.dispose().await;
    caller.dispose().await;
    srv.stop().await;
    measured?;
    let (join_ms, ref_ms) = (median(&joins), median(&reference));
    let ok = total <= SIZE_GOAL && join_ms <= JOIN_GOAL_MS;
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "page_bytes_gzip": total, "files": sizes, "join_ms": joins,
                "join_median_ms": join_ms, "reference_ms": reference, "reference_median_ms": ref_ms,
                "ratio": join_ms / ref_ms.max(1.0), "ok": ok })
        );
    } else {
        for (name, n) in &sizes {
            println!("  {name}: {:.1} KB gzipped", *n as f64 / 1024.0);
        }
        println!(
            "page JS + CSS: {:.1} KB transferred (goal under {} KB)",
            total as f64 / 1024.0,
            SIZE_GOAL / 1024
        );
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "Join on the page -> first remote frame: median {join_ms:.0} ms ({} ms; goal under {JOIN_GOAL_MS:.0})",
            list(&joins)
        );
        println!(
            "reference, Simu calls Simu -> first remote frame: median {ref_ms:.0} ms ({} ms); page / reference {:.2}",
            list(&reference),
            join_ms / ref_ms.max(1.0)
        );
    }
    Ok(i32::from(!ok))
}
