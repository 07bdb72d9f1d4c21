//! The JSON call-signaling messages carried in `<message><body>` (protocol.md §4).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An invitation older than this (replayed from offline storage) is not rung (protocol.md §4).
pub const STALE_INVITATION: Duration = Duration::from_secs(60);

/// Call types of the NX protocol.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CallType {
    Audio,
    #[default]
    Video,
    P2p,
    Group,
}

impl CallType {
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Audio => "audio",
            CallType::Video => "video",
            CallType::P2p => "p2p",
            CallType::Group => "group",
        }
    }

    /// Whether a call of this type carries video by default.
    pub fn has_video(self) -> bool {
        !matches!(self, CallType::Audio)
    }
}

impl std::str::FromStr for CallType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "audio" => Ok(Self::Audio),
            "video" => Ok(Self::Video),
            "p2p" => Ok(Self::P2p),
            "group" => Ok(Self::Group),
            other => Err(format!("unknown call type {other:?}")),
        }
    }
}

/// Why a call ended, as carried in the optional `reason` of `call_end` (Simu extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    Hangup,
    Cancelled,
    Timeout,
    Busy,
    Failed,
    #[serde(other)]
    Other,
}

/// One signaling message. Unknown `type`s decode to [`Signal::Unknown`]; unknown fields are
/// ignored, so other clients' extensions never break a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Signal {
    #[serde(rename = "call_invitation")]
    CallInvitation {
        #[serde(rename = "roomId")]
        room_id: String,
        #[serde(rename = "callType", default)]
        call_type: CallType,
        #[serde(rename = "fromNxId", alias = "fromJid", default)]
        from_nx_id: String,
        #[serde(rename = "fromName", default)]
        from_name: String,
        #[serde(default)]
        timestamp: i64,
        /// Group calls list everyone invited (Simu extension).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        participants: Vec<String>,
        /// The group call's media goes through the conference server (Simu extension,
        /// protocol.md §4.3): members fetch their tokens with `GET /nx/group-call/{room}/sfu/`.
        #[serde(default, skip_serializing_if = "is_false")]
        sfu: bool,
        /// A guest with a room link asks to be let in, rather than calling (Simu extension,
        /// protocol.md §2.2): the app offers to let in or turn away.
        #[serde(default, skip_serializing_if = "is_false")]
        knock: bool,
    },
    #[serde(rename = "call_response")]
    CallResponse {
        #[serde(rename = "roomId")]
        room_id: String,
        accepted: bool,
        #[serde(default)]
        timestamp: i64,
    },
    #[serde(rename = "call_accepted")]
    CallAccepted {
        #[serde(rename = "roomId")]
        room_id: String,
        #[serde(default)]
        timestamp: i64,
    },
    #[serde(rename = "call_end")]
    CallEnd {
        #[serde(rename = "roomId")]
        room_id: String,
        #[serde(default)]
        timestamp: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<EndReason>,
    },
    #[serde(rename = "webrtc_offer")]
    Offer {
        #[serde(rename = "roomId")]
        room_id: String,
        sdp: String,
        #[serde(default = "offer_type")]
        sdp_type: String,
    },
    #[serde(rename = "webrtc_answer")]
    Answer {
        #[serde(rename = "roomId")]
        room_id: String,
        sdp: String,
        #[serde(default = "answer_type")]
        sdp_type: String,
    },
    #[serde(rename = "webrtc_ice_candidate")]
    IceCandidate {
        #[serde(rename = "roomId")]
        room_id: String,
        candidate: String,
        #[serde(rename = "sdpMid", default)]
        sdp_mid: Option<String>,
        #[serde(rename = "sdpMLineIndex", default)]
        sdp_mline_index: Option<u16>,
    },
    /// A member joined a group call, and when by its own clock (Simu extension, protocol.md
    /// §4.2): sent to every other member on joining, and once in reply to each member's.
    #[serde(rename = "group_joined")]
    GroupJoined {
        #[serde(rename = "roomId")]
        room_id: String,
        #[serde(rename = "joinedAt", default)]
        joined_at: i64,
    },
    /// A member invited more people (Simu extension, §4.2): the others may then accept them.
    #[serde(rename = "group_invited")]
    GroupInvited {
        #[serde(rename = "roomId")]
        room_id: String,
        participants: Vec<String>,
        /// The call moves onto the conference server to make room for them (§4.3 rule 6).
        #[serde(default, skip_serializing_if = "is_false")]
        sfu: bool,
    },
    /// Whether a member's microphone and camera are on (Simu extension, §4.2): sent to every
    /// joined member on joining and at each change, for the others' mute and camera badges.
    #[serde(rename = "media_state")]
    MediaState {
        #[serde(rename = "roomId")]
        room_id: String,
        audio: bool,
        video: bool,
    },
    /// A member's feed id in the call's conference room (Simu extension, §4.3): Janus's own
    /// names are client-supplied, so members name each feed from this (the server stamps `from`).
    #[serde(rename = "sfu_feed")]
    SfuFeed {
        #[serde(rename = "roomId")]
        room_id: String,
        feed: u64,
    },
    #[serde(other)]
    Unknown,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn offer_type() -> String {
    "offer".into()
}
fn answer_type() -> String {
    "answer".into()
}

/// Why a body is not a signaling message.
#[derive(Debug, thiserror::Error)]
#[error("not a signaling message: {0}")]
pub struct SignalError(#[from] serde_json::Error);

impl Signal {
    /// Parses a message body.
    pub fn parse(body: &str) -> Result<Self, SignalError> {
        Ok(serde_json::from_str(body)?)
    }

    /// Serialises to the JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The room the message belongs to.
    pub fn room_id(&self) -> Option<&str> {
        match self {
            Signal::CallInvitation { room_id, .. }
            | Signal::CallResponse { room_id, .. }
            | Signal::CallAccepted { room_id, .. }
            | Signal::CallEnd { room_id, .. }
            | Signal::Offer { room_id, .. }
            | Signal::Answer { room_id, .. }
            | Signal::IceCandidate { room_id, .. }
            | Signal::GroupJoined { room_id, .. }
            | Signal::GroupInvited { room_id, .. }
            | Signal::MediaState { room_id, .. }
            | Signal::SfuFeed { room_id, .. } => Some(room_id),
            Signal::Unknown => None,
        }
    }

    /// The wire `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::CallInvitation { .. } => "call_invitation",
            Signal::CallResponse { .. } => "call_response",
            Signal::CallAccepted { .. } => "call_accepted",
            Signal::CallEnd { .. } => "call_end",
            Signal::Offer { .. } => "webrtc_offer",
            Signal::Answer { .. } => "webrtc_answer",
            Signal::IceCandidate { .. } => "webrtc_ice_candidate",
            Signal::GroupJoined { .. } => "group_joined",
            Signal::GroupInvited { .. } => "group_invited",
            Signal::MediaState { .. } => "media_state",
            Signal::SfuFeed { .. } => "sfu_feed",
            Signal::Unknown => "unknown",
        }
    }
}

/// Current time in milliseconds since the epoch, as used in `timestamp` fields.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Fields a plain-text call link carries (protocol.md §2, "Click to join: <url>").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLink {
    pub room: String,
    pub caller: String,
    pub call_type: CallType,
}

/// Extracts `room`, `caller`, `type` from a chat text holding a call URL.
pub fn parse_call_link(text: &str) -> Option<CallLink> {
    let start = text.find("http://").or_else(|| text.find("https://"))?;
    let raw = text[start..].split_whitespace().next()?;
    let url = url::Url::parse(raw).ok()?;
    let mut room = None;
    let mut caller = None;
    let mut call_type = CallType::Audio;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "room" => room = Some(v.into_owned()),
            "caller" => caller = Some(v.into_owned()),
            "type" => call_type = v.parse().unwrap_or(CallType::Audio),
            _ => {}
        }
    }
    Some(CallLink {
        room: room?,
        caller: caller?,
        call_type,
    })
}

/// A plain-text invitation (`Incoming p2p call. Click to join: <url>`) as the invitation it
/// stands for, from the stanza's sender `from`: never from the URL's `caller=`, which anyone can
/// write. `None` unless the text carries a call URL with a well-formed room.
pub fn text_invitation(body: &str, from: &crate::NxId) -> Option<Signal> {
    let link = parse_call_link(body)?;
    let room_ok = !link.room.is_empty()
        && link.room.len() <= 128
        && link
            .room
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    room_ok.then(|| Signal::CallInvitation {
        room_id: link.room,
        call_type: link.call_type,
        from_nx_id: from.to_string(),
        from_name: String::new(),
        timestamp: now_ms(),
        participants: Vec::new(),
        sfu: false,
        knock: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_invitation_comes_from_the_stanzas_sender_not_the_urls_caller() {
        let from = crate::NxId::new("alice", "simu.local").expect("id");
        let s = text_invitation(
            "Incoming p2p call. Click to join: https://h.example/nexacon-call.html?room=call_abc&caller=mallory&type=video",
            &from,
        )
        .expect("an invitation");
        assert!(
            matches!(s, Signal::CallInvitation { ref room_id, ref from_nx_id, call_type: CallType::Video, .. }
            if room_id == "call_abc" && from_nx_id == "alice@simu.local")
        );
        assert_eq!(text_invitation("see https://example.com/page", &from), None);
        assert_eq!(
            text_invitation("Click to join: https://h/x?room=a%3Cb&caller=c", &from),
            None,
            "a room no client would make"
        );
    }

    #[test]
    fn uses_the_exact_wire_field_names() {
        let inv = Signal::CallInvitation {
            room_id: "call_1".into(),
            call_type: CallType::Video,
            from_nx_id: "+1@x".into(),
            from_name: "A".into(),
            timestamp: 5,
            participants: vec![],
            sfu: false,
            knock: false,
        };
        let v: serde_json::Value = serde_json::from_str(&inv.to_json()).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"type":"call_invitation","roomId":"call_1","callType":"video","fromNxId":"+1@x","fromName":"A","timestamp":5})
        );
        let ice = Signal::IceCandidate {
            room_id: "r".into(),
            candidate: "candidate:1".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        };
        let v: serde_json::Value = serde_json::from_str(&ice.to_json()).expect("json");
        assert_eq!(v["sdpMid"], "0");
        assert_eq!(v["sdpMLineIndex"], 0);
        assert_eq!(v["type"], "webrtc_ice_candidate");
    }

    #[test]
    fn accepts_from_jid_alias_and_ignores_unknown_fields() {
        let s = Signal::parse(
            r#"{"type":"call_invitation","roomId":"r","callType":"audio","fromJid":"+2@x","fromName":"B","timestamp":1,"extra":{"a":1}}"#,
        )
        .expect("parse");
        match s {
            Signal::CallInvitation {
                from_nx_id,
                call_type,
                ..
            } => {
                assert_eq!(from_nx_id, "+2@x");
                assert_eq!(call_type, CallType::Audio);
            }
            other => panic!("wrong variant {other:?}"),
        }
    }

    #[test]
    fn unknown_types_decode_to_unknown_and_bad_json_is_an_error() {
        assert_eq!(
            Signal::parse(r#"{"type":"group_chat_emoji","x":1}"#).expect("parse"),
            Signal::Unknown
        );
        assert!(Signal::parse("{not json").is_err());
        assert!(Signal::parse(r#"{"type":"call_response","roomId":"r"}"#).is_err());
    }

    #[test]
    fn extracts_room_caller_and_type_from_a_call_link() {
        let link = parse_call_link(
            "Incoming p2p call. Click to join: https://h.example/nexacon-call.html?room=call_abc&caller=%2B255788811191&type=audio",
        )
        .expect("link");
        assert_eq!(link.room, "call_abc");
        assert_eq!(link.caller, "+255788811191");
        assert_eq!(link.call_type, CallType::Audio);
    }
}
