//! The JSON bodies of the NX REST API (protocol.md §2) as Simu reads and writes them.

use serde::{Deserialize, Deserializer, Serialize};

/// Accepts `urls` as a string or a list (both appear in the wild).
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IceServer {
    #[serde(deserialize_with = "string_or_list")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebrtcCredentials {
    #[serde(default)]
    pub status: String,
    #[serde(alias = "iceServers")]
    pub ice_servers: Vec<IceServer>,
    #[serde(default)]
    pub ttl: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub access: String,
    pub refresh: String,
    pub nxsm_token: String,
    pub nxid: String,
    pub nxws: String,
    /// NX refresh token, so the client renews its signaling token itself (Simu extension).
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NxTokenResponse {
    pub token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    pub jid: String,
    #[serde(default)]
    pub nxid: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub host: String,
    pub nxws: String,
    #[serde(default)]
    pub expires_in_seconds: u64,
    #[serde(default)]
    pub refresh_expires_in_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NxRefreshResponse {
    pub token: String,
    #[serde(default)]
    pub jid: String,
    #[serde(default)]
    pub nxws: String,
    #[serde(default)]
    pub expires_in_seconds: u64,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub id: i64,
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub nxid: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallStarted {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub call_id: serde_json::Value,
    pub room: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default, rename = "type")]
    pub call_type: Option<String>,
    #[serde(default)]
    pub participants: Option<Vec<String>>,
    #[serde(default)]
    pub push_sent: Option<bool>,
    /// A group call's media path: `mesh` or `sfu` (protocol.md §4.3).
    #[serde(default)]
    pub media: Option<String>,
}

/// What inviting more people into a call under way answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersAdded {
    pub room: String,
    /// How many people the call has now.
    pub members: usize,
    /// `sfu` when the call is (or just moved) on the conference server (protocol.md §4.3).
    #[serde(default)]
    pub media: Option<String>,
}

/// A member's way into a group call's room on the conference server (protocol.md §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfuGrant {
    /// Janus's WebSocket API.
    pub url: String,
    pub janus_room: u64,
    /// Sent with every Janus request.
    pub token: String,
    /// Sent when joining the room.
    pub room_token: String,
    /// Unix seconds after which both tokens stop working.
    pub expires_at: u64,
    /// The room's cap on each publisher's video, bit/s (0: none said).
    #[serde(default)]
    pub bitrate: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusResponse {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub id: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallUrl {
    pub call_url: String,
    /// The link's key, for revoking it (Simu extension).
    #[serde(default)]
    pub room: String,
    /// Unix seconds (Simu extension).
    #[serde(default)]
    pub expires_at: u64,
}

/// One analytics record (POST `/nx/call-analytics/`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnalyticsRecord {
    pub room: String,
    pub call_type: String,
    pub status: String,
    pub duration_seconds: u64,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Idempotency key (Simu extension): the server records a retried record once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
}

/// Filters of GET `/nx/call-history/`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// One row of a user's call history.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallRecord {
    #[serde(default)]
    pub id: i64,
    pub room: String,
    pub call_type: String,
    pub status: String,
    #[serde(default)]
    pub duration_seconds: u64,
    #[serde(default)]
    pub caller: String,
    #[serde(default)]
    pub callee: String,
    /// `outgoing` or `incoming`, seen from the user asking.
    #[serde(default)]
    pub direction: String,
    /// The other party's NX ID.
    #[serde(default)]
    pub peer: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// Everyone in a group call (empty for a 1:1 call).
    #[serde(default)]
    pub participants: Vec<String>,
    /// The typed name of a guest let in by a call link, when the other party is one (Simu
    /// extension).
    #[serde(default)]
    pub peer_name: Option<String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<CallRecord>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contact {
    pub nxid: String,
    #[serde(default)]
    pub name: String,
    /// Presence, where the server adds it (Simu extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactList {
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Presence {
    pub user: String,
    pub status: String,
    pub last_seen: Option<String>,
}
