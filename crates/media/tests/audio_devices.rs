//! The cpal code path against real audio plumbing: a PulseAudio daemon this test starts on a
//! private socket with two null sinks, one whose monitor is the microphone (a tone is played
//! into it with `pacat`) and one that is the speaker (recorded from its monitor with `parec`),
//! reached through ALSA's pulse plugin as on a desktop. Nothing touches real hardware.

use media::devices::{list_inputs, list_outputs, speaker_test, DeviceError, Microphone};
use media::AudioSource;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

struct Pulse {
    _dir: tempfile::TempDir,
    daemon: Child,
    tone: Child,
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.tone.kill();
        let _ = self.tone.wait();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Ten seconds of a 440 Hz tone at -6 dBFS peak, 48 kHz mono s16le (longer than any test).
fn tone_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("tone.raw");
    let bytes: Vec<u8> = (0..480_000)
        .flat_map(|i| (((i as f32 * std::f32::consts::TAU * 440.0 / 48_000.0).sin() * 16_384.0) as i16).to_le_bytes())
        .collect();
    std::fs::write(&path, bytes).expect("tone file");
    path
}

/// Starts a PulseAudio daemon for one test and points libpulse at it; tests take turns (the
/// server address is process-wide), and the daemon and tone player end with the guard.
fn pulse() -> (MutexGuard<'static, ()>, Pulse) {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let socket: PathBuf = dir.path().join("native");
    std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    std::env::set_var("PULSE_RUNTIME_PATH", dir.path());
    let daemon = Command::new("pulseaudio")
        .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes", "--log-target=stderr"])
        .arg(format!("--load=module-native-protocol-unix socket={} auth-anonymous=1", socket.display()))
        .args(["--load=module-null-sink sink_name=simu_out rate=48000", "--load=module-null-sink sink_name=simu_mic rate=48000"])
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pulseaudio (Debian package pulseaudio) must be installed: scripts/deps.sh test");
    for _ in 0..100 {
        if socket.exists() && pactl(&["info"]) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let tone = Command::new("pacat")
        .args(["-d", "simu_mic", "--raw", "--format=s16le", "--rate=48000", "--channels=1"])
        .arg(tone_file(dir.path()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pacat (Debian package pulseaudio-utils)");
    let pulse = Pulse { _dir: dir, daemon, tone };
    assert!(pactl(&["set-default-source", "simu_mic.monitor"]) && pactl(&["set-default-sink", "simu_out"]), "pulseaudio did not come up");
    (turn, pulse)
}

fn pactl(args: &[&str]) -> bool {
    Command::new("pactl").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Zero crossings per second and RMS level (dBFS) of 48 kHz samples.
fn pitch_and_level(samples: &[f32]) -> (f32, f32) {
    let ups = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt();
    (ups as f32 * 48_000.0 / samples.len().max(1) as f32, 20.0 * rms.max(1e-9).log10())
}

/// Reads `secs` of frames after the device first delivers sound (warm-up: up to 3 s).
fn record(mic: &mut Microphone, secs: f32) -> Vec<f32> {
    let mut samples = Vec::new();
    let mut waited = 0;
    while samples.len() < (secs * 48_000.0) as usize {
        let f = mic.next_frame().expect("a frame");
        assert_eq!(f.samples.len(), media::AUDIO_FRAME_SAMPLES);
        if samples.is_empty() && f.samples.iter().all(|&s| s == 0) {
            waited += 1;
            assert!(waited < 150, "no sound within 3 s");
            continue;
        }
        samples.extend(f.samples.iter().map(|&s| f32::from(s) / 32768.0));
    }
    samples
}

#[test]
fn microphone_hears_the_tone_at_48k() {
    let _p = pulse();
    let inputs = list_inputs();
    assert!(inputs.iter().any(|d| d.is_default), "a default input among {inputs:?}");
    let mut mic = Microphone::open(None).expect("default microphone");
    let samples = record(&mut mic, 0.6);
    let (pitch, level) = pitch_and_level(&samples[4800..]);
    assert!((pitch - 440.0).abs() < 15.0, "440 Hz from the tone, heard {pitch} Hz");
    assert!((level + 9.0).abs() < 2.0, "-6 dBFS peak is -9 dBFS RMS, got {level}");
}

#[test]
fn speaker_test_tone_reaches_the_output_device() {
    let _p = pulse();
    assert!(list_outputs().iter().any(|d| d.is_default));
    // Listen to what the speaker plays: its monitor becomes the microphone for this test.
    assert!(pactl(&["set-default-source", "simu_out.monitor"]));
    let mut mic = Microphone::open(None).expect("monitor of the speaker");
    let player = std::thread::spawn(|| speaker_test(None, 660.0, Duration::from_millis(4000)));
    let samples = record(&mut mic, 1.0);
    let name = player.join().expect("player").expect("speaker test");
    assert!(!name.is_empty());
    let (pitch, level) = pitch_and_level(&samples[4800..]);
    let gaps: Vec<usize> = samples.chunks(960).map(pitch_and_level).enumerate().filter(|(_, c)| c.1 < -40.0).map(|(i, _)| i).collect();
    assert!(gaps.is_empty(), "no silent 20 ms while the tone plays: {gaps:?}");
    assert!((pitch - 660.0).abs() < 15.0, "660 Hz at the sink, got {pitch}");
    assert!((level + 15.0).abs() < 3.0, "played at -12 dBFS peak (-15 dBFS RMS), got {level}");
}

#[test]
fn a_missing_device_is_a_clear_error() {
    let _p = pulse();
    assert_eq!(Microphone::open(Some("no such microphone")).err(), Some(DeviceError::NotFound("no such microphone".into())));
    assert!(matches!(speaker_test(Some("no such speaker"), 440.0, Duration::from_millis(10)), Err(DeviceError::NotFound(_))));
}
