//! Password hashing (Argon2id) on a few threads of its own: each hash takes ~19 MiB and tens
//! of ms, so unbounded concurrent logins could exhaust memory. Own threads rather than the
//! blocking pool: glibc gives each thread its own heap arena and keeps a freed 19 MiB block
//! there, so hashes spread over many pool threads left ~300 MiB behind (measured with
//! `simu bench attack`); two threads keep at most two such blocks.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a request waits for a place in the queue before the server says it is busy.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Hashes waiting at most; more requests wait for a place (then hear "busy").
const QUEUE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HashError {
    #[error("the server is busy; try again")]
    Busy,
    #[error("hashing failed")]
    Failed,
}

/// Hashes and verifies passwords, at most `n` at once. The worker threads end when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
    /// A real hash of a random password: verified against when the account does not exist,
    /// so the answer takes as long as for a real account.
    dummy: Arc<str>,
}

impl Passwords {
    pub fn new(concurrent: usize) -> Self {
        let random = crate::secrets::random_hex(16);
        let dummy = Argon2::default()
            .hash_password(random.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .unwrap_or_default();
        let (jobs, rx) = mpsc::channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..concurrent.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || loop {
                let job = rx.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
                match job {
                    Some(job) => job(),
                    None => break,
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self { jobs, dummy: Arc::from(dummy) }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.send_timeout(job, QUEUE_WAIT).await.map_err(|_| HashError::Busy)?;
        rx.await.map_err(|_| HashError::Failed)
    }

    /// An Argon2id PHC string for `password`.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let pw = password.to_string();
        self.run(move || Argon2::default().hash_password(pw.as_bytes(), &SaltString::generate(&mut OsRng)).map(|h| h.to_string()))
            .await?
            .map_err(|_| HashError::Failed)
    }

    /// Whether `password` matches `hash`; with no hash (no such account, or an account
    /// without a password) a dummy hash is checked so the time taken is the same.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
        let real = hash.is_some();
        let hash = hash.map(str::to_string).unwrap_or_else(|| self.dummy.to_string());
        let pw = password.to_string();
        let ok = self
            .run(move || PasswordHash::new(&hash).map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok()).unwrap_or(false))
            .await?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_real_hashes_and_never_the_dummy() {
        let p = Passwords::new(2);
        let h = p.hash("correct horse").await.expect("hash");
        assert!(p.verify("correct horse", Some(&h)).await.expect("verify"));
        assert!(!p.verify("wrong", Some(&h)).await.expect("verify"));
        assert!(!p.verify("anything", None).await.expect("verify"));
        assert!(!p.verify("x", Some("not a phc string")).await.expect("verify"));
    }

    #[tokio::test]
    async fn no_more_than_the_limit_hash_at_once() {
        let p = Passwords::new(2);
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (p, peak, now) = (p.clone(), peak.clone(), now.clone());
            tasks.push(tokio::spawn(async move {
                p.run(move || {
                    let n = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            }));
        }
        for t in tasks {
            t.await.expect("join").expect("ran");
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
