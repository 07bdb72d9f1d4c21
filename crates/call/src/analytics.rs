//! One analytics record per call, delivered at least once: records that fail to reach the
//! server are kept (on disk when a directory is configured) and retried with backoff.

use nx::rest::{AnalyticsRecord, RestClient, RestError};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const MAX_PENDING: usize = 1000;
const MAX_BACKOFF: Duration = Duration::from_secs(120);

enum Msg {
    Record(AnalyticsRecord),
    Flush(Duration, oneshot::Sender<usize>),
}

/// Handle to the delivery task.
#[derive(Clone)]
pub struct AnalyticsQueue {
    tx: mpsc::Sender<Msg>,
}

fn retryable(e: &RestError) -> bool {
    match e {
        RestError::Http { status, .. } => *status >= 500 || matches!(status, 401 | 408 | 429),
        RestError::Decode(_) | RestError::BadUrl(_) => false,
        _ => true,
    }
}

fn load(path: &Option<PathBuf>) -> VecDeque<AnalyticsRecord> {
    let Some(p) = path else {
        return VecDeque::new();
    };
    std::fs::read_to_string(p)
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces the spool file atomically and durably (fsync, rename, fsync of the folder); on any
/// failure (a full disk) the temporary file is removed and the previous spool stays as it was.
fn save(path: &Option<PathBuf>, pending: &VecDeque<AnalyticsRecord>) {
    let Some(p) = path else { return };
    let text: String = pending
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|l| l + "\n")
        .collect();
    // Per-process temporary name: two clients sharing a state folder must not rename each other's.
    let tmp = p.with_extension(format!("{}.tmp", std::process::id()));
    let written = (|| {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, p)?;
        if let Some(dir) = p.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(error = %e, path = %p.display(), "cannot keep pending analytics on disk");
    }
}

impl AnalyticsQueue {
    /// Starts delivery; `dir` keeps undelivered records across restarts.
    pub fn start(rest: RestClient, dir: Option<PathBuf>) -> (Self, tokio::task::JoinHandle<()>) {
        let path = dir.map(|d| {
            let _ = std::fs::create_dir_all(&d);
            d.join("analytics-pending.jsonl")
        });
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(run(rest, path, rx));
        (Self { tx }, task)
    }

    /// Queues a record; it gets an idempotency key here, so every retry of it is the same
    /// record to the server.
    pub async fn record(&self, mut r: AnalyticsRecord) {
        if r.record_id.is_none() {
            r.record_id = Some(format!("{:032x}", rand::random::<u128>()));
        }
        if self.tx.send(Msg::Record(r)).await.is_err() {
            tracing::warn!("analytics queue stopped; record lost");
        }
    }

    /// Tries to deliver everything within `deadline`; returns how many remain.
    pub async fn flush(&self, deadline: Duration) -> usize {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(deadline, tx)).await.is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }
}

async fn deliver(
    rest: &RestClient,
    pending: &mut VecDeque<AnalyticsRecord>,
) -> Result<(), RestError> {
    while let Some(r) = pending.front() {
        match rest.record_analytics(r).await {
            Ok(_) => {
                tracing::debug!(room = %r.room, status = %r.status, "analytics recorded");
                pending.pop_front();
            }
            Err(e) if !retryable(&e) => {
                tracing::warn!(room = %r.room, error = %e, "server refused analytics record; dropping it");
                pending.pop_front();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn run(rest: RestClient, path: Option<PathBuf>, mut rx: mpsc::Receiver<Msg>) {
    let mut pending = load(&path);
    let mut backoff = Duration::from_secs(1);
    let mut retry_at = tokio::time::Instant::now();
    loop {
        let wait = if pending.is_empty() {
            None
        } else {
            Some(retry_at)
        };
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Record(r)) => {
                    if pending.len() >= MAX_PENDING {
                        pending.pop_front();
                    }
                    pending.push_back(r);
                    save(&path, &pending);
                    retry_at = tokio::time::Instant::now();
                }
                Some(Msg::Flush(limit, done)) => {
                    let _ = tokio::time::timeout(limit, deliver(&rest, &mut pending)).await;
                    save(&path, &pending);
                    let _ = done.send(pending.len());
                }
                None => {
                    save(&path, &pending);
                    return;
                }
            },
            _ = async { if let Some(t) = wait { tokio::time::sleep_until(t).await } else { std::future::pending::<()>().await } } => {
                match deliver(&rest, &mut pending).await {
                    Ok(()) => backoff = Duration::from_secs(1),
                    Err(e) => {
                        tracing::info!(error = %e, pending = pending.len(), retry_in = ?backoff, "analytics delivery failed; will retry");
                        retry_at = tokio::time::Instant::now() + backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                save(&path, &pending);
            }
        }
    }
}
