//! Settings-screen device commands: list microphones and speakers, choose them (saved in the
//! profile, applied to the next call and to the speaker of a live one), a live microphone level
//! meter ("mic-level" events), a speaker test tone and the camera preview. The device work lives in `media::devices`.

use crate::core::Core;
use media::devices::{AudioDevice, DeviceError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, State};

#[derive(serde::Serialize)]
pub struct Devices {
    inputs: Vec<AudioDevice>,
    outputs: Vec<AudioDevice>,
    microphone: Option<String>,
    speaker: Option<String>,
    default_quality: String,
    /// "" when Simu chooses.
    video_codec: String,
    /// What calls can use (the synthetic pattern when no camera is present), with formats.
    cameras: Vec<CameraChoice>,
    /// The camera in use for calls.
    camera: Option<String>,
}

#[derive(serde::Serialize)]
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
pub async fn audio_devices(core: State<'_, Arc<Core>>) -> Result<Devices, String> {
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
    .await
    .map_err(|e| e.to_string())?;
    let s = core.profile.load().unwrap_or_default();
    Ok(Devices {
        inputs,
        outputs,
        microphone: s.microphone,
        speaker: s.speaker,
        default_quality: s.default_quality,
        video_codec: s.video_codec.unwrap_or_default(),
        cameras,
        camera: s.camera,
    })
}

/// Saves the choices; the speaker and quality also apply to the signed-in CallManager at once,
/// the codec from its next call.
#[tauri::command]
pub async fn choose_devices(
    core: State<'_, Arc<Core>>,
    microphone: Option<String>,
    speaker: Option<String>,
    default_quality: Option<String>,
    video_codec: Option<String>,
    camera: Option<String>,
) -> Result<(), String> {
    let mut s = core.profile.load().ok_or("Sign in first.")?;
    s.microphone = microphone.filter(|m| !m.is_empty());
    s.speaker = speaker.filter(|m| !m.is_empty());
    let preset = match default_quality {
        Some(q) => {
            let p = q.parse::<call::Preset>()?;
            s.default_quality = q;
            Some(p)
        }
        None => None,
    };
    if let Some(c) = video_codec {
        if !c.is_empty() {
            c.parse::<media::codec::VideoCodec>()?;
        }
        s.video_codec = Some(c).filter(|c| !c.is_empty());
    }
    if let Some(c) = camera {
        s.camera = Some(c).filter(|c| !c.is_empty());
    }
    core.profile
        .save(&s)
        .map_err(|e| format!("Cannot save settings: {e}"))?;
    *core.microphone.lock().unwrap_or_else(|p| p.into_inner()) = s.microphone.clone();
    if let Ok(m) = core.with_active(|a| a.manager.clone()).await {
        m.set_speaker(s.speaker.clone())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(p) = preset {
            m.set_quality_preset(p).await.map_err(|e| e.to_string())?;
        }
        m.set_video_codecs(crate::core::codec_preference(s.video_codec.as_deref()))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(cam) = &s.camera {
            m.select_camera(cam).await.map_err(|e| e.to_string())?;
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
) -> Result<(), String> {
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
        .map_err(|e| e.to_string())
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
pub async fn camera_preview(core: State<'_, Arc<Core>>, on: bool) -> Result<String, String> {
    let m = core.with_active(|a| a.manager.clone()).await?;
    m.preview_camera(on).await.map_err(|e| e.to_string())
}

/// Plays a one-second tone on `device`; returns the device's name.
#[tauri::command]
pub async fn speaker_test(device: Option<String>) -> Result<String, String> {
    let device = device.filter(|d| !d.is_empty());
    tokio::task::spawn_blocking(move || {
        media::devices::speaker_test(device.as_deref(), 523.25, Duration::from_secs(1))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e: DeviceError| e.to_string())
}
