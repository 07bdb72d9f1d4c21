//! The Janus VideoRoom requests an SFU group call needs (docs/protocol.md §4.3): rooms made and
//! destroyed by the server, one publisher and one multistream subscriber per member.

use super::{JanusError, JanusHandle, Jsep, JsepKind, PluginReply};
use serde_json::{json, Value};

/// The plugin's package name (also the realm of its room tokens).
pub const PLUGIN: &str = "janus.plugin.videoroom";
/// VideoRoom's error for a room id that is taken.
pub const ERROR_ROOM_EXISTS: i64 = 427;

/// A room as the server asks Janus for it.
#[derive(Debug, Clone)]
pub struct RoomSpec {
    pub room: u64,
    /// The plugin's `admin_key`: without it nobody may create rooms.
    pub admin_key: String,
    /// Needed later to destroy the room; kept by the server only.
    pub secret: String,
    /// Most members sending at once.
    pub publishers: u32,
    /// Cap on each publisher's video bitrate, bit/s (Janus tells it by REMB).
    pub bitrate: u32,
    pub description: String,
}

/// Creates a private room that only signed room tokens can join.
pub async fn create_room(h: &JanusHandle, spec: &RoomSpec) -> Result<u64, JanusError> {
    let reply = h
        .message(
            json!({
                "request": "create",
                "room": spec.room,
                "admin_key": spec.admin_key,
                "secret": spec.secret,
                "description": spec.description,
                "publishers": spec.publishers,
                "bitrate": spec.bitrate,
                "bitrate_cap": true,
                "is_private": true,
                "signed_tokens": true,
                "require_pvtid": true,
                "audiocodec": "opus",
                "videocodec": "vp8,h264",
                "permanent": false,
            }),
            None,
        )
        .await?;
    reply
        .data
        .get("room")
        .and_then(Value::as_u64)
        .ok_or_else(|| JanusError::Protocol("create: no room id".into()))
}

/// Destroys a room (everyone in it is told and dropped).
pub async fn destroy_room(h: &JanusHandle, room: u64, secret: &str) -> Result<(), JanusError> {
    h.message(
        json!({"request": "destroy", "room": room, "secret": secret, "permanent": false}),
        None,
    )
    .await
    .map(|_| ())
}

/// One publisher in a room, as Janus lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub id: u64,
    /// Client-supplied: never a name to trust (tiles are named from NX, docs/protocol.md §4.3).
    pub display: Option<String>,
}

/// What joining as a publisher gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// This member's feed id.
    pub id: u64,
    /// Ties this member's subscriptions to its publisher (`require_pvtid`).
    pub private_id: u64,
    /// Who already publishes.
    pub publishers: Vec<Feed>,
}

/// Joins `room` as a publisher with the room token the server minted.
pub async fn join_publisher(
    h: &JanusHandle,
    room: u64,
    token: &str,
    display: &str,
) -> Result<Joined, JanusError> {
    let reply = h
        .message(
            json!({"request": "join", "ptype": "publisher", "room": room,
                   "token": token, "display": display}),
            None,
        )
        .await?;
    let d = &reply.data;
    if d.get("videoroom").and_then(Value::as_str) != Some("joined") {
        return Err(JanusError::Protocol(format!("join: {d}")));
    }
    Ok(Joined {
        id: u64_field(d, "id")?,
        private_id: u64_field(d, "private_id")?,
        publishers: feeds(d.get("publishers")),
    })
}

/// Publishes this member's one stream: gives Janus the offer, returns its answer.
pub async fn publish(h: &JanusHandle, offer: &str) -> Result<String, JanusError> {
    offer_with(h, "publish", offer).await
}

/// Renegotiates a publisher's connection with a new offer (an ICE restart: Janus sees the new
/// credentials and restarts its side too); returns Janus's answer.
pub async fn configure(h: &JanusHandle, offer: &str) -> Result<String, JanusError> {
    offer_with(h, "configure", offer).await
}

/// Gives Janus an offer with a publisher's `request`; returns its answer.
async fn offer_with(h: &JanusHandle, request: &str, offer: &str) -> Result<String, JanusError> {
    let jsep = Jsep {
        kind: JsepKind::Offer,
        sdp: offer.to_string(),
    };
    let reply = h
        .message(json!({ "request": request }), Some(&jsep))
        .await?;
    sdp_of(reply, JsepKind::Answer)
}

/// Subscribes to `feeds` on one multistream connection; returns Janus's offer. Each stream's
/// msid names its feed, so received tracks are told apart by their stream id.
pub async fn subscribe(
    h: &JanusHandle,
    room: u64,
    token: &str,
    private_id: u64,
    feeds: &[u64],
) -> Result<String, JanusError> {
    let reply = h
        .message(
            json!({"request": "join", "ptype": "subscriber", "room": room, "token": token,
                   "private_id": private_id, "streams": streams(feeds),
                   "use_msid": true}),
            None,
        )
        .await?;
    sdp_of(reply, JsepKind::Offer)
}

/// Adds and removes feeds of a subscription; returns Janus's new offer, if the streams changed.
pub async fn update(
    h: &JanusHandle,
    add: &[u64],
    remove: &[u64],
) -> Result<Option<String>, JanusError> {
    let mut body = json!({"request": "update"});
    if !add.is_empty() {
        body["subscribe"] = streams(add);
    }
    if !remove.is_empty() {
        body["unsubscribe"] = streams(remove);
    }
    let reply = h.message(body, None).await?;
    match reply.jsep {
        None => Ok(None),
        Some(_) => sdp_of(reply, JsepKind::Offer).map(Some),
    }
}

/// Answers the subscription's offer; media starts flowing.
pub async fn start(h: &JanusHandle, answer: &str) -> Result<(), JanusError> {
    let jsep = Jsep {
        kind: JsepKind::Answer,
        sdp: answer.to_string(),
    };
    h.message(json!({"request": "start"}), Some(&jsep))
        .await
        .map(|_| ())
}

/// A change in the room that Janus announces on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// New publishers to subscribe to.
    Published(Vec<Feed>),
    /// A feed stopped publishing or left.
    Gone(u64),
    /// The room was destroyed (the call is over on the SFU).
    Destroyed,
    /// This member was kicked out.
    Kicked,
}

/// Reads a VideoRoom event's `data`; `None` for events that change nothing here.
pub fn room_event(data: &Value) -> Option<RoomEvent> {
    match data.get("videoroom").and_then(Value::as_str)? {
        "destroyed" => return Some(RoomEvent::Destroyed),
        "event" => {}
        _ => return None,
    }
    if let Some(p) = data.get("publishers") {
        return Some(RoomEvent::Published(feeds(Some(p))));
    }
    for key in ["leaving", "unpublished"] {
        if let Some(id) = data.get(key).and_then(Value::as_u64) {
            return Some(RoomEvent::Gone(id));
        }
    }
    data.get("kicked").map(|_| RoomEvent::Kicked)
}

fn streams(feeds: &[u64]) -> Value {
    feeds.iter().map(|f| json!({"feed": f})).collect()
}

fn feeds(list: Option<&Value>) -> Vec<Feed> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some(Feed {
                        id: p.get("id")?.as_u64()?,
                        display: p.get("display").and_then(Value::as_str).map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn u64_field(d: &Value, name: &str) -> Result<u64, JanusError> {
    d.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| JanusError::Protocol(format!("no {name} in {d}")))
}

fn sdp_of(reply: PluginReply, want: JsepKind) -> Result<String, JanusError> {
    match reply.jsep {
        Some(j) if j.kind == want => Ok(j.sdp),
        other => Err(JanusError::Protocol(format!(
            "expected an SDP {want:?}, got {other:?} with {}",
            reply.data
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_events_name_the_feeds_that_come_and_go() {
        let published = json!({"videoroom": "event", "room": 5,
            "publishers": [{"id": 11, "display": "x"}, {"id": 12}, {"display": "no id"}]});
        assert_eq!(
            room_event(&published),
            Some(RoomEvent::Published(vec![
                Feed {
                    id: 11,
                    display: Some("x".into())
                },
                Feed {
                    id: 12,
                    display: None
                }
            ]))
        );
        assert_eq!(
            room_event(&json!({"videoroom": "event", "room": 5, "leaving": 11})),
            Some(RoomEvent::Gone(11))
        );
        assert_eq!(
            room_event(&json!({"videoroom": "event", "room": 5, "unpublished": 12})),
            Some(RoomEvent::Gone(12))
        );
        assert_eq!(
            room_event(&json!({"videoroom": "destroyed", "room": 5})),
            Some(RoomEvent::Destroyed)
        );
        assert_eq!(
            room_event(&json!({"videoroom": "event", "room": 5, "kicked": 11})),
            Some(RoomEvent::Kicked)
        );
        assert_eq!(room_event(&json!({"videoroom": "talking"})), None);
        assert_eq!(room_event(&json!({"leaving": 3})), None);
    }

    #[test]
    fn an_answer_without_the_expected_sdp_is_a_protocol_error() {
        let r = PluginReply {
            data: json!({"configured": "ok"}),
            jsep: None,
        };
        assert!(matches!(
            sdp_of(r, JsepKind::Answer),
            Err(JanusError::Protocol(_))
        ));
    }
}
