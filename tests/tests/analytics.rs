//! Analytics that cannot reach the server are kept (on disk) and delivered when it is back.

use call::analytics::AnalyticsQueue;
use e2e::*;
use nx::rest::AnalyticsRecord;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_survive_a_server_outage() {
    init_tracing();
    let data = tempfile::tempdir().expect("tempdir");
    let spool = tempfile::tempdir().expect("tempdir");
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr")
    };
    let cfg = || server::ServerConfig {
        listen: addr,
        data_dir: data.path().to_path_buf(),
        echo: false,
        ..Default::default()
    };
    let server = server::start(cfg()).await.expect("server");
    let rest = nx::RestClient::new(nx::RestConfig::new(
        server.base_url(),
        server.state.cfg.api_key.clone(),
        server.state.cfg.secret_key.clone(),
    ))
    .expect("rest");
    rest.login_or_register("bob", "harness-password")
        .await
        .expect("bob");
    rest.login_or_register("alice", "harness-password")
        .await
        .expect("alice");
    rest.start_p2p_call("bob", Some("call_down"), Some("audio"))
        .await
        .expect("call");
    server.stop().await;

    let (queue, task) = AnalyticsQueue::start(rest.clone(), Some(spool.path().to_path_buf()));
    queue
        .record(AnalyticsRecord {
            room: "call_down".into(),
            call_type: "audio".into(),
            status: "ended".into(),
            duration_seconds: 12,
            metadata: Default::default(),
            record_id: None,
        })
        .await;
    let pending = spool.path().join("analytics-pending.jsonl");
    let kept = eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&pending)
            .ok()
            .filter(|t| t.contains("call_down"))
    })
    .await;
    assert!(kept.is_some(), "the undelivered record is kept on disk");

    let server = server::start(cfg())
        .await
        .expect("server is back on the same port");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let page = rest
            .call_history(&nx::rest::HistoryQuery::default())
            .await
            .expect("history");
        if page
            .results
            .first()
            .is_some_and(|r| r.status == "ended" && r.duration_seconds == 12)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "record not delivered after the server came back: {page:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(queue.flush(Duration::from_secs(1)).await, 0);
    assert!(
        std::fs::read_to_string(&pending)
            .unwrap_or_default()
            .trim()
            .is_empty(),
        "nothing left pending"
    );
    task.abort();
    server.stop().await;
}
