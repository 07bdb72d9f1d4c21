//! PulseAudio, which PipeWire also serves: the sinks and sources with the descriptions people
//! know ("Built-in Audio Analog Stereo", "Jabra Evolve 65") and their names as stable ids, and
//! capture / playback streams on a chosen one. cpal (ALSA) only reaches Pulse's default device.

use super::AudioDevice;
use libpulse_binding::callbacks::ListResult;
use libpulse_binding::context::{Context, FlagSet, State};
use libpulse_binding::mainloop::standard::{IterateResult, Mainloop};
use libpulse_binding::operation::State as OpState;
use libpulse_binding::sample::{Format, Spec};
use libpulse_binding::stream::Direction;
use libpulse_simple_binding::Simple;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Ids of Pulse devices start with this; anything else is a cpal (ALSA) device name.
pub const ID_PREFIX: &str = "pulse:";

/// How long listing may take before Simu falls back to cpal's names.
const LIST_TIMEOUT: Duration = Duration::from_secs(2);

/// Samples per read or write: 10 ms at 48 kHz mono.
pub const CHUNK: usize = 480;

/// The Pulse device an id names, if it is one.
pub fn device_of(id: &str) -> Option<&str> {
    id.strip_prefix(ID_PREFIX).filter(|d| !d.is_empty())
}

/// Iterates `ml` until `done` or the deadline; false on a dead connection or timeout.
fn run_until(ml: &mut Mainloop, deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        match ml.iterate(false) {
            IterateResult::Quit(_) | IterateResult::Err(_) => return false,
            IterateResult::Success(0) => std::thread::sleep(Duration::from_millis(2)),
            IterateResult::Success(_) => {}
        }
    }
    true
}

/// Pulse's devices for input (sources) or output (sinks), the default first; `None` when no
/// Pulse server answers. Monitors of outputs are left out unless one is the default input.
pub fn list(input: bool) -> Option<Vec<AudioDevice>> {
    let deadline = Instant::now() + LIST_TIMEOUT;
    let mut ml = Mainloop::new()?;
    let mut ctx = Context::new(&ml, "Simu")?;
    ctx.connect(None, FlagSet::NOAUTOSPAWN, None).ok()?;
    let ready = run_until(&mut ml, deadline, || {
        matches!(
            ctx.get_state(),
            State::Ready | State::Failed | State::Terminated
        )
    });
    if !ready || ctx.get_state() != State::Ready {
        return None;
    }
    let default: Rc<RefCell<Option<String>>> = Rc::default();
    let d = default.clone();
    let op = ctx.introspect().get_server_info(move |info| {
        let name = if input {
            &info.default_source_name
        } else {
            &info.default_sink_name
        };
        *d.borrow_mut() = name.as_ref().map(|n| n.to_string());
    });
    if !run_until(&mut ml, deadline, || op.get_state() != OpState::Running) {
        return None;
    }
    let found: Rc<RefCell<Vec<(String, String, bool)>>> = Rc::default();
    let f = found.clone();
    let done = Rc::new(RefCell::new(false));
    let dn = done.clone();
    let listed = if input {
        let _op = ctx.introspect().get_source_info_list(move |r| match r {
            ListResult::Item(i) => {
                if let Some(name) = &i.name {
                    let desc = i.description.as_deref().unwrap_or(name).to_string();
                    let monitor = i.monitor_of_sink.is_some();
                    f.borrow_mut().push((name.to_string(), desc, monitor));
                }
            }
            ListResult::End | ListResult::Error => *dn.borrow_mut() = true,
        });
        run_until(&mut ml, deadline, || *done.borrow())
    } else {
        let _op = ctx.introspect().get_sink_info_list(move |r| match r {
            ListResult::Item(i) => {
                if let Some(name) = &i.name {
                    let desc = i.description.as_deref().unwrap_or(name).to_string();
                    f.borrow_mut().push((name.to_string(), desc, false));
                }
            }
            ListResult::End | ListResult::Error => *dn.borrow_mut() = true,
        });
        run_until(&mut ml, deadline, || *done.borrow())
    };
    ctx.disconnect();
    if !listed {
        return None;
    }
    let default = default.borrow().clone();
    let mut out: Vec<AudioDevice> = found
        .borrow()
        .iter()
        .filter(|(name, _, monitor)| !monitor || Some(name) == default.as_ref())
        .map(|(name, desc, _)| AudioDevice {
            id: format!("{ID_PREFIX}{name}"),
            name: desc.clone(),
            is_default: Some(name) == default.as_ref(),
        })
        .collect();
    out.sort_by_key(|d| !d.is_default);
    Some(out)
}

/// A capture or playback stream on the Pulse device `device`, 48 kHz mono 16-bit, with
/// about `latency` of buffering.
pub fn open(device: &str, input: bool, latency: Duration) -> Result<Simple, String> {
    let spec = Spec {
        format: Format::S16NE,
        channels: 1,
        rate: crate::SAMPLE_RATE,
    };
    let bytes = (spec.usec_to_bytes(libpulse_binding::time::MicroSeconds(
        latency.as_micros() as u64
    ))) as u32;
    let attr = libpulse_binding::def::BufferAttr {
        maxlength: u32::MAX,
        tlength: if input { u32::MAX } else { bytes },
        prebuf: u32::MAX,
        minreq: u32::MAX,
        fragsize: if input { bytes } else { u32::MAX },
    };
    let (dir, what) = if input {
        (Direction::Record, "Call microphone")
    } else {
        (Direction::Playback, "Call audio")
    };
    Simple::new(
        None,
        "Simu",
        dir,
        Some(device),
        what,
        &spec,
        None,
        Some(&attr),
    )
    .map_err(|e| {
        e.to_string()
            .unwrap_or_else(|| "PulseAudio refused the stream".into())
    })
}

/// Reads one chunk of 16-bit samples as floats.
pub fn read(s: &Simple, out: &mut Vec<f32>) -> Result<(), String> {
    let mut bytes = [0u8; CHUNK * 2];
    s.read(&mut bytes)
        .map_err(|e| e.to_string().unwrap_or_else(|| "capture failed".into()))?;
    out.clear();
    out.extend(
        bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_ne_bytes([b[0], b[1]])) / 32768.0),
    );
    Ok(())
}

/// Writes float samples as 16-bit (blocks while the server's buffer is full: the pace).
pub fn write(s: &Simple, samples: &[f32]) -> Result<(), String> {
    let bytes: Vec<u8> = samples
        .iter()
        .flat_map(|&x| ((x.clamp(-1.0, 1.0) * 32767.0) as i16).to_ne_bytes())
        .collect();
    s.write(&bytes)
        .map_err(|e| e.to_string().unwrap_or_else(|| "playback failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_ids_are_pulse_devices() {
        assert_eq!(
            device_of("pulse:alsa_output.usb-Jabra.analog-stereo"),
            Some("alsa_output.usb-Jabra.analog-stereo")
        );
        assert_eq!(device_of("pulse:"), None);
        assert_eq!(device_of("default"), None);
    }
}
