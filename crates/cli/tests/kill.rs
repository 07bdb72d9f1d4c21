//! `kill -9` of `simu server` while 50 clients post analytics: every record the server
//! acknowledged with 201 is in the database after a restart, the clients' retries of the
//! rest (with the same idempotency keys) land once each, and no record is doubled.
// Tests print their `measure:` lines for the notes.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use nx::rest::AnalyticsRecord;
use nx::{RestClient, RestConfig};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENTS: usize = 50;
const RECORDS: usize = 15;

fn start(port: u16, dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_simu"))
        .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("simu server starts")
}

async fn wait_up(base: &str) {
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not come up");
}

fn record(room: &str, key: &str) -> AnalyticsRecord {
    AnalyticsRecord {
        room: room.into(),
        call_type: "audio".into(),
        status: "ended".into(),
        duration_seconds: 1,
        metadata: Default::default(),
        record_id: Some(key.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_analytics_survive_kill_9_and_retries_do_not_double() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(port, dir.path());
    wait_up(&base).await;
    let keys = server::secrets::TenantKeys::read(dir.path()).expect("tenant keys");
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let r = RestClient::new(RestConfig::new(
            base.clone(),
            keys.api_key.clone(),
            keys.secret_key.clone(),
        ))
        .expect("client");
        r.login_or_register(&format!("u{i}"), "kill-test-password")
            .await
            .expect("sign in");
        clients.push(r);
    }
    for (i, r) in clients.iter().enumerate() {
        r.start_p2p_call(
            &format!("u{}", (i + 1) % CLIENTS),
            Some(&format!("room{i}")),
            Some("audio"),
        )
        .await
        .expect("call");
    }
    // Acknowledged (201) keys, per client.
    let acked: Arc<Mutex<HashMap<usize, HashSet<String>>>> = Arc::default();
    let mut tasks = Vec::new();
    for (i, r) in clients.iter().cloned().enumerate() {
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..RECORDS {
                let key = format!("c{i}-r{n}");
                if r.record_analytics(&record(&format!("room{i}"), &key))
                    .await
                    .is_ok()
                {
                    acked
                        .lock()
                        .expect("lock")
                        .entry(i)
                        .or_default()
                        .insert(key);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    server.kill().expect("kill -9");
    let _ = server.wait();
    for t in tasks {
        t.await.expect("client task");
    }
    let acked = acked.lock().expect("lock").clone();
    let acked_total: usize = acked.values().map(HashSet::len).sum();
    assert!(
        acked_total > 0 && acked_total < CLIENTS * RECORDS,
        "the kill landed mid-way ({acked_total} acknowledged)"
    );

    let mut server = start(port, dir.path());
    wait_up(&base).await;
    // Every client retries everything it sent (a lost 201 looks the same as a failure).
    for (i, r) in clients.iter().enumerate() {
        for n in 0..RECORDS {
            r.record_analytics(&record(&format!("room{i}"), &format!("c{i}-r{n}")))
                .await
                .expect("retry after restart");
        }
    }
    server.kill().expect("stop");
    let _ = server.wait();

    let store = server::store::Store::open(dir.path())
        .await
        .expect("open the database");
    for i in 0..CLIENTS {
        let rows = store
            .analytics_keys(&format!("u{i}@simu.local"))
            .await
            .expect("rows");
        let unique: HashSet<&String> = rows.iter().collect();
        assert_eq!(
            unique.len(),
            rows.len(),
            "client {i}: a retry doubled a row"
        );
        assert_eq!(rows.len(), RECORDS, "client {i}: every record landed once");
        for key in acked.get(&i).into_iter().flatten() {
            assert!(
                unique.contains(key),
                "client {i}: acknowledged {key} was lost"
            );
        }
    }
    println!(
        "kill -9: {acked_total} of {} records acknowledged before the kill; all kept, none doubled",
        CLIENTS * RECORDS
    );
}
