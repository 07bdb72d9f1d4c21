//! Settings-screen device commands: list microphones and speakers, choose them (saved in the
//! profile, applied to the next call and to the speaker of a live one), a live microphone level
//! meter ("mic-level" events), a speaker test tone and the camera preview. The device work lives in `media::devices`.

use crate::core::Core;
use crate::error::AppError;
use crate::profile::DeviceChoices;
use media::devices::AudioDevice;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, State};

/// What the settings screen shows: the devices there are and the user's choices.
#[derive(serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DeviceSettings {
    inputs: Vec<AudioDevice>,
    outputs: Vec<AudioDevice>,
    /// What calls can use (the synthetic pattern when no camera is present), with formats.
    cameras: Vec<CameraChoice>,
    choices: DeviceChoices,
}

#[derive(serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CameraChoice {
    name: String,
    /// Sizes, pixel formats and rates the camera offers (empty if it could not be asked).
    formats: Vec<String>,
}

/// Polls the device lists every two seconds and tells the UI ("devices-changed", the new
/// lists) when a microphone, speaker or camera comes or goes; stops when `stop` is set.
pub fn watch(app: AppHandle, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("simu-device-watch".into())
        .spawn(move || {
            let mut last = media::devices::DeviceSnapshot::take();
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..20 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let now = media::devices::DeviceSnapshot::take();
                if now != last {
                    let (added, removed) = now.changes_since(&last);
                    tracing::info!(?added, ?removed, "devices changed");
                    let _ = app.emit("devices-changed", &now);
                    last = now;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no device watcher");
    }
}

/// The running level meter, stopped when the settings screen closes or another starts.
#[derive(Default)]
pub struct Meter(Mutex<Option<Arc<AtomicBool>>>);

#[tauri::command]
pub async fn device_settings(core: State<'_, Arc<Core>>) -> Result<DeviceSettings, AppError> {
    let names = core
        .with_active(|a| a.manager.camera_names())
        .await
        .unwrap_or_default();
    let (inputs, outputs, cameras) = tokio::task::spawn_blocking(move || {
        let found = media::camera::list_cameras();
        let cameras = names
            .into_iter()
            .map(|name| {
                let formats = found
                    .iter()
                    .find(|c| c.name == name)
                    .and_then(|c| media::camera::formats(c.index).ok())
                    .unwrap_or_default();
                CameraChoice { name, formats }
            })
            .collect();
        (
            media::devices::list_inputs(),
            media::devices::list_outputs(),
            cameras,
        )
    })
    .await?;
    Ok(DeviceSettings {
        inputs,
        outputs,
        cameras,
        choices: core.profile.load().unwrap_or_default().choices,
    })
}

/// Saves the choices; they apply to the signed-in CallManager at once (the microphone and
/// codec from its next call, the speaker, quality and camera now).
#[tauri::command]
pub async fn choose_devices(
    core: State<'_, Arc<Core>>,
    choices: DeviceChoices,
) -> Result<(), AppError> {
    let mut s = core.profile.load().ok_or_else(AppError::not_signed_in)?;
    let nonempty = |o: Option<String>| o.filter(|m| !m.is_empty());
    s.choices = DeviceChoices {
        microphone: nonempty(choices.microphone),
        speaker: nonempty(choices.speaker),
        camera: nonempty(choices.camera),
        ..choices
    };
    core.profile
        .save(&s)
        .map_err(|e| AppError::local(format!("Cannot save settings: {e}")))?;
    if let Ok(m) = core.with_active(|a| a.manager.clone()).await {
        let c = &s.choices;
        m.set_microphone(c.microphone.clone()).await?;
        m.set_speaker(c.speaker.clone()).await?;
        m.set_quality_preset(c.default_quality).await?;
        m.set_video_codecs(c.codec_preference()).await?;
        if let Some(cam) = &c.camera {
            m.select_camera(cam).await?;
        }
    }
    Ok(())
}

/// Starts the level meter on `device`; levels arrive as "mic-level" events (dBFS).
#[tauri::command]
pub fn mic_meter_start(
    app: AppHandle,
    meter: State<'_, Meter>,
    device: Option<String>,
) -> Result<(), AppError> {
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(old) = meter
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(stop.clone())
    {
        old.store(true, Ordering::Relaxed);
    }
    std::thread::Builder::new()
        .name("simu-mic-meter".into())
        .spawn(move || {
            let device = device.filter(|d| !d.is_empty());
            if let Err(e) = media::devices::level_meter(device.as_deref(), &stop, |db| {
                let _ = app.emit("mic-level", db);
            }) {
                let _ = app.emit("mic-error", e.to_string());
            }
        })
        .map(|_| ())
        .map_err(|e| AppError::local(format!("No level meter: {e}")))
}

#[tauri::command]
pub fn mic_meter_stop(meter: State<'_, Meter>) {
    if let Some(old) = meter.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
        old.store(true, Ordering::Relaxed);
    }
}

/// Starts or stops the camera preview (into the local picture the frame server sends);
/// returns the camera's name.
#[tauri::command]
pub async fn camera_preview(core: State<'_, Arc<Core>>, on: bool) -> Result<String, AppError> {
    let m = core.with_active(|a| a.manager.clone()).await?;
    Ok(m.preview_camera(on).await?)
}

/// Plays a one-second tone on `device`; returns the device's name.
#[tauri::command]
pub async fn speaker_test(device: Option<String>) -> Result<String, AppError> {
    let device = device.filter(|d| !d.is_empty());
    tokio::task::spawn_blocking(move || {
        media::devices::speaker_test(device.as_deref(), 523.25, Duration::from_secs(1))
    })
    .await?
    .map_err(AppError::from)
}
