//! A private PulseAudio daemon for tests of real audio plumbing, with null sinks: `simu_mic`
//! (a 440 Hz tone is played into it; its monitor is the default microphone), `simu_out` (the
//! default output) and `simu_alt` (ALSA's `pipewire` output, see below); a sink's monitor lets
//! a test hear what was played. Reached through ALSA's pulse plugin, as cpal does on a desktop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub struct Pulse {
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
        .flat_map(|i| {
            (((i as f32 * std::f32::consts::TAU * 440.0 / 48_000.0).sin() * 16_384.0) as i16)
                .to_le_bytes()
        })
        .collect();
    std::fs::write(&path, bytes).expect("tone file");
    path
}

/// Starts a PulseAudio daemon for one test and points libpulse at it; tests take turns (the
/// server address is process-wide), and the daemon and tone player end with the guard.
pub fn pulse() -> (MutexGuard<'static, ()>, Pulse) {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let socket: PathBuf = dir.path().join("native");
    std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    std::env::set_var("PULSE_RUNTIME_PATH", dir.path());
    // A second ALSA output reaching another sink, standing for a headset. cpal lists only ALSA's
    // built-in names (default, pipewire, pulse, jack, oss) and sound cards, so it is defined
    // under the name `pipewire` (unused here: this machine runs PulseAudio). alsa-lib reads
    // `~/.asoundrc` once per process, so HOME is one fixed folder in the build tree.
    let home = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/alsa-home");
    std::fs::create_dir_all(&home).expect("alsa home");
    std::fs::write(
        home.join(".asoundrc"),
        "pcm.!pipewire {\n  type pulse\n  device simu_alt\n}\n",
    )
    .expect("asoundrc");
    std::env::set_var("HOME", &home);
    let daemon = Command::new("pulseaudio")
        .args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disable-shm=yes",
            "--log-target=stderr",
        ])
        .arg(format!(
            "--load=module-native-protocol-unix socket={} auth-anonymous=1",
            socket.display()
        ))
        .args([
            "--load=module-null-sink sink_name=simu_out rate=48000",
            "--load=module-null-sink sink_name=simu_mic rate=48000",
            "--load=module-null-sink sink_name=simu_alt rate=48000",
        ])
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
        .args([
            "-d",
            "simu_mic",
            "--raw",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
        ])
        .arg(tone_file(dir.path()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pacat (Debian package pulseaudio-utils)");
    let pulse = Pulse {
        _dir: dir,
        daemon,
        tone,
    };
    assert!(
        pactl(&["set-default-source", "simu_mic.monitor"])
            && pactl(&["set-default-sink", "simu_out"]),
        "pulseaudio did not come up"
    );
    (turn, pulse)
}

pub fn pactl(args: &[&str]) -> bool {
    Command::new("pactl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
