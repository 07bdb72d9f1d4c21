//! `simu`: the headless client, the server launcher, bots and benchmarks.
// A command-line tool: its results (and its benchmarks' tables) are what it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod client;
mod commands;
mod links;
mod talk;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "simu",
    version,
    about = "Simu video calls: headless client, server and benchmarks"
)]
struct Cli {
    /// Log filter (also RUST_LOG), e.g. `info` or `call=debug`.
    #[arg(long, global = true, default_value = "warn,rtc_ice=error,rtc=error")]
    log: String,
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run simu-server (REST, signaling, history, TURN credentials, echo contact).
    Server(commands::ServerArgs),
    /// Stay online and answer every incoming call.
    Answer(commands::AnswerArgs),
    /// Call someone (a number, a username, an NX ID, or `echo`).
    Call(commands::CallArgs),
    /// Show the call history.
    History(commands::HistoryArgs),
    /// Print an NX token for a user (JSON: jid, token, nxws), e.g. for another XMPP client.
    Token(commands::TokenArgs),
    /// Call links that anyone can open in a browser: create, list, revoke.
    #[command(subcommand)]
    Link(links::LinkCmd),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or(cli.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = rt.block_on(async move {
        match cli.cmd {
            Command::Server(a) => commands::server(a).await,
            Command::Answer(a) => commands::answer(a).await,
            Command::Call(a) => commands::call(a).await,
            Command::History(a) => commands::history(a).await,
            Command::Token(a) => commands::token(a).await,
            Command::Link(l) => links::run(l).await,
            Command::Bench(b) => bench::run(b).await,
        }
    })?;
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
