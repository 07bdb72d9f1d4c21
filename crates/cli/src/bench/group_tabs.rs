//! Chromium tabs as members of `simu bench group --mode sfu --chromium K`'s call, in the same
//! Janus room as the Simu members: one headless Chromium, each tab running the browser
//! conference member (`call/member.js`: Chromium's own WebRTC, NX and the Janus WebSocket API).
//! The browser's whole process tree is measured and shared evenly by its tabs.

use super::call::chromium::{self, Browser};
use super::call::procs::{now_ms, Sampler};
use anyhow::Context;
use std::collections::HashMap;
use std::time::Duration;

const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The tabs' camera: what a Simu conference member sends (`quality::for_conference`), so a tab
/// never encodes a bigger picture than a Simu member does.
const TAB_VIDEO: &str = r#"{"width": 640, "height": 360, "frameRate": 30}"#;

/// Whether the page's scripts have defined the member.
const MEMBER_LOADED: &str = "!!window.Member";

/// One tab: its user, DevTools session, and what it reported, with when (Unix ms).
pub struct Tab {
    pub user: String,
    session: String,
    pub lines: Vec<(i64, serde_json::Value)>,
    invited: bool,
}

/// Waits (20 s at most) until a new tab's page has loaded the member. Until its navigation
/// commits, a tab evaluates in about:blank, whose context the navigation then destroys.
async fn wait_loaded(browser: &mut Browser, session: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let last = match browser.evaluate(session, MEMBER_LOADED).await {
            Ok(serde_json::Value::Bool(true)) => return Ok(()),
            Ok(v) => format!("not yet: {v}"),
            Err(e) => format!("{e:#}"),
        };
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the member page did not load in 20 s ({last})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The browser and its signed-in tabs.
pub struct Tabs {
    browser: Browser,
    site: tokio::task::JoinHandle<()>,
    tabs: Vec<Tab>,
    sampler: Sampler,
}

impl Tabs {
    /// Opens one tab per user in a new Chromium (`exe`), each signed in to `srv` and waiting.
    pub async fn open(
        exe: &std::path::Path,
        srv: &server::ServerHandle,
        users: &[String],
    ) -> anyhow::Result<Tabs> {
        let (origin, _reports, site) = chromium::serve(srv.base_url(), HashMap::new()).await?;
        let mut browser = Browser::launch(exe).await?;
        let sampler = Sampler::start(vec![browser.pid], SAMPLE_EVERY);
        let cfg = &srv.state.cfg;
        let video: serde_json::Value = serde_json::from_str(TAB_VIDEO)?;
        let mut tabs = Vec::new();
        for user in users {
            // The bench runs the server in-process, so it mints the tabs' tokens itself.
            srv.state.store.create_user(user, None, None).await?;
            let jid = format!("{user}@{}", cfg.domain);
            let config = serde_json::json!({
                "nxws": srv.state.nxws, "jid": jid, "token": srv.mint_nx_token(&jid), "rest": origin,
                "apiKey": cfg.api_key, "secretKey": cfg.secret_key, "video": video,
            });
            let target = browser.open(&format!("{origin}/member")).await?;
            let session = browser.attach(&target).await?;
            wait_loaded(&mut browser, &session)
                .await
                .with_context(|| format!("loading tab {user}"))?;
            browser
                .evaluate(
                    &session,
                    &format!("(async () => {{ window.peer = new window.Member({config}); await window.peer.connect(); return true; }})()"),
                )
                .await
                .with_context(|| format!("signing in tab {user}"))?;
            tabs.push(Tab {
                user: user.clone(),
                session,
                lines: Vec::new(),
                invited: false,
            });
        }
        Ok(Tabs {
            browser,
            site,
            tabs,
            sampler,
        })
    }

    /// Reads every tab's counters once, as lines in the `simu` CLI's form: a `calling` event
    /// when it was invited, then `{"participants": [{nx_id, video_frames, audio_frames,
    /// payload_bytes}]}`.
    pub async fn poll(&mut self) -> anyhow::Result<()> {
        for t in &mut self.tabs {
            let s = self
                .browser
                .evaluate(&t.session, "window.peer.stats()")
                .await?;
            let at = now_ms();
            if let (false, Some(invited)) = (t.invited, s["invitedAt"].as_i64()) {
                t.invited = true;
                t.lines.push((
                    invited,
                    serde_json::json!({ "event": "state_changed", "state": "calling" }),
                ));
            }
            let members: Vec<serde_json::Value> = s["members"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(id, v)| {
                            let bytes: u64 = v["bytes"]
                                .as_object()
                                .map(|b| b.values().filter_map(|x| x.as_u64()).sum())
                                .unwrap_or(0);
                            serde_json::json!({
                                "nx_id": id, "video_frames": v["videoFrames"], "audio_frames": v["audioSamples"],
                                "payload_bytes": bytes,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            t.lines
                .push((at, serde_json::json!({ "participants": members })));
        }
        Ok(())
    }

    /// Closes the browser: the tabs with their lines, and its measured process tree.
    pub async fn close(mut self) -> (Vec<Tab>, Sampler) {
        self.sampler.stop();
        self.browser.close().await;
        self.site.abort();
        (self.tabs, self.sampler)
    }
}
