//! The `server`, `answer`, `call` and `history` commands.

use crate::client::{manager, sign_in, Account};
use call::{CallEvent, CallState, Preset, Timeouts};
use clap::Args;
use nx::rest::HistoryQuery;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Data directory (SQLite database, signing key).
    #[arg(long)]
    data: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub async fn server(a: ServerArgs) -> anyhow::Result<i32> {
    let mut cfg = server::ServerConfig::load(a.config.as_deref())?;
    if let Some(l) = a.listen {
        cfg.listen = l;
    }
    if let Some(d) = a.data {
        cfg.data_dir = d;
    }
    let handle = server::start(cfg).await?;
    let echo = handle
        .echo_account()
        .map(|a| echo::EchoBot::start(echo::EchoConfig::beside(handle.addr.ip(), a)));
    println!(
        "simu-server listening on {} (signaling {})",
        handle.base_url(),
        handle.state.nxws
    );
    wait_for_ctrl_c().await;
    if let Some(echo) = echo {
        echo.stop().await;
    }
    handle.stop().await;
    Ok(0)
}

async fn wait_for_ctrl_c() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The next call event, skipping over a lag; `None` once the manager has stopped.
async fn next_event(rx: &mut tokio::sync::broadcast::Receiver<CallEvent>) -> Option<CallEvent> {
    loop {
        match rx.recv().await {
            Ok(e) => return Some(e),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return None,
        }
    }
}

fn print_event(json: bool, e: &CallEvent) {
    if json {
        if let Ok(s) = serde_json::to_string(e) {
            println!("{s}");
        }
    } else {
        match e {
            CallEvent::StateChanged { state } => println!("state: {state:?}"),
            CallEvent::IncomingCall {
                caller_name,
                caller,
                knock: true,
                ..
            } => println!("{caller_name} (guest, via link) asks to join your room ({caller})"),
            CallEvent::IncomingCall {
                caller_name,
                caller,
                call_type,
                ..
            } => println!(
                "incoming {} call from {caller_name} ({caller})",
                call_type.as_str()
            ),
            CallEvent::CallEnded {
                outcome,
                reason,
                duration_seconds,
                ..
            } => println!("call ended: {outcome:?} ({reason}), {duration_seconds} s"),
            CallEvent::MediaConnected { .. } => println!("connected: media flowing"),
            CallEvent::Knock { name, guest, .. } => {
                println!("{name} (guest, via link) asks to join ({guest})")
            }
            CallEvent::Participant {
                nx_id, membership, ..
            } => println!("{nx_id}: {membership:?}"),
            CallEvent::Error { message } => eprintln!("error: {message}"),
            other => tracing::info!(?other, "event"),
        }
    }
}

#[derive(Args)]
pub struct AnswerArgs {
    #[command(flatten)]
    account: Account,
    /// JSON lines on stdout.
    #[arg(long)]
    json: bool,
    /// Decline instead of answering.
    #[arg(long)]
    decline: bool,
    /// Answer without sending video.
    #[arg(long)]
    audio_only: bool,
    /// Let each call ring this many seconds before answering (or declining).
    #[arg(long, default_value_t = 0.0)]
    ring: f64,
    /// What to do with a guest who knocks through a call link while a call goes on: let it
    /// into the call (`admit`) or turn it away (`deny`).
    #[arg(long, value_enum, default_value = "deny")]
    knocks: KnockAnswer,
    /// Exit after this many calls. With `--json`, each call's last stats sample follows its end.
    #[arg(long)]
    calls: Option<u32>,
    /// Speak (the synthetic tone) only from FROM to TO seconds after answering, e.g. `0:8`;
    /// silence otherwise.
    #[arg(long)]
    talk: Option<crate::talk::TalkWindow>,
    #[command(flatten)]
    stats: StatsEvery,
}

/// The headless answer to a guest's knock.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KnockAnswer {
    Admit,
    Deny,
}

/// Stats sampling for scripts.
#[derive(Args, Clone, Copy)]
pub struct StatsEvery {
    /// With `--json`, also print every stats sample, taken this often (seconds), as it comes.
    #[arg(long, value_parser = parse_interval)]
    stats_every: Option<f64>,
}

impl StatsEvery {
    fn interval(self) -> Duration {
        Duration::from_secs_f64(self.stats_every.unwrap_or(2.0))
    }
}

/// What each member's leg received, as of the last look (`--json`: one line
/// `{"participants": [...]}`); kept after the call ends, when the legs are gone.
#[derive(Default)]
struct ParticipantsReport(Vec<serde_json::Value>);

impl ParticipantsReport {
    fn take(&mut self, m: &call::CallManager) {
        let now: Vec<serde_json::Value> = m
            .participants()
            .iter()
            .map(|p| {
                let c = &p.counters;
                let (width, height) = p.video.size();
                serde_json::json!({
                    "nx_id": p.nx_id.to_string(),
                    "video_frames": c.video_frames.load(std::sync::atomic::Ordering::Relaxed),
                    "audio_frames": c.audio_frames.load(std::sync::atomic::Ordering::Relaxed),
                    "payload_bytes": c.payload_bytes.load(std::sync::atomic::Ordering::Relaxed),
                    "width": width,
                    "height": height,
                })
            })
            .collect();
        if !now.is_empty() {
            self.0 = now;
        }
    }

    fn print(&self) {
        if !self.0.is_empty() {
            println!("{}", serde_json::json!({ "participants": self.0 }));
        }
    }
}

/// A sampling interval between 0.1 s and 60 s.
fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.1..=60.0).contains(&v) {
        Ok(v)
    } else {
        Err("between 0.1 and 60 seconds".into())
    }
}

/// The next stats sample when samples are printed as they come; never otherwise.
async fn next_sample(
    stream: &mut Option<tokio::sync::broadcast::Receiver<call::StatsSample>>,
) -> Option<call::StatsSample> {
    let Some(rx) = stream else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(s) => return Some(s),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => {
                *stream = None;
                return None;
            }
        }
    }
}

pub async fn answer(a: AnswerArgs) -> anyhow::Result<i32> {
    let m = manager(
        &a.account,
        Preset::Medium.quality(),
        Timeouts::default(),
        a.talk,
    )
    .await?;
    let mut events = m.subscribe();
    m.start_stats_collection(a.stats.interval()).await?;
    let mut samples = (a.json && a.stats.stats_every.is_some()).then(|| m.stats_stream());
    if !a.json {
        println!("{} is online; waiting for calls (Ctrl-C to stop)", m.jid());
    }
    let mut done = 0u32;
    let mut members = ParticipantsReport::default();
    let mut every = tokio::time::interval(a.stats.interval());
    let ctrl_c = wait_for_ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            Some(s) = next_sample(&mut samples) => {
                println!("{}", serde_json::to_string(&s)?);
            }
            _ = every.tick() => {
                members.take(&m);
                if a.json && a.stats.stats_every.is_some() {
                    members.print();
                }
            }
            e = next_event(&mut events) => {
                let Some(e) = e else { break };
                print_event(a.json, &e);
                if matches!(e, CallEvent::IncomingCall { .. }) && a.ring > 0.0 {
                    tokio::time::sleep(Duration::from_secs_f64(a.ring.min(120.0))).await;
                }
                match &e {
                    CallEvent::IncomingCall { .. } if a.decline => m.reject_call().await?,
                    CallEvent::IncomingCall { .. } => m.accept_call(true, !a.audio_only).await?,
                    CallEvent::Knock { guest, .. } => {
                        m.answer_knock(guest, a.knocks == KnockAnswer::Admit).await?
                    }
                    CallEvent::CallEnded { .. } | CallEvent::IncomingWithdrawn { .. } => {
                        // The call's last stats sample, for scripts (`--json`).
                        if let (true, CallEvent::CallEnded { .. }, Some(s)) = (a.json, &e, m.latest_stats()) {
                            println!("{}", serde_json::to_string(&s)?);
                            members.print();
                        }
                        members = ParticipantsReport::default();
                        done += 1;
                        if a.calls.is_some_and(|n| done >= n) {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    m.dispose().await;
    Ok(0)
}

#[derive(Args)]
pub struct CallArgs {
    /// Who to call: numbers, usernames, NX IDs, or `echo`; several make a group call.
    #[arg(required = true, num_args = 1..call::MAX_MEMBERS)]
    to: Vec<String>,
    #[command(flatten)]
    account: Account,
    /// Send and ask for video.
    #[arg(long)]
    video: bool,
    /// Hang up after this many seconds of connected call.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Give up (a missed call) when nobody answers within this many seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=600))]
    ring: u64,
    #[arg(long, default_value = "medium")]
    quality: Preset,
    /// JSON lines of events, then the last stats sample.
    #[arg(long)]
    json: bool,
    /// Carry a group call (two or more people to call) on the server's conference server
    /// (SFU) even where peer-to-peer would do; the server refuses when it has none.
    #[arg(long)]
    sfu: bool,
    #[command(flatten)]
    stats: StatsEvery,
}

pub async fn call(a: CallArgs) -> anyhow::Result<i32> {
    let timeouts = Timeouts {
        ring: Duration::from_secs(a.ring),
        ..Timeouts::default()
    };
    let m = manager(&a.account, a.quality.quality(), timeouts, None).await?;
    let mut events = m.subscribe();
    m.start_stats_collection(a.stats.interval()).await?;
    let mut samples = (a.json && a.stats.stats_every.is_some()).then(|| m.stats_stream());
    let to: Vec<&str> = a.to.iter().map(String::as_str).collect();
    let started = if a.sfu {
        m.initiate_conference_call(&to, true, a.video).await
    } else {
        m.initiate_group_call(&to, true, a.video).await
    };
    let room = match started {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot call {}: {e}", a.to.join(", "));
            m.dispose().await;
            return Ok(2);
        }
    };
    if !a.json {
        println!("calling {} (room {room})", a.to.join(", "));
    }
    let mut members = ParticipantsReport::default();
    // What each member's stream received, on its own clock: a conference call has no
    // transport samples to ride on.
    let mut report_members = tokio::time::interval(a.stats.interval());
    let reporting = a.json && a.stats.stats_every.is_some();
    let mut connected = false;
    let mut hung_up = false;
    let mut outcome = None;
    let hangup = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(hangup);
    loop {
        tokio::select! {
            _ = &mut hangup, if connected && !hung_up => {
                hung_up = true;
                members.take(&m);
                m.end_call().await?;
            }
            _ = wait_for_ctrl_c(), if !hung_up => {
                hung_up = true;
                members.take(&m);
                m.end_call().await?;
            }
            Some(s) = next_sample(&mut samples) => {
                println!("{}", serde_json::to_string(&s)?);
            }
            _ = report_members.tick(), if reporting => {
                members.take(&m);
                members.print();
            }
            e = next_event(&mut events) => {
                let Some(e) = e else { break };
                print_event(a.json, &e);
                match e {
                    CallEvent::StateChanged { state: CallState::Connected } => {
                        connected = true;
                        hangup.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(a.duration));
                        m.start_stats_collection(a.stats.interval()).await?;
                    }
                    CallEvent::CallEnded { outcome: o, .. } => {
                        outcome = Some(o);
                    }
                    CallEvent::StateChanged { state: CallState::Idle } if outcome.is_some() => break,
                    _ => {}
                }
            }
        }
    }
    let stats = m.latest_stats();
    m.dispose().await;
    if let Some(s) = stats {
        println!("{}", serde_json::to_string(&s)?);
    }
    if a.json {
        members.print();
    }
    Ok(if connected && outcome == Some(call::Outcome::Ended) {
        0
    } else {
        1
    })
}

#[derive(Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    account: Account,
    /// From this day (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Up to this day (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// audio, video, p2p or group.
    #[arg(long = "type")]
    call_type: Option<String>,
    /// ended, missed, declined, cancelled, failed, ...
    #[arg(long)]
    status: Option<String>,
    /// Only calls with this person.
    #[arg(long)]
    participant: Option<String>,
    #[arg(long, default_value_t = 1)]
    page: u32,
    #[arg(long, default_value_t = 20)]
    page_size: u32,
    #[arg(long)]
    json: bool,
}

pub async fn history(a: HistoryArgs) -> anyhow::Result<i32> {
    let s = sign_in(&a.account).await?;
    let q = HistoryQuery {
        start_date: a.from,
        end_date: a.to,
        call_type: a.call_type,
        status: a.status,
        participant: a.participant,
        page: Some(a.page),
        page_size: Some(a.page_size),
    };
    let page = match s.rest.call_history(&q).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("history: {e}");
            return Ok(2);
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&page)?);
        return Ok(0);
    }
    println!(
        "{} call(s){}",
        page.count,
        if page.next.is_some() {
            " (more pages)"
        } else {
            ""
        }
    );
    for r in &page.results {
        let arrow = if r.direction == "outgoing" {
            "->"
        } else {
            "<-"
        };
        println!(
            "{:20}  {arrow} {:28} {:6} {:10} {:>5} s",
            r.created_at, r.peer, r.call_type, r.status, r.duration_seconds
        );
    }
    Ok(0)
}

#[derive(Args)]
pub struct TokenArgs {
    #[command(flatten)]
    account: Account,
}

pub async fn token(a: TokenArgs) -> anyhow::Result<i32> {
    let s = sign_in(&a.account).await?;
    println!(
        "{}",
        serde_json::json!({ "jid": s.who.jid.to_string(), "token": s.who.token, "nxws": s.who.nxws })
    );
    Ok(0)
}
