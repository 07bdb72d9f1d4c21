//! A three-party mesh call between `simu` processes through `simu server`: one member is
//! killed with `kill -9` mid-call and the others see it leave within a bounded time while
//! their own streams carry on.
// Tests print their `measure:` lines for the notes.
#![allow(clippy::print_stdout)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the member's departure may take to be seen: ICE's disconnect detection (about
/// 5 s) plus the recovery time a leg is given (20 s), with room for a loaded machine.
const LEAVE_BOUND: Duration = Duration::from_secs(40);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn simu(args: &[&str], data: &std::path::Path, home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_simu"));
    c.args(args)
        .arg("--server-data")
        .arg(data)
        .env("XDG_STATE_HOME", home)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Runs `cmd` with its stdout lines sent to a channel as they come.
fn spawn_lines(mut cmd: Command) -> (Child, mpsc::Receiver<String>) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("simu starts");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The first JSON line from `rx` within `within` for which `f` holds.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    within: Duration,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let end = Instant::now() + within;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if f(&v) {
                        return v;
                    }
                }
            }
            Err(_) => break,
        }
    }
    panic!("no {what} within {within:?}");
}

fn frames_from(report: &serde_json::Value, who: &str) -> u64 {
    report["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["nx_id"].as_str().is_some_and(|id| id.starts_with(who)))
        .and_then(|p| p["video_frames"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_member_killed_mid_call_leaves_and_the_others_carry_on() {
    let data = tempfile::tempdir().expect("data dir");
    let home = tempfile::tempdir().expect("state dir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_simu"))
        .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "server listens");
    let member = |user: &str| {
        simu(
            &[
                "answer",
                "--server",
                &url,
                "--user",
                user,
                "--password",
                "group-test-pw",
                "--media-ip",
                "127.0.0.1",
                "--json",
                "--calls",
                "1",
            ],
            data.path(),
            home.path(),
        )
    };
    let (mut bob, _bob_out) = spawn_lines(member("bob"));
    let (mut carol, _carol_out) = spawn_lines(member("carol"));
    // No wait for them to sign in: an invitation to someone not yet online is kept by the
    // server and delivered when they are (protocol.md §4 rule 2).
    let (mut alice, alice_out) = spawn_lines(simu(
        &[
            "call",
            "bob",
            "carol",
            "--video",
            "--duration",
            "45",
            "--json",
            "--stats-every",
            "1",
            "--server",
            &url,
            "--user",
            "alice",
            "--password",
            "group-test-pw",
            "--media-ip",
            "127.0.0.1",
        ],
        data.path(),
        home.path(),
    ));
    wait_line(&alice_out, Duration::from_secs(30), "connected call", |v| {
        v["event"] == "state_changed" && v["state"] == "connected"
    });
    let before = wait_line(
        &alice_out,
        Duration::from_secs(20),
        "both members' video",
        |v| frames_from(v, "bob") > 30 && frames_from(v, "carol") > 30,
    );
    carol.kill().expect("kill -9 carol");
    let killed = Instant::now();
    let _ = carol.wait();
    let left = wait_line(&alice_out, LEAVE_BOUND, "carol leaving", |v| {
        v["event"] == "participant"
            && v["membership"] == "left"
            && v["nx_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("carol"))
    });
    let took = killed.elapsed();
    assert_eq!(left["event"], "participant");
    let after = wait_line(
        &alice_out,
        Duration::from_secs(10),
        "bob's video moving",
        |v| {
            frames_from(v, "bob") > frames_from(&before, "bob") + 60 && frames_from(v, "carol") == 0
        },
    );
    println!(
        "measure: a killed member left after {:.1} s; bob's video kept coming ({} -> {} frames)",
        took.as_secs_f64(),
        frames_from(&before, "bob"),
        frames_from(&after, "bob")
    );
    let status = alice.wait().expect("alice ends");
    assert!(status.success(), "alice's call ended normally");
    let bob_status = bob.wait().expect("bob ends");
    assert!(bob_status.success(), "bob's call ended normally");
    let _ = server.kill();
    let _ = server.wait();
}
