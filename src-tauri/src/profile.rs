//! Per-profile settings (which server, which user) in a JSON file, secrets in the OS keyring.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How this profile reaches a server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// simu-server on this computer (started in-process if none is running).
    #[default]
    Embedded,
    /// A Simu or Nexacon-style server elsewhere.
    Remote,
}

/// What is remembered between launches (no secrets).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Settings {
    pub mode: Mode,
    pub server: String,
    pub username: String,
    pub api_key: String,
    pub default_quality: String,
    /// Chosen devices by name (`None`: the system default).
    #[serde(default)]
    pub microphone: Option<String>,
    #[serde(default)]
    pub speaker: Option<String>,
    /// The preferred video codec (`h264`, `vp8`); `None`: Simu's default order.
    #[serde(default)]
    pub video_codec: Option<String>,
    /// The chosen camera by name (`None`: the first one found).
    #[serde(default)]
    pub camera: Option<String>,
}

/// A named profile: `--profile NAME` runs a second user on the same machine.
pub struct Profile {
    pub name: String,
    pub dir: PathBuf,
}

fn data_home() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("simu")
}

impl Profile {
    pub fn new(name: &str) -> std::io::Result<Self> {
        let clean: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        let name = if clean.is_empty() {
            "default".to_string()
        } else {
            clean
        };
        let dir = data_home().join("profiles").join(&name);
        std::fs::create_dir_all(&dir)?;
        Ok(Self { name, dir })
    }

    fn settings_path(&self) -> PathBuf {
        self.dir.join("settings.json")
    }

    pub fn load(&self) -> Option<Settings> {
        let text = std::fs::read_to_string(self.settings_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save(&self, s: &Settings) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
        std::fs::write(self.settings_path(), text)
    }

    pub fn forget(&self) {
        let _ = std::fs::remove_file(self.settings_path());
    }

    fn entry(&self, what: &str) -> Option<keyring::Entry> {
        keyring::Entry::new("simu", &format!("{}:{what}", self.name)).ok()
    }

    /// Stores a secret (password, tenant secret) in the OS keyring.
    pub fn set_secret(&self, what: &str, value: &str) -> Result<(), String> {
        let e = self.entry(what).ok_or("keyring unavailable")?;
        e.set_password(value)
            .map_err(|e| format!("cannot store the secret in the keyring: {e}"))
    }

    pub fn secret(&self, what: &str) -> Option<String> {
        self.entry(what)?.get_password().ok()
    }

    pub fn delete_secret(&self, what: &str) {
        if let Some(e) = self.entry(what) {
            let _ = e.delete_credential();
        }
    }

    /// This profile's device secret: the password of a sign-in the user never types ("this
    /// computer", or a server signed in to without a password). Kept in the OS keyring; where
    /// there is none (no Secret Service), in a 0600 file in the profile's 0700 directory.
    pub fn device_secret(&self) -> Result<String, String> {
        if let Some(s) = self.secret("device-secret").filter(|s| s.len() >= 32) {
            return Ok(s);
        }
        let file = self.dir.join("device.secret");
        if let Ok(s) = std::fs::read_to_string(&file) {
            if s.trim().len() >= 32 {
                return Ok(s.trim().to_string());
            }
        }
        let fresh = server::secrets::random_hex(32);
        if self.set_secret("device-secret", &fresh).is_ok()
            && self.secret("device-secret").as_deref() == Some(fresh.as_str())
        {
            return Ok(fresh);
        }
        tracing::info!("no OS keyring: keeping the device secret in a private file");
        server::secrets::private_dir(&self.dir)
            .map_err(|e| format!("cannot protect {}: {e}", self.dir.display()))?;
        server::secrets::write_private(&file, &fresh)
            .map_err(|e| format!("cannot keep the device secret: {e}"))?;
        Ok(fresh)
    }

    /// Where the CallManager keeps undelivered analytics.
    pub fn analytics_dir(&self) -> PathBuf {
        self.dir.join("analytics")
    }
}

/// The embedded server's data directory (shared by every profile on this machine).
pub fn embedded_data_dir() -> PathBuf {
    data_home().join("server")
}
