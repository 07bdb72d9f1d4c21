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
