//! Real audio devices through cpal: listing, the microphone as an `AudioSource`, the speaker as
//! a playout sink, and a speaker test. Each cpal stream lives on its own thread (streams are not
//! `Send` everywhere) and talks to the call through small bounded buffers.

mod mic;
mod pulse;
mod resample;
mod speaker;
mod stream_thread;
mod watch;

pub use mic::{level_meter, LazyMicrophone, Microphone};
pub use speaker::{speaker_test, Speaker};
pub use watch::DeviceSnapshot;

use cpal::traits::{DeviceTrait, HostTrait};

/// An input or output device as the user picks it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AudioDevice {
    /// What selects it, stable across restarts: `pulse:<Pulse name>` for a PulseAudio or
    /// PipeWire device, else the name cpal (ALSA) reports.
    pub id: String,
    /// What people call it (Pulse's description, or cpal's name).
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum DeviceError {
    #[error("no such audio device: {0}")]
    NotFound(String),
    #[error("no default audio device")]
    NoDefault,
    #[error("audio device {0}: {1}")]
    Open(String, String),
}

/// Input devices (microphones), the default first: Pulse's when a Pulse (or PipeWire) server
/// answers, else cpal's.
pub fn list_inputs() -> Vec<AudioDevice> {
    if let Some(found) = pulse::list(true).filter(|d| !d.is_empty()) {
        return found;
    }
    let host = cpal::default_host();
    let default = host.default_input_device().and_then(|d| d.name().ok());
    let devices = host
        .input_devices()
        .map(|d| d.collect::<Vec<_>>())
        .unwrap_or_default();
    listed(devices, default)
}

/// Output devices (speakers, headsets), the default first: Pulse's when a Pulse (or
/// PipeWire) server answers, else cpal's.
pub fn list_outputs() -> Vec<AudioDevice> {
    if let Some(found) = pulse::list(false).filter(|d| !d.is_empty()) {
        return found;
    }
    let host = cpal::default_host();
    let default = host.default_output_device().and_then(|d| d.name().ok());
    let devices = host
        .output_devices()
        .map(|d| d.collect::<Vec<_>>())
        .unwrap_or_default();
    listed(devices, default)
}

fn listed(devices: Vec<cpal::Device>, default: Option<String>) -> Vec<AudioDevice> {
    let mut out: Vec<AudioDevice> = devices
        .iter()
        .filter_map(|d| d.name().ok())
        .map(|name| AudioDevice {
            is_default: Some(&name) == default.as_ref(),
            id: name.clone(),
            name,
        })
        .collect();
    out.dedup_by(|a, b| a.id == b.id);
    out.sort_by_key(|d| !d.is_default);
    out
}

/// Finds a device by name (`None`: the system default).
fn find(name: Option<&str>, input: bool) -> Result<cpal::Device, DeviceError> {
    let host = cpal::default_host();
    match name {
        None if input => host.default_input_device().ok_or(DeviceError::NoDefault),
        None => host.default_output_device().ok_or(DeviceError::NoDefault),
        Some(want) => {
            let devices = if input {
                host.input_devices().map(|d| d.collect::<Vec<_>>())
            } else {
                host.output_devices().map(|d| d.collect())
            };
            devices
                .map_err(|e| DeviceError::Open(want.into(), e.to_string()))?
                .into_iter()
                .find(|d| d.name().ok().as_deref() == Some(want))
                .ok_or_else(|| DeviceError::NotFound(want.into()))
        }
    }
}

/// A device found and its stream format chosen, ready to build a stream on.
struct Opening {
    device: cpal::Device,
    label: String,
    rate: u32,
    format: cpal::SampleFormat,
    config: cpal::StreamConfig,
}

/// Finds `name` (`None`: the default) for input or output and picks its format.
fn opening(name: Option<&str>, input: bool) -> Result<Opening, DeviceError> {
    let device = find(name, input)?;
    let label = device
        .name()
        .unwrap_or_else(|_| if input { "microphone" } else { "speaker" }.into());
    let config = pick_config(&device, input).map_err(|e| DeviceError::Open(label.clone(), e))?;
    Ok(Opening {
        rate: config.sample_rate().0,
        format: config.sample_format(),
        config: config.into(),
        device,
        label,
    })
}

/// The device's format closest to the call's: 48 kHz (no resampling) with the fewest channels
/// and a float or 16-bit sample type when offered; else the device's default.
fn pick_config(device: &cpal::Device, input: bool) -> Result<cpal::SupportedStreamConfig, String> {
    let want = cpal::SampleRate(crate::SAMPLE_RATE);
    let ranges: Vec<cpal::SupportedStreamConfigRange> = if input {
        device
            .supported_input_configs()
            .map(|c| c.collect())
            .unwrap_or_default()
    } else {
        device
            .supported_output_configs()
            .map(|c| c.collect())
            .unwrap_or_default()
    };
    let best = ranges
        .into_iter()
        .filter(|r| r.min_sample_rate() <= want && want <= r.max_sample_rate())
        .filter(|r| {
            matches!(
                r.sample_format(),
                cpal::SampleFormat::F32 | cpal::SampleFormat::I16
            )
        })
        .min_by_key(|r| (r.channels(), r.sample_format() != cpal::SampleFormat::F32));
    match best {
        Some(r) => Ok(r.with_sample_rate(want)),
        None if input => device.default_input_config().map_err(|e| e.to_string()),
        None => device.default_output_config().map_err(|e| e.to_string()),
    }
}
