//! Password hashing (Argon2id) on a few threads of its own: each hash takes ~19 MiB and tens
//! of ms, so unbounded concurrent logins could exhaust memory. Own threads rather than the
//! blocking pool: glibc gives each thread its own heap arena and keeps a freed 19 MiB block
//! there, so hashes spread over many pool threads left ~300 MiB behind (measured with
//! `simu bench attack`); two threads keep at most two such blocks.

use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, PasswordHasher, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a request waits for a place in the queue before the server says it is busy.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Hashes waiting at most; more requests wait for a place (then hear "busy").
const QUEUE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;
/// Most Argon2 memory a stored hash may ask for (64 MiB): a corrupt or planted row cannot make
/// the server allocate more.
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// Each hashing thread's Argon2 memory, allocated once and reused: allocating 19 MiB per
    /// hash left freed blocks in glibc's per-thread arenas (~150 MiB after a login flood).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 into `out` with this thread's reusable memory.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let n = argon.params().block_count();
    if n > MAX_BLOCKS {
        return false;
    }
    BLOCKS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < n {
            b.resize(n, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut b[..n])
            .is_ok()
    })
}

/// A new Argon2id PHC string for `password` (default parameters, random salt).
fn hash_phc(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::default();
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).ok()?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(&argon, password.as_bytes(), salt_bytes, &mut out) {
        return None;
    }
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).ok()?),
    };
    Some(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (compared in constant time).
fn verify_phc(password: &str, phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(params), Ok(alg)) = (Params::try_from(&h), Algorithm::try_from(h.algorithm)) else {
        return false;
    };
    let version = match h.version.map(Version::try_from) {
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    compute(
        &Argon2::new(alg, version, params),
        password.as_bytes(),
        salt_bytes,
        &mut out,
    ) && Output::new(&out).is_ok_and(|o| o == expected)
}

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
        // (One allocating hash at start-up; every later one reuses its thread's memory.)
        let (jobs, rx) = mpsc::channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..concurrent.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
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
        Self {
            jobs,
            dummy: Arc::from(dummy),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .send_timeout(job, QUEUE_WAIT)
            .await
            .map_err(|_| HashError::Busy)?;
        rx.await.map_err(|_| HashError::Failed)
    }

    /// An Argon2id PHC string for `password`.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let pw = password.to_string();
        self.run(move || hash_phc(&pw))
            .await?
            .ok_or(HashError::Failed)
    }

    /// Whether `password` matches `hash`; with no hash (no such account, or an account
    /// without a password) a dummy hash is checked so the time taken is the same.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
        let real = hash.is_some();
        let hash = hash
            .map(str::to_string)
            .unwrap_or_else(|| self.dummy.to_string());
        let pw = password.to_string();
        let ok = self.run(move || verify_phc(&pw, &hash)).await?;
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
        assert!(!p
            .verify("x", Some("not a phc string"))
            .await
            .expect("verify"));
    }

    #[test]
    fn hashes_are_standard_phc_strings_that_the_argon2_crate_verifies() {
        use argon2::PasswordVerifier as _;
        let phc = hash_phc("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let other = Argon2::default()
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .expect("hash")
            .to_string();
        assert!(
            verify_phc("battery staple", &other),
            "hashes made elsewhere verify here"
        );
        assert!(!verify_phc("wrong", &other));
        let greedy = other.replace("m=19456", "m=4000000");
        assert!(
            !verify_phc("battery staple", &greedy),
            "a row asking for 4 GB is refused"
        );
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
