//! Click-to-call links (`tel:`, `simu:`) from the deep-link plugin, at launch or while running:
//! kept until the UI takes them (it may still be loading), announced with an event, window raised.

use nx::DialLink;
use std::sync::Mutex;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

/// The last link the UI has not taken yet.
#[derive(Default)]
pub struct PendingLink(Mutex<Option<DialLink>>);

/// Listens for links and takes the one the app was launched with.
pub fn install(app: &AppHandle) {
    app.manage(PendingLink::default());
    let handle = app.clone();
    app.deep_link().on_open_url(move |e| {
        for url in e.urls() {
            deliver(&handle, url.as_str());
        }
    });
    match app.deep_link().get_current() {
        Ok(Some(urls)) => urls.iter().for_each(|u| deliver(app, u.as_str())),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the launch link"),
    }
}

fn deliver(app: &AppHandle, url: &str) {
    let Some(link) = nx::parse_dial_link(url) else {
        tracing::warn!(url, "ignoring a link that names no one to call");
        return;
    };
    if let Some(p) = app.try_state::<PendingLink>() {
        *p.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(link.clone());
    }
    let _ = app.emit("dial-link", &link);
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// The pending link, once.
#[tauri::command]
pub fn take_dial_link(pending: tauri::State<'_, PendingLink>) -> Option<DialLink> {
    pending.0.lock().unwrap_or_else(|e| e.into_inner()).take()
}
