//! Simu desktop: a thin Tauri shell mapping the CallManager to commands and events.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod background;
#[cfg(test)]
mod bindings;
mod call_links;
mod commands;
mod core;
mod devices;
mod error;
mod frames;
mod links;
mod notices;
mod profile;
mod rules;

use std::sync::Arc;
use tauri::Manager;

/// `--profile NAME` runs another user side by side (each profile its own settings and keys).
fn profile_arg() -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--profile=").map(str::to_string))
        })
        .unwrap_or_else(|| "default".into())
}

fn main() -> anyhow::Result<()> {
    let profile = profile::Profile::new(&profile_arg())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tauri::async_runtime::set(runtime.handle().clone());
    let (sinks_tx, sinks_rx) = tokio::sync::watch::channel(None);
    let (addr, token) = runtime.block_on(frames::start(sinks_rx))?;
    let core = Arc::new(core::Core::new(
        profile,
        format!("ws://{addr}/frames?token={token}"),
        sinks_tx,
    ));
    let single = core.profile.name == "default";
    let mut builder = tauri::Builder::default();
    if single {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }));
    }
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_watching = watching.clone();
    builder
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_log::Builder::new().level(log_level()).build())
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .manage(core.clone())
        .manage(devices::Meter::default())
        .manage(background::Tray::default())
        .manage(notices::Notices::default())
        .on_window_event(background::on_window_event)
        .setup(move |app| {
            background::install_tray(app.handle());
            background::start_hidden(app.handle());
            links::install(app.handle());
            devices::watch(app.handle().clone(), watching.clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::resume,
            commands::sign_in,
            commands::sign_out,
            commands::normalize,
            commands::contacts,
            commands::save_contact,
            commands::remove_contact,
            commands::history,
            commands::place_call,
            commands::place_group_call,
            commands::add_to_call,
            commands::answer_knock,
            commands::member_levels,
            commands::accept_call,
            commands::decline_call,
            commands::hang_up,
            commands::set_muted,
            commands::set_camera,
            commands::start_video,
            commands::switch_camera,
            commands::set_quality,
            commands::set_bitrates,
            commands::start_stats,
            links::take_dial_link,
            call_links::contact_call_link,
            call_links::create_room_link,
            call_links::call_links,
            call_links::revoke_call_link,
            devices::device_settings,
            devices::choose_devices,
            devices::mic_meter_start,
            devices::mic_meter_stop,
            devices::speaker_test,
            devices::camera_preview,
            notices::set_notice_texts,
            rules::call_rules,
            rules::set_call_rules,
            background::background,
            background::set_background,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))?;
    stop_watching.store(true, std::sync::atomic::Ordering::Relaxed);
    runtime.block_on(core.sign_out());
    Ok(())
}

fn log_level() -> tauri_plugin_log::log::LevelFilter {
    match std::env::var("SIMU_LOG").as_deref() {
        Ok("debug") => tauri_plugin_log::log::LevelFilter::Debug,
        Ok("info") => tauri_plugin_log::log::LevelFilter::Info,
        _ => tauri_plugin_log::log::LevelFilter::Warn,
    }
}
