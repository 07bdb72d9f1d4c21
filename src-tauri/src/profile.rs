//! Per-profile settings (which server, which user) in a JSON file, secrets in the OS keyring.

use crate::error::AppError;
use call::Preset;
use media::VideoCodec;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How this profile reaches a server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// simu-server on this computer (started in-process if none is running).
    #[default]
    Embedded,
    /// A Simu or Nexacon-style server elsewhere.
    Remote,
}

/// What is remembered between launches (no secrets), parsed once when read.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Settings {
    pub mode: Mode,
    pub server: String,
    pub username: String,
    pub api_key: String,
    #[serde(flatten)]
    pub choices: DeviceChoices,
    #[serde(flatten)]
    pub rules: crate::rules::CallRules,
    #[serde(flatten)]
    pub background: crate::background::Background,
}

/// The user's device and call choices (the settings screen sends and shows these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DeviceChoices {
    /// Chosen devices by their stable id (`pulse:<name>` or an ALSA name; `None`: the system default).
    #[serde(default)]
    pub microphone: Option<String>,
    #[serde(default)]
    pub speaker: Option<String>,
    /// The quality calls start with.
    #[serde(default)]
    pub default_quality: Preset,
    /// The preferred video codec; `None`: Simu's default order.
    #[serde(default)]
    pub video_codec: Option<VideoCodec>,
    /// The chosen camera by name (`None`: the first one found).
    #[serde(default)]
    pub camera: Option<String>,
}

impl DeviceChoices {
    /// The codec order for calls: the chosen one first, then the others (empty: Simu's order).
    pub fn codec_preference(&self) -> Vec<VideoCodec> {
        let Some(first) = self.video_codec else {
            return Vec::new();
        };
        std::iter::once(first)
            .chain(VideoCodec::ALL.into_iter().filter(|c| *c != first))
            .collect()
    }
}

impl Settings {
    /// Reads a settings file; a value another version wrote in a form this one cannot read
    /// (an empty quality, an unknown codec) falls back to its default instead of losing the
    /// whole file.
    pub fn from_json(text: &str) -> Option<Self> {
        let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
        if let Some(fields) = v.as_object_mut() {
            fields.retain(|key, value| {
                let v = value.clone();
                match key.as_str() {
                    "default_quality" => serde_json::from_value::<Preset>(v).is_ok(),
                    "video_codec" => serde_json::from_value::<Option<VideoCodec>>(v).is_ok(),
                    "microphone" | "speaker" | "camera" => {
                        serde_json::from_value::<Option<String>>(v).is_ok()
                    }
                    "blocked" => serde_json::from_value::<Vec<String>>(v).is_ok(),
                    "do_not_disturb" | "start_at_login" | "keep_running" => v.is_boolean(),
                    _ => true,
                }
            });
        }
        serde_json::from_value(v).ok()
    }
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
        Settings::from_json(&std::fs::read_to_string(self.settings_path()).ok()?)
    }

    pub fn save(&self, s: &Settings) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
        std::fs::write(self.settings_path(), text)
    }

    /// Forgets the account (server, user, keys) but keeps the device, quality and codec
    /// choices, the call rules and how the app runs, which belong to this computer rather
    /// than to the account.
    pub fn forget(&self) {
        let old = self.load().unwrap_or_default();
        let kept = Settings {
            choices: old.choices,
            rules: old.rules,
            background: old.background,
            ..Default::default()
        };
        if let Err(e) = self.save(&kept) {
            tracing::warn!(error = %e, "could not rewrite the settings; removing them");
            let _ = std::fs::remove_file(self.settings_path());
        }
    }

    /// The remembered account, if one is signed in (a profile may keep only device choices).
    pub fn account(&self) -> Option<Settings> {
        self.load().filter(|s| !s.username.is_empty())
    }

    fn entry(&self, what: &str) -> Option<keyring::Entry> {
        keyring::Entry::new("simu", &format!("{}:{what}", self.name)).ok()
    }

    /// Stores a secret (password, tenant secret) in the OS keyring.
    pub fn set_secret(&self, what: &str, value: &str) -> Result<(), AppError> {
        let e = self
            .entry(what)
            .ok_or_else(|| AppError::local("The keyring is unavailable."))?;
        e.set_password(value)
            .map_err(|e| AppError::local(format!("Cannot store the secret in the keyring: {e}")))
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
    pub fn device_secret(&self) -> Result<String, AppError> {
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
            .map_err(|e| AppError::local(format!("Cannot protect {}: {e}", self.dir.display())))?;
        server::secrets::write_private(&file, &fresh)
            .map_err(|e| AppError::local(format!("Cannot keep the device secret: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_written_before_they_were_typed() {
        let old = r#"{"mode":"embedded","server":"http://127.0.0.1:8787","username":"ann",
            "api_key":"k","default_quality":"","microphone":"Headset","speaker":null,
            "video_codec":"vp8","camera":null}"#;
        let s = Settings::from_json(old).expect("old settings still read");
        assert_eq!(s.choices.default_quality, Preset::Medium);
        assert_eq!(s.choices.video_codec, Some(VideoCodec::Vp8));
        assert_eq!(s.choices.microphone.as_deref(), Some("Headset"));
        assert_eq!(
            s.choices.codec_preference(),
            vec![VideoCodec::Vp8, VideoCodec::H264]
        );
    }

    #[test]
    fn signing_out_forgets_the_account_but_keeps_the_device_choices() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Profile {
            name: "t".into(),
            dir: dir.path().to_path_buf(),
        };
        let choices = DeviceChoices {
            microphone: Some("Headset".into()),
            default_quality: Preset::Good,
            video_codec: Some(VideoCodec::Vp8),
            ..Default::default()
        };
        p.save(&Settings {
            mode: Mode::Remote,
            server: "https://calls.example".into(),
            username: "ann".into(),
            api_key: "k".into(),
            choices: choices.clone(),
            rules: crate::rules::CallRules {
                do_not_disturb: true,
                blocked: vec!["bob@simu.local".into()],
            },
            ..Default::default()
        })
        .expect("save");
        assert!(p.account().is_some());
        p.forget();
        assert!(p.account().is_none(), "no account to resume");
        let kept = p.load().expect("settings still there");
        assert_eq!(kept.choices, choices);
        assert!(kept.rules.do_not_disturb, "do not disturb stays on");
        assert_eq!(kept.rules.blocked, ["bob@simu.local"]);
        assert!(kept.server.is_empty() && kept.api_key.is_empty());
    }

    #[test]
    fn an_unknown_codec_falls_back_to_simus_order() {
        let s = Settings::from_json(
            r#"{"mode":"remote","server":"s","username":"u","api_key":"","video_codec":"av1"}"#,
        )
        .expect("read");
        assert_eq!(s.choices.video_codec, None);
        assert!(s.choices.codec_preference().is_empty());
    }
}
