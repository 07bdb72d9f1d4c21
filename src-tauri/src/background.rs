//! Running with the window closed: the tray icon (Show / Quit), closing to the tray so calls
//! still ring, and start at login (an XDG autostart entry that starts Simu in the tray).

use crate::core::Core;
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, State, Window, WindowEvent};

/// The argument the autostart entry passes: start in the tray, without a window.
pub const BACKGROUND_ARG: &str = "--background";

/// How the app runs when its window is not open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Background {
    /// Start Simu (in the tray) when the user logs in.
    #[serde(default)]
    pub start_at_login: bool,
    /// Closing the window leaves Simu in the tray, so calls still ring.
    #[serde(default = "yes")]
    pub keep_running: bool,
}

fn yes() -> bool {
    true
}

impl Default for Background {
    fn default() -> Self {
        Self {
            start_at_login: false,
            keep_running: true,
        }
    }
}

/// Whether a tray icon is up (the window can only hide to the tray when there is one).
#[derive(Default)]
pub struct Tray(AtomicBool);

fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Puts Simu in the tray: a click shows the window, the menu shows it or quits. Without an
/// AppIndicator library (libayatana-appindicator3) there is no tray and closing the window
/// quits as usual.
pub fn install_tray(app: &AppHandle) {
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build_tray(app)));
    match built {
        Ok(Ok(())) => app.state::<Tray>().0.store(true, Ordering::Relaxed),
        Ok(Err(e)) => tracing::warn!(error = %e, "no tray icon"),
        Err(_) => tracing::warn!("no tray icon: the AppIndicator library is missing"),
    }
}

fn build_tray(app: &AppHandle) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show Simu", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Simu", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit])?;
    let mut tray = TrayIconBuilder::with_id("simu")
        .tooltip("Simu")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Closing the main window hides it to the tray when the user wants Simu to keep running.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let tray = app.state::<Tray>().0.load(Ordering::Relaxed);
    let keep = app
        .state::<Arc<Core>>()
        .profile
        .load()
        .unwrap_or_default()
        .background
        .keep_running;
    if tray && keep {
        api.prevent_close();
        let _ = window.hide();
    }
}

/// Started at login: the window stays hidden (in the tray) until the user opens it.
pub fn start_hidden(app: &AppHandle) {
    let asked = std::env::args().any(|a| a == BACKGROUND_ARG);
    if asked && app.state::<Tray>().0.load(Ordering::Relaxed) {
        if let Some(w) = app.get_webview_window("main") {
            let _ = w.hide();
        }
    }
}

fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// The autostart entry of `profile` in `config_home` (XDG Autostart specification).
fn autostart_path(config_home: &Path, profile: &str) -> PathBuf {
    let name = if profile == "default" {
        "app.simu.desktop.desktop".to_string()
    } else {
        format!("app.simu.desktop-{profile}.desktop")
    };
    config_home.join("autostart").join(name)
}

/// The entry's text: this executable, in the tray, with its profile.
fn autostart_entry(exe: &Path, profile: &str) -> String {
    let quoted = format!("\"{}\"", exe.display().to_string().replace('"', "\\\""));
    let profile_arg = if profile == "default" {
        String::new()
    } else {
        format!(" --profile {profile}")
    };
    format!(
        "[Desktop Entry]\nType=Application\nName=Simu\nComment=Video calls\n\
         Exec={quoted}{profile_arg} {BACKGROUND_ARG}\nIcon=simu-desktop\nTerminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// Writes or removes the autostart entry.
fn set_autostart(config_home: &Path, exe: &Path, profile: &str, on: bool) -> std::io::Result<()> {
    let path = autostart_path(config_home, profile);
    if on {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, autostart_entry(exe, profile))
    } else {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[tauri::command]
pub async fn background(core: State<'_, Arc<Core>>) -> Result<Background, AppError> {
    Ok(core.profile.load().unwrap_or_default().background)
}

/// Saves how Simu runs in the background and writes or removes the autostart entry.
#[tauri::command]
pub async fn set_background(
    core: State<'_, Arc<Core>>,
    background: Background,
) -> Result<Background, AppError> {
    let home = config_home().ok_or_else(|| AppError::local("No home directory."))?;
    let exe = std::env::current_exe()
        .map_err(|e| AppError::local(format!("Cannot find Simu's program file: {e}")))?;
    set_autostart(&home, &exe, &core.profile.name, background.start_at_login)
        .map_err(|e| AppError::local(format!("Cannot change start at login: {e}")))?;
    let mut s = core.profile.load().unwrap_or_default();
    s.background = background.clone();
    core.profile
        .save(&s)
        .map_err(|e| AppError::local(format!("Cannot save settings: {e}")))?;
    Ok(background)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_at_login_writes_an_entry_that_starts_in_the_tray_and_removes_it() {
        let home = tempfile::tempdir().expect("tempdir");
        let exe = Path::new("/usr/bin/simu-desktop");
        set_autostart(home.path(), exe, "work", true).expect("on");
        let path = autostart_path(home.path(), "work");
        let text = std::fs::read_to_string(&path).expect("entry");
        assert!(text.starts_with("[Desktop Entry]\n"), "{text}");
        assert!(
            text.contains("Exec=\"/usr/bin/simu-desktop\" --profile work --background\n"),
            "{text}"
        );
        set_autostart(home.path(), exe, "work", false).expect("off");
        assert!(!path.exists());
        set_autostart(home.path(), exe, "work", false).expect("off twice is fine");
    }

    #[test]
    fn settings_written_before_background_existed_keep_running_in_the_tray() {
        let b: Background = serde_json::from_str("{}").expect("read");
        assert!(b.keep_running && !b.start_at_login);
    }
}
