//! Per-install secrets kept in the data directory: the token signing key, the tenant keys, the
//! call-link key. Each is random, made on first start, and lives in a 0600 file inside a 0700
//! directory, so nothing that ships in the code protects anything.

use crate::config::ServerConfig;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Shortest HS256 key accepted (RFC 7518 §3.2: at least the hash size).
pub const MIN_JWT_SECRET: usize = 32;
/// Shortest tenant key accepted on a server reachable from other machines.
pub const MIN_TENANT_KEY: usize = 16;
/// Tenant keys that were public defaults in earlier versions: never accepted beyond loopback.
pub const PUBLIC_TENANT_KEYS: &[&str] = &["simu-local-key", "simu-local-secret"];
/// File holding the tenant keys of an install (read by local clients: the CLI, the desktop).
pub const TENANT_FILE: &str = "tenant.json";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot keep {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Unsafe(String),
}

/// The tenant (app) credentials of an install.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct TenantKeys {
    pub api_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for TenantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantKeys")
            .field("api_key", &self.api_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl TenantKeys {
    /// Reads the keys an install keeps in `data_dir` (for clients on the same machine).
    pub fn read(data_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(data_dir.join(TENANT_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Random lowercase hex of `bytes` random bytes.
pub fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Creates `dir` (and parents) and makes it private to this user.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Writes `text` to `path` as a 0600 file, replacing it atomically (temp file, fsync, rename).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads a key file, or makes one with `fresh` the first time. A file that exists but holds
/// a key shorter than `min` is an error: replacing it silently would break whoever shares it
/// (ejabberd shares the JWT key).
fn key_file(
    path: &Path,
    min: usize,
    fresh: impl FnOnce() -> String,
) -> Result<String, SecretError> {
    let err = |e| SecretError::Io(path.display().to_string(), e);
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= min => Ok(s.trim().to_string()),
        Ok(_) => Err(SecretError::Unsafe(format!(
            "{} holds a key shorter than {min} bytes; put a longer one there or remove the file",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = fresh();
            write_private(path, &key).map_err(err)?;
            Ok(key)
        }
        Err(e) => Err(err(e)),
    }
}

/// The secrets a running server uses.
pub struct InstallSecrets {
    pub jwt: Vec<u8>,
    pub tenant: TenantKeys,
    pub link: Vec<u8>,
}

/// Loads or makes every per-install secret, and checks configured ones.
pub fn load(cfg: &ServerConfig) -> Result<InstallSecrets, SecretError> {
    let dir = &cfg.data_dir;
    private_dir(dir).map_err(|e| SecretError::Io(dir.display().to_string(), e))?;
    let jwt = if cfg.jwt_secret.is_empty() {
        key_file(&dir.join("jwt.secret"), MIN_JWT_SECRET, || random_hex(48))?
    } else if cfg.jwt_secret.len() < MIN_JWT_SECRET {
        return Err(SecretError::Unsafe(format!("the JWT secret (SIMU_JWT_SECRET or jwt_secret) must be at least {MIN_JWT_SECRET} bytes")));
    } else {
        cfg.jwt_secret.clone()
    };
    let link = key_file(&dir.join("link.secret"), MIN_JWT_SECRET, || random_hex(32))?;
    let tenant = tenant_keys(cfg)?;
    Ok(InstallSecrets {
        jwt: jwt.into_bytes(),
        tenant,
        link: link.into_bytes(),
    })
}

/// The configured tenant keys, or this install's random ones (made once, kept in `tenant.json`).
fn tenant_keys(cfg: &ServerConfig) -> Result<TenantKeys, SecretError> {
    let path: PathBuf = cfg.data_dir.join(TENANT_FILE);
    let stored =
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str::<TenantKeys>(&text).map_err(|e| {
                SecretError::Unsafe(format!("{} is not valid: {e}", path.display()))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(SecretError::Io(path.display().to_string(), e)),
        };
    let keys =
        match (cfg.api_key.is_empty(), cfg.secret_key.is_empty(), stored) {
            (true, true, Some(k)) => k,
            (true, true, None) => TenantKeys {
                api_key: format!("simu-{}", random_hex(8)),
                secret_key: random_hex(32),
            },
            (false, false, _) => TenantKeys {
                api_key: cfg.api_key.clone(),
                secret_key: cfg.secret_key.clone(),
            },
            _ => return Err(SecretError::Unsafe(
                "set both api_key and secret_key, or neither (then each install gets random ones)"
                    .into(),
            )),
        };
    check_tenant_keys(cfg, &keys)?;
    let text = serde_json::to_string_pretty(&keys).unwrap_or_default();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        write_private(&path, &text).map_err(|e| SecretError::Io(path.display().to_string(), e))?;
    }
    Ok(keys)
}

/// Refuses keys anyone could know on a server other machines can reach.
fn check_tenant_keys(cfg: &ServerConfig, keys: &TenantKeys) -> Result<(), SecretError> {
    let weak = |k: &str| k.len() < MIN_TENANT_KEY || PUBLIC_TENANT_KEYS.contains(&k);
    if !cfg.listen.ip().is_loopback() && (weak(&keys.api_key) || weak(&keys.secret_key)) {
        return Err(SecretError::Unsafe(format!(
            "refusing to listen on {} with a public or short tenant key: set api_key and secret_key (at least {MIN_TENANT_KEY} characters, not the old defaults) or remove them to get random ones",
            cfg.listen
        )));
    }
    if cfg.trusted_backend && keys.secret_key.len() < MIN_JWT_SECRET {
        return Err(SecretError::Unsafe(format!(
            "trusted_backend lets whoever holds the tenant secret act as any user: the secret must be at least {MIN_JWT_SECRET} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path) -> ServerConfig {
        ServerConfig {
            data_dir: dir.to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..Default::default()
        }
    }

    #[test]
    fn each_install_gets_its_own_random_tenant_keys_kept_in_a_private_file() {
        let a = tempfile::tempdir().expect("dir");
        let b = tempfile::tempdir().expect("dir");
        let ka = load(&cfg(a.path())).expect("a").tenant;
        let kb = load(&cfg(b.path())).expect("b").tenant;
        assert_ne!(ka, kb);
        assert!(!PUBLIC_TENANT_KEYS.contains(&ka.api_key.as_str()));
        assert_eq!(
            load(&cfg(a.path())).expect("again").tenant,
            ka,
            "kept across restarts"
        );
        assert_eq!(TenantKeys::read(a.path()), Some(ka));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&a.path().join(TENANT_FILE)), 0o600);
            assert_eq!(mode(&a.path().join("jwt.secret")), 0o600);
            assert_eq!(mode(a.path()), 0o700);
        }
    }

    #[test]
    fn refuses_public_keys_beyond_loopback_and_short_jwt_secrets() {
        let d = tempfile::tempdir().expect("dir");
        let mut c = cfg(d.path());
        c.listen = "0.0.0.0:0".parse().expect("addr");
        c.api_key = "simu-local-key".into();
        c.secret_key = "simu-local-secret".into();
        assert!(matches!(load(&c), Err(SecretError::Unsafe(_))));
        c.listen = "127.0.0.1:0".parse().expect("addr");
        assert!(load(&c).is_ok(), "loopback may use any keys");
        c.api_key.clear();
        assert!(
            matches!(load(&c), Err(SecretError::Unsafe(_))),
            "one key without the other"
        );
        let mut c = cfg(d.path());
        c.jwt_secret = "short".into();
        assert!(matches!(load(&c), Err(SecretError::Unsafe(_))));
        let d2 = tempfile::tempdir().expect("dir");
        std::fs::write(d2.path().join("jwt.secret"), "short").expect("write");
        assert!(
            matches!(load(&cfg(d2.path())), Err(SecretError::Unsafe(_))),
            "a short key file is not silently replaced"
        );
        assert_eq!(
            std::fs::read_to_string(d2.path().join("jwt.secret")).expect("kept"),
            "short"
        );
    }

    #[test]
    fn a_trusted_backend_needs_a_long_secret() {
        let d = tempfile::tempdir().expect("dir");
        let mut c = cfg(d.path());
        c.trusted_backend = true;
        c.api_key = "backend-app-key-1".into();
        c.secret_key = "too-short-for-a-master-key".into();
        assert!(matches!(load(&c), Err(SecretError::Unsafe(_))));
        c.secret_key = random_hex(20);
        assert!(load(&c).is_ok());
    }
}
