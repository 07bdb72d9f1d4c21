//! Acoustic echo in a real call: Alice's "room" feeds what her speaker plays back into her
//! microphone. Without audio processing Bob hears his own tone come back; with it he does not.
// Tests print their `measure:` lines for the notes.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use call::MediaFactory;
use e2e::*;
use media::apm::ApmSettings;
use media::{AudioFrame, AudioSink, AudioSource, SourceError, AUDIO_FRAME_SAMPLES};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Air = Arc<Mutex<VecDeque<i16>>>;

/// The speaker: what it plays reaches the microphone 10 dB quieter.
struct RoomSpeaker(Air);

impl AudioSink for RoomSpeaker {
    fn play(&mut self, frame: &AudioFrame) -> Result<(), SourceError> {
        let mut air = self.0.lock().unwrap_or_else(|p| p.into_inner());
        air.extend(frame.samples.iter().map(|s| (f32::from(*s) * 0.316) as i16));
        // A room holds at most half a second of sound.
        while air.len() > 24_000 {
            air.pop_front();
        }
        Ok(())
    }

    fn name(&self) -> String {
        "room speaker".into()
    }
}

/// The microphone: hears the room (silence when nothing was played yet).
struct RoomMic(Air);

impl AudioSource for RoomMic {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError> {
        let mut air = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let samples = (0..AUDIO_FRAME_SAMPLES)
            .map(|_| air.pop_front().unwrap_or(0))
            .collect();
        Ok(AudioFrame {
            samples,
            capture_us: media::now_micros(),
        })
    }

    fn name(&self) -> String {
        "room microphone".into()
    }
}

fn room(apm: Option<ApmSettings>) -> MediaFactory {
    let air: Air = Arc::new(Mutex::new(VecDeque::new()));
    let (a, b) = (air.clone(), air);
    MediaFactory {
        audio: Arc::new(move |_: Option<&str>| {
            Box::new(RoomMic(a.clone())) as Box<dyn AudioSource>
        }),
        output: Some(Arc::new(move |_: Option<&str>| {
            Ok(Box::new(RoomSpeaker(b.clone())) as Box<dyn AudioSink>)
        })),
        audio_processing: apm,
        ..MediaFactory::synthetic()
    }
}

/// Bob's mean received level (dBFS) over 3 s, after 5 s for the echo canceller to settle.
async fn level_bob_hears(h: &Harness, apm: Option<ApmSettings>, tag: &str) -> f32 {
    let alice_name = format!("alice_{tag}");
    let bob_name = format!("bob_{tag}");
    let alice = h.manager_with(&alice_name, |c| c.media = room(apm)).await;
    let bob = h.manager(&bob_name).await;
    connected_call(&bob, &alice, &alice_name, false).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let counters = bob.receive_counters();
    let mut sum = 0.0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sum += 10f32.powf(counters.audio_level_dbfs() / 10.0);
    }
    bob.end_call().await.expect("end");
    alice.dispose().await;
    bob.dispose().await;
    10.0 * (sum / 30.0).max(1e-12).log10()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_canceller_stops_the_far_end_hearing_itself() {
    let h = Harness::start().await;
    let open = level_bob_hears(&h, None, "open").await;
    let cancelled = level_bob_hears(&h, Some(ApmSettings::default()), "aec").await;
    eprintln!("measure: Bob hears his own tone at {open:.1} dBFS without processing, {cancelled:.1} dBFS with it");
    assert!(
        open > -45.0,
        "without processing the echo comes back ({open:.1} dBFS)"
    );
    assert!(
        cancelled < open - 20.0,
        "the echo canceller removed only {:.1} dB",
        open - cancelled
    );
}
