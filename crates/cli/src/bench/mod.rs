//! `simu bench ...`: benchmarks that compare against a reference measured in the same run.

mod attack;
mod call;
mod display;
mod group;
mod group_tabs;
mod link;
mod signaling;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Round-trip latency (p50/p99) and throughput of signaling messages with N users.
    Signaling(signaling::SignalingArgs),
    /// Cost of preparing pictures for the desktop display (scaling, RGBA conversion).
    Display(display::DisplayArgs),
    /// A 1:1 call between two Simu peers on loopback (CPU, memory, setup, glass-to-glass, fps,
    /// bitrate), and the same between two Chromium tabs when Chromium is installed.
    Call(call::CallBenchArgs),
    /// An N-member mesh call between Simu processes beside a 1:1 call in the same run: CPU and
    /// memory per member, fps of every received stream, join time.
    Group(group::GroupArgs),
    /// What floods cost a `simu server` process: a stanza dribbled in 16 000 frames, 200
    /// concurrent wrong-password logins; `/healthz` latency throughout.
    Attack(attack::AttackArgs),
    /// The web call page: its transferred size, and from "Join" in Chromium to the first
    /// remote frame, beside a Simu-to-Simu call in the same run.
    Link(link::LinkArgs),
    /// One Simu side of `bench call` (started by it).
    #[command(hide = true)]
    CallPeer(call::peer::PeerArgs),
}

/// A simu-server in this process on 127.0.0.1 (no echo contact), with its data in a
/// temporary directory that lives as long as the returned guard.
async fn loopback_server() -> anyhow::Result<(tempfile::TempDir, server::ServerHandle)> {
    loopback_server_with(server::config::SfuConfig::default()).await
}

/// The same, with a conference server (SFU) configured.
async fn loopback_server_with(
    sfu: server::config::SfuConfig,
) -> anyhow::Result<(tempfile::TempDir, server::ServerHandle)> {
    use anyhow::Context;
    let dir = tempfile::tempdir()?;
    let cfg = server::ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        echo: false,
        sfu,
        ..Default::default()
    };
    let srv = server::start(cfg).await.context("starting simu-server")?;
    Ok((dir, srv))
}

pub async fn run(cmd: BenchCmd) -> anyhow::Result<i32> {
    if cfg!(debug_assertions) && !matches!(cmd, BenchCmd::CallPeer(_)) {
        println!(
            "debug build: Simu's own crates are not optimised, so the figures below are not \
             release figures (checks still apply; measure with --release)"
        );
    }
    match cmd {
        BenchCmd::Signaling(a) => signaling::run(a).await,
        BenchCmd::Display(a) => display::run(a),
        BenchCmd::Call(a) => call::run(a).await,
        BenchCmd::Attack(a) => attack::run(a).await,
        BenchCmd::Group(a) => group::run(a).await,
        BenchCmd::Link(a) => link::run(a).await,
        BenchCmd::CallPeer(a) => call::peer::run(a).await,
    }
}
