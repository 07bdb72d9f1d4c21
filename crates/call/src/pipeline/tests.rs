use super::counters::{RecvSnapshot, LATENCY_RING};
use super::send::KeyframePacer;
use super::*;
use crate::quality::Quality;
use std::sync::atomic::Ordering;

#[test]
pub(super) fn glass_to_glass_keeps_reporting_past_the_ring_size() {
    let c = RecvCounters::default();
    let mut seen = 0;
    for round in 0..3u64 {
        for i in 0..LATENCY_RING as u64 {
            c.push_latency(round * 10_000 + i);
        }
        let (fresh, total) = c.latencies_since(seen);
        assert_eq!(fresh.len(), LATENCY_RING, "round {round}");
        assert_eq!(
            fresh.last(),
            Some(&(round * 10_000 + LATENCY_RING as u64 - 1))
        );
        seen = total;
    }
    c.push_latency(7);
    assert_eq!(c.latencies_since(seen).0, vec![7]);
}

#[test]
pub(super) fn keyframe_requests_are_granted_at_most_every_300_ms_and_never_lost() {
    let ctl = MediaControl::new(Quality::default(), true, true);
    let mut k = KeyframePacer::default();
    let t = Instant::now();
    assert!(k.take(&ctl, t), "the first keyframe at once");
    k.sent(t);
    for ms in [10, 100, 200, 290] {
        ctl.request_keyframe();
        assert!(!k.take(&ctl, t + Duration::from_millis(ms)), "{ms} ms");
    }
    assert!(k.take(&ctl, t + Duration::from_millis(300)), "then granted");
    k.sent(t + Duration::from_millis(300));
    assert!(!k.take(&ctl, t + Duration::from_secs(5)), "not asked: none");
    ctl.request_keyframe_now();
    assert!(
        k.take(&ctl, t + Duration::from_millis(310)),
        "a new connection's first keyframe is not paced"
    );
}

#[test]
pub(super) fn the_encoder_reaches_the_users_cap_even_by_a_small_last_step() {
    let ctl = MediaControl::new(Quality::default(), true, true);
    ctl.set_estimate(990_000);
    assert_eq!(ctl.effective_quality().video_kbps, 926);
    ctl.set_estimate(1_500_000);
    assert_eq!(
        ctl.effective_quality().video_kbps,
        1000,
        "8% more, but the cap"
    );
    ctl.set_estimate(1_450_000);
    assert_eq!(
        ctl.effective_quality().video_kbps,
        1000,
        "wobbles above: no change"
    );
}

#[test]
pub(super) fn a_new_leg_counts_from_zero_under_its_own_id() {
    let old = RecvCounters::for_call(1);
    old.video_frames.store(900, Ordering::Relaxed);
    old.push_latency(5_000);
    let new = RecvCounters::for_call(2);
    assert_eq!(new.snapshot(), RecvSnapshot::default());
    assert_eq!(new.latencies_since(0), (vec![], 0));
    assert_eq!((old.call_id(), new.call_id()), (1, 2));
}

/// What a test speaker heard, and how many times it was opened.
#[derive(Default)]
struct Heard {
    frames: std::sync::Mutex<Vec<media::AudioFrame>>,
    opened: std::sync::atomic::AtomicUsize,
}

struct TestSpeaker(std::sync::Arc<Heard>);

impl media::AudioSink for TestSpeaker {
    fn play(&mut self, frame: &media::AudioFrame) -> Result<(), media::SourceError> {
        self.0.frames.lock().unwrap().push(frame.clone());
        Ok(())
    }
    fn name(&self) -> String {
        "test speaker".into()
    }
}

/// A member's jitter buffer holding `n` Opus packets of a `hz` tone.
fn member_talking(
    hz: f64,
    n: u16,
) -> std::sync::Arc<std::sync::Mutex<media::jitter::JitterBuffer>> {
    let mut enc = media::opus_codec::OpusEncoder::new(32_000).unwrap();
    let mut jb = media::jitter::JitterBuffer::default();
    let now = Instant::now();
    for i in 0..n {
        let samples = (0..media::AUDIO_FRAME_SAMPLES)
            .map(|k| {
                let t = (usize::from(i) * media::AUDIO_FRAME_SAMPLES + k) as f64 / 48_000.0;
                (8000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
            })
            .collect();
        let frame = media::AudioFrame {
            samples,
            capture_us: 0,
        };
        let packet = Bytes::copy_from_slice(enc.encode(&frame).unwrap());
        jb.push(i, f64::from(i) * 20.0, packet, now);
    }
    std::sync::Arc::new(std::sync::Mutex::new(jb))
}

/// Relative power of `hz` in `samples` (Goertzel).
fn power_at(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 48_000.0;
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / samples.len() as f64
}

#[test]
pub(super) fn every_members_voice_plays_in_one_stream_and_a_leaving_member_drops_out() {
    let heard = std::sync::Arc::new(Heard::default());
    let h = heard.clone();
    let open: OpenOutput = std::sync::Arc::new(move |_| {
        h.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(TestSpeaker(h.clone())) as Box<dyn media::AudioSink>)
    });
    let mix = AudioMix::start(None, Some(AudioOutput::new(open, None))).unwrap();
    let low = std::sync::Arc::new(RecvCounters::default());
    let high = std::sync::Arc::new(RecvCounters::default());
    let a = mix.join(member_talking(440.0, 25), low.clone()).unwrap();
    let b = mix.join(member_talking(1500.0, 25), high.clone()).unwrap();
    assert_eq!(mix.members(), 2);
    let deadline = Instant::now() + Duration::from_secs(5);
    // `b` joins a tick after `a` at worst: wait for 20 of each member's frames, not 20 mixes.
    let enough = || {
        heard.frames.lock().unwrap().len() >= 20
            && low.audio_frames.load(Ordering::Relaxed) >= 20
            && high.audio_frames.load(Ordering::Relaxed) >= 20
    };
    while !enough() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(b);
    assert_eq!(mix.members(), 1, "the member who left is out of the mix");
    mix.close();
    let frames = heard.frames.lock().unwrap();
    assert!(frames.len() >= 20, "mixed frames played: {}", frames.len());
    assert_eq!(
        heard.opened.load(Ordering::Relaxed),
        1,
        "one output stream for the call"
    );
    assert_eq!(mix.mixed_frames() as usize, frames.len());
    // Past the codec's start-up, each mixed frame carries both tones.
    let both = frames[5..15]
        .iter()
        .filter(|f| power_at(&f.samples, 440.0) > 1e5 && power_at(&f.samples, 1500.0) > 1e5)
        .count();
    assert_eq!(both, 10, "both voices in every frame");
    assert!(low.audio_frames.load(Ordering::Relaxed) >= 20);
    assert!(high.audio_frames.load(Ordering::Relaxed) >= 20);
    drop(a);
}
