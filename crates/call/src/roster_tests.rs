use super::*;

fn id(s: &str) -> NxId {
    NxId::parse_jid(s).expect("id")
}

const RING: Duration = Duration::from_secs(60);

/// Alice invites Bob and Carol and both ring.
fn ringing_two(t0: Instant) -> Roster {
    let mut r = Roster::new(id("alice@x"), RING);
    r.join_myself(1_000);
    for who in ["bob@x", "carol@x"] {
        r.invite(id(who)).expect("invite");
        r.rung(&id(who), t0);
    }
    r
}

#[test]
fn everyone_accepting_makes_one_leg_each() {
    let t0 = Instant::now();
    let mut r = ringing_two(t0);
    assert_eq!(
        r.joined(&id("bob@x"), Some(2_000)),
        Some(RosterChange::Joined(id("bob@x")))
    );
    assert_eq!(r.joined(&id("bob@x"), Some(2_000)), None, "said once");
    assert_eq!(
        r.joined(&id("mallory@x"), Some(2_500)),
        None,
        "nobody invited Mallory"
    );
    r.joined(&id("carol@x"), Some(3_000));
    let legs: Vec<_> = r.joined_others().cloned().collect();
    assert_eq!(legs, [id("bob@x"), id("carol@x")]);
    assert!(r.is_live());
    assert_eq!(r.next_deadline(), None, "nobody rings any more");
}

#[test]
fn some_declining_leaves_the_call_to_the_others() {
    let t0 = Instant::now();
    let mut r = ringing_two(t0);
    assert_eq!(
        r.refused(&id("bob@x"), false),
        Some(RosterChange::Declined(id("bob@x")))
    );
    r.joined(&id("carol@x"), Some(3_000));
    assert!(r.is_live());
    assert_eq!(r.state(&id("bob@x")), Some(Membership::Declined));
    assert_eq!(r.joined_others().count(), 1);
}

#[test]
fn everyone_declining_ends_the_call_with_nobody_come() {
    let t0 = Instant::now();
    let mut r = ringing_two(t0);
    r.refused(&id("bob@x"), false);
    assert!(r.is_live(), "Carol still rings");
    r.refused(&id("carol@x"), true);
    assert!(!r.is_live());
    assert!(
        !r.is_live() && r.members().all(|(_, m)| m != Membership::Left),
        "nobody came"
    );
    assert_eq!(r.state(&id("carol@x")), Some(Membership::Busy));
}

#[test]
fn each_invitee_rings_out_on_its_own_deadline() {
    let t0 = Instant::now();
    let mut r = Roster::new(id("alice@x"), RING);
    r.join_myself(0);
    r.invite(id("bob@x")).expect("bob");
    r.rung(&id("bob@x"), t0);
    r.invite(id("carol@x")).expect("carol");
    r.rung(&id("carol@x"), t0 + Duration::from_secs(20));
    assert_eq!(r.next_deadline(), Some(t0 + RING));
    assert!(r.on_timeout(t0 + Duration::from_secs(59)).is_empty());
    assert_eq!(r.on_timeout(t0 + RING), [RosterChange::Missed(id("bob@x"))]);
    assert_eq!(r.state(&id("carol@x")), Some(Membership::Ringing));
    assert_eq!(r.next_deadline(), Some(t0 + Duration::from_secs(80)));
    assert_eq!(
        r.on_timeout(t0 + Duration::from_secs(80)),
        [RosterChange::Missed(id("carol@x"))]
    );
    assert!(
        !r.is_live() && r.members().all(|(_, m)| m != Membership::Left),
        "nobody came"
    );
}

#[test]
fn a_late_invite_rings_while_the_call_goes_on() {
    let t0 = Instant::now();
    let mut r = ringing_two(t0);
    r.joined(&id("bob@x"), Some(2_000));
    r.refused(&id("carol@x"), false);
    r.invite(id("dave@x")).expect("late invite");
    assert_eq!(r.state(&id("dave@x")), Some(Membership::Invited));
    r.rung(&id("dave@x"), t0 + Duration::from_secs(300));
    assert_eq!(r.next_deadline(), Some(t0 + Duration::from_secs(360)));
    r.invite(id("carol@x"))
        .expect("asked again after declining");
    assert_eq!(
        r.invite(id("bob@x")),
        Err(RosterError::AlreadyIn(id("bob@x")))
    );
    assert_eq!(r.invite(id("alice@x")), Err(RosterError::Myself));
}

#[test]
fn a_member_leaving_closes_only_its_leg_and_the_last_but_one_ends_the_call() {
    let t0 = Instant::now();
    let mut r = ringing_two(t0);
    r.joined(&id("bob@x"), Some(2_000));
    r.joined(&id("carol@x"), Some(3_000));
    assert_eq!(r.left(&id("bob@x")), Some(RosterChange::Left(id("bob@x"))));
    assert_eq!(r.left(&id("bob@x")), None, "left once");
    assert!(r.is_live(), "Alice and Carol go on");
    assert_eq!(
        r.joined_others().cloned().collect::<Vec<_>>(),
        [id("carol@x")]
    );
    r.left(&id("carol@x"));
    assert!(!r.is_live(), "only Alice is left: the call is over");
    assert!(
        r.members().any(|(_, m)| m == Membership::Left),
        "someone came"
    );
}

#[test]
fn exactly_one_of_each_pair_offers_and_both_sides_agree() {
    let ids = ["alice@x", "bob@x", "carol@x"];
    // Join times as announced; Bob and Carol claim the same millisecond.
    let joined = [1_000, 5_000, 5_000];
    let rosters: Vec<Roster> = (0..3)
        .map(|i| {
            let mut r = Roster::new(id(ids[i]), RING);
            r.join_myself(joined[i]);
            for j in (0..3).filter(|&j| j != i) {
                r.learn(id(ids[j]), Instant::now());
                r.joined(&id(ids[j]), Some(joined[j]));
            }
            r
        })
        .collect();
    for i in 0..3 {
        for j in (0..3).filter(|&j| j != i) {
            let a = rosters[i].i_offer_to(&id(ids[j])).expect("known");
            let b = rosters[j].i_offer_to(&id(ids[i])).expect("known");
            assert_ne!(
                a, b,
                "{} and {}: one offers, the other answers",
                ids[i], ids[j]
            );
        }
    }
    assert_eq!(
        rosters[1].i_offer_to(&id("alice@x")),
        Some(true),
        "the later joiner offers"
    );
    let mut fresh = Roster::new(id("dave@x"), RING);
    fresh.join_myself(9_000);
    assert_eq!(
        fresh.i_offer_to(&id("alice@x")),
        None,
        "not until Alice's join is known"
    );
}

#[test]
fn a_call_holds_a_bounded_number_of_members() {
    let mut r = Roster::new(id("alice@x"), RING);
    for i in 1..MAX_MEMBERS {
        r.invite(id(&format!("u{i}@x"))).expect("room");
    }
    assert_eq!(r.invite(id("one_more@x")), Err(RosterError::Full));
    r.learn(id("heard_of@x"), Instant::now());
    assert_eq!(r.state(&id("heard_of@x")), None, "learning is bounded too");
}
