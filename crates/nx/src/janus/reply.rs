//! What one message from Janus means: a reply to a transaction of ours, or an event Janus sends
//! on its own. Pure, so every shape of the Janus API (docs/protocol.md §4.3) is unit-tested.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An SDP offer or answer as Janus carries it beside a plugin message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jsep {
    #[serde(rename = "type")]
    pub kind: JsepKind,
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsepKind {
    Offer,
    Answer,
}

/// A plugin's message to one handle: its `plugindata.data` and any SDP.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginEvent {
    /// The handle it is for.
    pub sender: u64,
    pub data: Value,
    pub jsep: Option<Jsep>,
}

/// Something Janus tells us without being asked.
#[derive(Debug, Clone, PartialEq)]
pub enum JanusEvent {
    /// A plugin event that answers none of our transactions (a room's publishers changed...).
    Plugin(PluginEvent),
    /// The handle's peer connection is up (ICE and DTLS done).
    WebrtcUp { sender: u64 },
    /// Janus started or stopped receiving one kind of media on the handle.
    Media {
        sender: u64,
        kind: String,
        receiving: bool,
    },
    /// Janus saw heavy loss on the handle (`uplink`: on what it receives from us).
    SlowLink {
        sender: u64,
        uplink: bool,
        lost: u64,
    },
    /// The handle's peer connection is gone.
    HangUp { sender: u64, reason: String },
    /// The handle was detached.
    Detached { sender: u64 },
    /// The session expired on Janus's side.
    SessionTimeout,
}

/// Janus's answer to one of our transactions.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Received; the outcome of an asynchronous plugin request follows as `Event`.
    Ack,
    /// Done: the whole message (its `data` or `plugindata`).
    Success(Value),
    /// Janus core refused it.
    Error { code: i64, reason: String },
    /// The plugin's asynchronous answer.
    Event(PluginEvent),
}

/// One message from Janus, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Reply {
        transaction: String,
        reply: Reply,
    },
    Event(JanusEvent),
    /// A message this client has no use for (`trickle` from Janus with end-of-candidates, ...).
    Ignored,
}

/// Why a message from Janus could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable message from Janus: {0}")]
pub struct BadMessage(pub String);

/// Reads one text message from Janus.
pub fn classify(text: &str) -> Result<Incoming, BadMessage> {
    let v: Value = serde_json::from_str(text).map_err(|e| BadMessage(e.to_string()))?;
    let kind = v
        .get("janus")
        .and_then(Value::as_str)
        .ok_or_else(|| BadMessage("no \"janus\" field".into()))?;
    let transaction = v
        .get("transaction")
        .and_then(Value::as_str)
        .map(str::to_string);
    let sender = v.get("sender").and_then(Value::as_u64).unwrap_or(0);
    let reply = match kind {
        "ack" => Some(Reply::Ack),
        "success" => Some(Reply::Success(v.clone())),
        "error" => {
            let err = v.get("error");
            Some(Reply::Error {
                code: err
                    .and_then(|e| e.get("code"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                reason: err
                    .and_then(|e| e.get("reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
        }
        "event" => Some(Reply::Event(plugin_event(&v, sender)?)),
        _ => None,
    };
    if let (Some(transaction), Some(reply)) = (transaction, reply.clone()) {
        return Ok(Incoming::Reply { transaction, reply });
    }
    let event = match (kind, reply) {
        ("event", Some(Reply::Event(e))) => JanusEvent::Plugin(e),
        ("webrtcup", _) => JanusEvent::WebrtcUp { sender },
        ("media", _) => JanusEvent::Media {
            sender,
            kind: str_field(&v, "type"),
            receiving: v.get("receiving").and_then(Value::as_bool).unwrap_or(false),
        },
        ("slowlink", _) => JanusEvent::SlowLink {
            sender,
            uplink: v.get("uplink").and_then(Value::as_bool).unwrap_or(false),
            lost: v.get("lost").and_then(Value::as_u64).unwrap_or(0),
        },
        ("hangup", _) => JanusEvent::HangUp {
            sender,
            reason: str_field(&v, "reason"),
        },
        ("detached", _) => JanusEvent::Detached { sender },
        ("timeout", _) => JanusEvent::SessionTimeout,
        _ => return Ok(Incoming::Ignored),
    };
    Ok(Incoming::Event(event))
}

fn str_field(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// `plugindata.data` and `jsep` of an `event` message.
fn plugin_event(v: &Value, sender: u64) -> Result<PluginEvent, BadMessage> {
    let data = v
        .get("plugindata")
        .and_then(|p| p.get("data"))
        .cloned()
        .ok_or_else(|| BadMessage("event without plugindata.data".into()))?;
    let jsep = match v.get("jsep") {
        None | Some(Value::Null) => None,
        Some(j) => {
            Some(serde_json::from_value(j.clone()).map_err(|e| BadMessage(format!("jsep: {e}")))?)
        }
    };
    Ok(PluginEvent { sender, data, jsep })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_told_apart_by_its_transaction() {
        let ack = classify(r#"{"janus":"ack","session_id":1,"transaction":"t1"}"#).unwrap();
        assert_eq!(
            ack,
            Incoming::Reply {
                transaction: "t1".into(),
                reply: Reply::Ack
            }
        );
        let ok = classify(r#"{"janus":"success","transaction":"t2","data":{"id":42}}"#).unwrap();
        let Incoming::Reply {
            reply: Reply::Success(v),
            ..
        } = ok
        else {
            panic!("{ok:?}")
        };
        assert_eq!(v["data"]["id"], 42);
    }

    #[test]
    fn a_core_error_keeps_its_code_and_reason() {
        let e = classify(
            r#"{"janus":"error","transaction":"t","error":{"code":403,"reason":"Unauthorized request (wrong or missing secret/token)"}}"#,
        )
        .unwrap();
        let Incoming::Reply {
            reply: Reply::Error { code, reason },
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(code, 403);
        assert!(reason.starts_with("Unauthorized"));
    }

    #[test]
    fn a_plugin_event_with_sdp_answers_its_transaction() {
        let m = classify(
            r#"{"janus":"event","session_id":1,"sender":7,"transaction":"t9",
                "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","configured":"ok"}},
                "jsep":{"type":"answer","sdp":"v=0\r\n"}}"#,
        )
        .unwrap();
        let Incoming::Reply {
            transaction,
            reply: Reply::Event(e),
        } = m
        else {
            panic!("{m:?}")
        };
        assert_eq!(transaction, "t9");
        assert_eq!(e.sender, 7);
        assert_eq!(e.data["configured"], "ok");
        assert_eq!(e.jsep.unwrap().kind, JsepKind::Answer);
    }

    #[test]
    fn an_event_without_transaction_is_janus_speaking_on_its_own() {
        let m = classify(
            r#"{"janus":"event","sender":7,"plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","room":5,"leaving":99}}}"#,
        )
        .unwrap();
        let Incoming::Event(JanusEvent::Plugin(e)) = m else {
            panic!("{m:?}")
        };
        assert_eq!(e.data["leaving"], 99);
        assert_eq!(
            classify(r#"{"janus":"webrtcup","session_id":1,"sender":7}"#).unwrap(),
            Incoming::Event(JanusEvent::WebrtcUp { sender: 7 })
        );
        assert_eq!(
            classify(r#"{"janus":"hangup","sender":7,"reason":"DTLS alert"}"#).unwrap(),
            Incoming::Event(JanusEvent::HangUp {
                sender: 7,
                reason: "DTLS alert".into()
            })
        );
        assert_eq!(
            classify(r#"{"janus":"slowlink","sender":7,"uplink":true,"lost":12}"#).unwrap(),
            Incoming::Event(JanusEvent::SlowLink {
                sender: 7,
                uplink: true,
                lost: 12
            })
        );
        assert_eq!(
            classify(r#"{"janus":"timeout","session_id":1}"#).unwrap(),
            Incoming::Event(JanusEvent::SessionTimeout)
        );
        assert_eq!(
            classify(r#"{"janus":"trickle","sender":7,"candidate":{"completed":true}}"#).unwrap(),
            Incoming::Ignored
        );
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"transaction":"t"}"#,
            r#"{"janus":5}"#,
            r#"{"janus":"event","transaction":"t"}"#,
            r#"{"janus":"event","plugindata":{"data":{}},"jsep":{"type":"pranswer","sdp":""}}"#,
        ] {
            assert!(classify(bad).is_err(), "{bad:?} accepted");
        }
    }
}
