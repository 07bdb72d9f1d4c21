//! `simu bench ...`: benchmarks that compare against a reference measured in the same run.

mod display;
mod signaling;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Round-trip latency (p50/p99) and throughput of signaling messages with N users.
    Signaling(signaling::SignalingArgs),
    /// Cost of preparing pictures for the desktop display (scaling, RGBA conversion).
    Display(display::DisplayArgs),
}

pub async fn run(cmd: BenchCmd) -> anyhow::Result<i32> {
    match cmd {
        BenchCmd::Signaling(a) => signaling::run(a).await,
        BenchCmd::Display(a) => display::run(a),
    }
}
