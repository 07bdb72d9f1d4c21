//! Real audio plumbing (`e2e::pulse`: a private PulseAudio daemon with null sinks): devices
//! listed by the names Pulse gives them, the default devices through cpal and ALSA's pulse
//! plugin as on a desktop, chosen devices through Pulse by their stable ids; the microphone,
//! the speaker test, and a call's received audio played out and switched between speakers.
//! Nothing touches real hardware.

use e2e::pulse::{pactl, pulse};
use media::devices::{list_inputs, list_outputs, speaker_test, DeviceError, Microphone};
use media::AudioSource;
use std::time::Duration;

/// Zero crossings per second and RMS level (dBFS) of 48 kHz samples.
fn pitch_and_level(samples: &[f32]) -> (f32, f32) {
    let ups = samples
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt();
    (
        ups as f32 * 48_000.0 / samples.len().max(1) as f32,
        20.0 * rms.max(1e-9).log10(),
    )
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
    assert!(
        inputs.iter().any(|d| d.is_default),
        "a default input among {inputs:?}"
    );
    let mut mic = Microphone::open(None).expect("default microphone");
    let samples = record(&mut mic, 0.6);
    let (pitch, level) = pitch_and_level(&samples[4800..]);
    assert!(
        (pitch - 440.0).abs() < 15.0,
        "440 Hz from the tone, heard {pitch} Hz"
    );
    assert!(
        (level + 9.0).abs() < 2.0,
        "-6 dBFS peak is -9 dBFS RMS, got {level}"
    );
}

#[test]
fn speaker_test_tone_reaches_the_output_device() {
    let _p = pulse();
    assert!(list_outputs().iter().any(|d| d.is_default));
    // Listen to what the default speaker plays: its monitor becomes the microphone.
    assert!(pactl(&["set-default-source", "simu_out.monitor"]));
    let mut mic = Microphone::open(None).expect("monitor of the speaker");
    let player = std::thread::spawn(|| speaker_test(None, 660.0, Duration::from_millis(4000)));
    let samples = record(&mut mic, 1.0);
    let name = player.join().expect("player").expect("speaker test");
    assert!(!name.is_empty());
    let (pitch, level) = pitch_and_level(&samples[4800..]);
    let gaps: Vec<usize> = samples
        .chunks(960)
        .map(pitch_and_level)
        .enumerate()
        .filter(|(_, c)| c.1 < -40.0)
        .map(|(i, _)| i)
        .collect();
    assert!(
        gaps.is_empty(),
        "no silent 20 ms while the tone plays: {gaps:?}"
    );
    assert!(
        (pitch - 660.0).abs() < 15.0,
        "660 Hz at the sink, got {pitch}"
    );
    assert!(
        (level + 15.0).abs() < 3.0,
        "played at -12 dBFS peak (-15 dBFS RMS), got {level}"
    );
}

#[test]
fn a_missing_device_is_a_clear_error() {
    let _p = pulse();
    assert_eq!(
        Microphone::open(Some("no such microphone")).err(),
        Some(DeviceError::NotFound("no such microphone".into()))
    );
    assert!(matches!(
        speaker_test(Some("no such speaker"), 440.0, Duration::from_millis(10)),
        Err(DeviceError::NotFound(_))
    ));
}

/// Opens real speakers for received audio.
fn with_speaker(cfg: &mut call::CallConfig) {
    cfg.media.output = Some(std::sync::Arc::new(|name: Option<&str>| {
        media::devices::Speaker::open(name)
            .map(|s| Box::new(s) as Box<dyn media::AudioSink>)
            .map_err(|e| e.to_string())
    }));
}

/// Listens to `sink` through its monitor until a tone near `hz` is heard for 0.4 s.
fn hears(sink: &str, hz: f32) -> bool {
    assert!(pactl(&["set-default-source", &format!("{sink}.monitor")]));
    let mut mic = Microphone::open(None).expect("monitor");
    let mut run = 0;
    for _ in 0..250 {
        let f = mic.next_frame().expect("frame");
        let samples: Vec<f32> = f.samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let (pitch, level) = pitch_and_level(&samples);
        run = if level > -40.0 && (pitch - hz).abs() < 60.0 {
            run + 1
        } else {
            0
        };
        if run >= 20 {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_audio_plays_on_the_chosen_speaker_and_follows_a_switch() {
    let _p = pulse();
    let h = e2e::Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager_with("bob", with_speaker).await;
    e2e::connected_call(&alice, &bob, "bob", false).await;
    // Alice's synthetic microphone is a 440 Hz tone; Bob plays it on the default output.
    assert!(
        tokio::task::spawn_blocking(|| hears("simu_out", 440.0))
            .await
            .expect("listener"),
        "the tone on Bob's default output"
    );
    assert!(
        list_outputs().iter().any(|d| d.id == "pulse:simu_alt"),
        "a second output: {:?}",
        list_outputs()
    );
    bob.set_speaker(Some("pulse:simu_alt".into()))
        .await
        .expect("switch");
    assert!(
        tokio::task::spawn_blocking(|| hears("simu_alt", 440.0))
            .await
            .expect("listener"),
        "the tone moved to the other output"
    );
    // A device that will not open leaves playback where it was instead of going silent.
    bob.set_speaker(Some("no such speaker".into()))
        .await
        .expect("switch");
    assert!(
        tokio::task::spawn_blocking(|| hears("simu_alt", 440.0))
            .await
            .expect("listener"),
        "still on the working output"
    );
    alice.end_call().await.expect("end");
}

#[test]
fn devices_have_the_names_pulse_gives_them_and_open_by_stable_id() {
    let _p = pulse();
    let outputs = list_outputs();
    let alt = outputs
        .iter()
        .find(|d| d.id == "pulse:simu_alt")
        .unwrap_or_else(|| panic!("the second sink among {outputs:?}"));
    assert_ne!(
        alt.name, "simu_alt",
        "a description, not the raw name: {alt:?}"
    );
    assert!(
        outputs
            .iter()
            .any(|d| d.is_default && d.id == "pulse:simu_out"),
        "the default sink first: {outputs:?}"
    );
    let inputs = list_inputs();
    assert!(
        inputs
            .iter()
            .any(|d| d.is_default && d.id == "pulse:simu_mic.monitor"),
        "the default source (a monitor) is listed: {inputs:?}"
    );
    assert!(
        !inputs.iter().any(|d| d.id == "pulse:simu_alt.monitor"),
        "other monitors are not microphones: {inputs:?}"
    );
    // The chosen source by id, whatever the default is now.
    assert!(pactl(&["set-default-source", "simu_out.monitor"]));
    let mut mic = Microphone::open(Some("pulse:simu_mic.monitor")).expect("the tone's source");
    let samples = record(&mut mic, 0.6);
    let (pitch, _) = pitch_and_level(&samples[4800..]);
    assert!((pitch - 440.0).abs() < 15.0, "440 Hz, heard {pitch} Hz");
    // The speaker test on a chosen sink by id, heard on that sink's monitor.
    let mut monitor = Microphone::open(Some("pulse:simu_alt.monitor")).expect("monitor");
    let player = std::thread::spawn(|| {
        speaker_test(Some("pulse:simu_alt"), 660.0, Duration::from_millis(3000))
    });
    let heard = record(&mut monitor, 1.0);
    player.join().expect("player").expect("speaker test");
    let (pitch, level) = pitch_and_level(&heard[4800..]);
    assert!(
        (pitch - 660.0).abs() < 15.0,
        "660 Hz on simu_alt, got {pitch}"
    );
    assert!(level > -25.0, "audible, got {level} dBFS");
    assert!(
        matches!(
            Microphone::open(Some("pulse:no_such_source")),
            Err(DeviceError::Open(..))
        ),
        "a Pulse device that is not there is a clear error"
    );
}
