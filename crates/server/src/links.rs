//! Signed call links (`/call?room=..&caller=..&type=..&to=..&exp=..&sig=..`): every field is
//! covered by an HMAC-SHA256 under the install's link key (not the token key), and `verify` is
//! the one check the web call page uses.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;

/// How long a per-call link stays valid.
pub const LINK_TTL: u64 = 3600;
/// How long a room link stays valid unless its owner says otherwise.
pub const ROOM_LINK_TTL: u64 = 7 * 24 * 3600;
/// The longest a room link may be made to last.
pub const MAX_LINK_TTL: u64 = 90 * 24 * 3600;
/// How long a guest's pass lasts at most (its call ends it sooner).
pub const GUEST_TTL: u64 = 4 * 3600;
/// Longest name a guest may give, in characters.
pub const MAX_GUEST_NAME: usize = 40;
pub use nx::GUEST_PREFIX;
/// The `type` of a reusable room link (per-call links carry `audio` or `video`).
pub const ROOM_TYPE: &str = "room";

/// Whether a local part names a guest.
pub fn is_guest(local: &str) -> bool {
    nx::is_guest_local(local)
}

/// A guest's name as typed: trimmed, 1 to `MAX_GUEST_NAME` characters, no control characters.
pub fn guest_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let n = name.chars().count();
    ((1..=MAX_GUEST_NAME).contains(&n) && !name.chars().any(char::is_control))
        .then(|| name.to_string())
}
/// Longest query string accepted for a link.
const MAX_QUERY: usize = 2048;

/// What a call link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLink {
    pub room: String,
    /// The caller's username.
    pub caller: String,
    pub call_type: String,
    /// The callee's NX ID.
    pub to: String,
    /// Expiry, unix seconds.
    pub exp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is incomplete or malformed")]
    Malformed,
    #[error("the link has expired")]
    Expired,
    #[error("the link was altered or was not made by this server")]
    BadSignature,
}

impl CallLink {
    /// Length-prefixed fields, so no two different links sign the same bytes.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut out = b"simu-call-link-v1".to_vec();
        for f in [
            self.room.as_str(),
            self.caller.as_str(),
            self.call_type.as_str(),
            self.to.as_str(),
            &self.exp.to_string(),
        ] {
            out.extend_from_slice(&(f.len() as u64).to_be_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }

    fn mac(&self, key: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
        mac.update(&self.signed_bytes());
        Some(mac)
    }

    /// The signature, hex.
    pub fn signature(&self, key: &[u8]) -> String {
        self.mac(key)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// The full link under `base`.
    pub fn url(&self, base: &str, key: &[u8]) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "{base}/call?room={}&caller={}&type={}&to={}&exp={}&sig={}",
            enc(&self.room),
            enc(&self.caller),
            enc(&self.call_type),
            enc(&self.to),
            self.exp,
            self.signature(key)
        )
    }
}

/// Checks a link's query string: every field present once, the signature (in constant time),
/// then the expiry against `now`.
pub fn verify(query: &str, key: &[u8], now: u64) -> Result<CallLink, LinkError> {
    if query.len() > MAX_QUERY {
        return Err(LinkError::Malformed);
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
        if fields.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(LinkError::Malformed);
        }
    }
    let mut take = |k: &str| {
        fields
            .remove(k)
            .filter(|v| !v.is_empty())
            .ok_or(LinkError::Malformed)
    };
    let link = CallLink {
        room: take("room")?,
        caller: take("caller")?,
        call_type: take("type")?,
        to: take("to")?,
        exp: take("exp")?.parse().map_err(|_| LinkError::Malformed)?,
    };
    let sig = hex::decode(take("sig")?).map_err(|_| LinkError::BadSignature)?;
    let mac = link.mac(key).ok_or(LinkError::BadSignature)?;
    mac.verify_slice(&sig)
        .map_err(|_| LinkError::BadSignature)?;
    if link.exp < now {
        return Err(LinkError::Expired);
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> CallLink {
        CallLink {
            room: "call_1".into(),
            caller: "alice".into(),
            call_type: "video".into(),
            to: "bob@simu.local".into(),
            exp: 2000,
        }
    }

    fn query(url: &str) -> &str {
        url.split_once('?').map(|(_, q)| q).unwrap_or_default()
    }

    #[test]
    fn guest_names_are_bounded_and_printable() {
        assert_eq!(guest_name("  Jane  ").as_deref(), Some("Jane"));
        assert_eq!(guest_name(""), None);
        assert_eq!(guest_name("   "), None);
        assert_eq!(guest_name("a\u{7}b"), None);
        assert_eq!(
            guest_name(&"é".repeat(40)).map(|n| n.chars().count()),
            Some(40)
        );
        assert_eq!(guest_name(&"x".repeat(41)), None);
        assert!(
            is_guest("guest-1a2b") && is_guest("Guest-x") && !is_guest("guest") && !is_guest("bob")
        );
    }

    #[test]
    fn a_link_verifies_until_it_expires() {
        let url = link().url("http://h", b"key-one-key-one-key-one-key-one!");
        assert_eq!(
            verify(query(&url), b"key-one-key-one-key-one-key-one!", 1000),
            Ok(link())
        );
        assert_eq!(
            verify(query(&url), b"key-one-key-one-key-one-key-one!", 2001),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn every_field_is_covered_by_the_signature() {
        let key = b"key-one-key-one-key-one-key-one!";
        let url = link().url("http://h", key);
        for (from, to) in [
            ("room=call_1", "room=call_2"),
            ("caller=alice", "caller=mallory"),
            ("type=video", "type=audio"),
            ("to=bob", "to=eve"),
            ("exp=2000", "exp=9999"),
        ] {
            let tampered = url.replace(from, to);
            assert_ne!(tampered, url);
            assert_eq!(
                verify(query(&tampered), key, 1000),
                Err(LinkError::BadSignature),
                "{from} -> {to}"
            );
        }
        assert_eq!(
            verify(query(&url), b"another-key-another-key-another!", 1000),
            Err(LinkError::BadSignature)
        );
        assert_eq!(verify("room=a&caller=b", key, 0), Err(LinkError::Malformed));
        assert_eq!(
            verify(&format!("{}&room=x", query(&url)), key, 0),
            Err(LinkError::Malformed),
            "a repeated field"
        );
    }
}
