//! The store under concurrent writers: each write waits for its turn at SQLite's write lock,
//! and none fails with "database is locked"; two racing moves onto Janus keep one room.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invitations_into_calls_all_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("open");
    let rooms: Vec<String> = (0..8).map(|i| format!("room{i}")).collect();
    for room in &rooms {
        let created = store
            .create_group_call(room, "a@x", &["b@x".to_string()])
            .await
            .expect("created");
        assert!(created);
    }
    // Each invitation reads the call's members, then writes: many at once, as when several
    // members invite people while others' calls end.
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        let room = rooms[i % rooms.len()].clone();
        tasks.push(tokio::spawn(async move {
            let call = store.call(&room).await?.expect("the call exists");
            store
                .add_group_members(&call, &[format!("u{i}@x")], 32)
                .await
        }));
    }
    for t in tasks {
        let added = t.await.expect("task").expect("no storage failure");
        assert!(added.is_ok(), "room not full: {added:?}");
    }
    for room in &rooms {
        let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM call_members WHERE room = ?")
            .bind(room)
            .fetch_one(&store.pool)
            .await
            .expect("count");
        assert_eq!(members, 2 + 8, "{room}: a, b and its eight invitees");
    }
}

#[tokio::test]
async fn a_call_keeps_the_first_janus_room_recorded_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("open");
    let room = |janus_room| SfuRoom {
        room: "call_1".into(),
        janus_room,
        secret: format!("s{janus_room}"),
        created_at: 1,
    };
    assert!(store.add_sfu_room_if_none(&room(7)).await.expect("stored"));
    // A second invitation that raced the first to move the call made a room of its own.
    assert!(!store.add_sfu_room_if_none(&room(8)).await.expect("stored"));
    let kept = store.sfu_room("call_1").await.expect("read");
    assert_eq!(kept.map(|r| r.janus_room), Some(7));
}
