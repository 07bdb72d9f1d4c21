//! NX IDs: bare XMPP JIDs, and the normalisation of what a user types (protocol.md §1).

use std::fmt;

/// Why a typed address could not become an NX ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("empty address")]
    Empty,
    #[error("address has no user part: {0:?}")]
    NoLocalPart(String),
    #[error("address has no domain and no default domain is known: {0:?}")]
    NoDomain(String),
    #[error("invalid character {1:?} in address {0:?}")]
    InvalidChar(String, char),
    #[error("address too long: {0} bytes")]
    TooLong(usize),
}

/// Longest local part and domain kept (RFC 7622 allows 1023 bytes; nobody needs that).
const MAX_LOCAL: usize = 256;
const MAX_DOMAIN: usize = 253;

/// Characters that render as nothing or reorder text: two IDs that look the same must be
/// the same ID, so these are refused (zero-width spaces and joiners, bidi controls, BOM).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// A bare JID `<local>@<domain>`, the identity of a user in NX.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NxId {
    local: String,
    domain: String,
}

/// Characters never allowed in a JID local part (RFC 7622 §3.3.1 excluded set).
const FORBIDDEN_LOCAL: &[char] = &['"', '&', '\'', '/', ':', '<', '>', '@'];

/// Local parts that name guests let in by call links; nobody may register one.
pub const GUEST_PREFIX: &str = "guest-";

/// Whether a local part names a guest.
pub fn is_guest_local(local: &str) -> bool {
    local
        .get(..GUEST_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(GUEST_PREFIX))
}

impl NxId {
    /// Builds an ID, case-folding ASCII letters in both parts (as XMPP's nodeprep and
    /// nameprep do), so `Bob@SIMU.LOCAL` and `bob@simu.local` are one user.
    pub fn new(local: impl Into<String>, domain: impl Into<String>) -> Result<Self, IdError> {
        let local = local.into().to_ascii_lowercase();
        let domain = domain.into().to_ascii_lowercase();
        if local.len() > MAX_LOCAL || domain.len() > MAX_DOMAIN {
            return Err(IdError::TooLong(local.len() + domain.len() + 1));
        }
        if local.is_empty() {
            return Err(IdError::NoLocalPart(format!("@{domain}")));
        }
        if domain.is_empty() {
            return Err(IdError::NoDomain(local));
        }
        let whole = format!("{local}@{domain}");
        if let Some(c) = local.chars().find(|c| {
            c.is_whitespace() || c.is_control() || is_invisible(*c) || FORBIDDEN_LOCAL.contains(c)
        }) {
            return Err(IdError::InvalidChar(whole, c));
        }
        if let Some(c) = domain
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']')))
        {
            return Err(IdError::InvalidChar(whole, c));
        }
        Ok(Self { local, domain })
    }

    /// Normalises user input per protocol.md §1: strips spaces, `-`, `(`, `)`; prefixes `+` to a
    /// numeric user part; drops any `/resource`; takes `default_domain` when there is no `@`.
    pub fn normalize(input: &str, default_domain: Option<&str>) -> Result<Self, IdError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        let without_resource = trimmed.split('/').next().unwrap_or_default();
        let (raw_local, domain) = match without_resource.rsplit_once('@') {
            Some((l, d)) => (l, d.trim().to_string()),
            None => match default_domain {
                Some(d) => (without_resource, d.to_string()),
                None => return Err(IdError::NoDomain(trimmed.to_string())),
            },
        };
        let mut local: String = raw_local
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')'))
            .collect();
        if local.is_empty() {
            return Err(IdError::NoLocalPart(trimmed.to_string()));
        }
        if local.chars().all(|c| c.is_ascii_digit()) {
            local.insert(0, '+');
        }
        if let Some(rest) = local.strip_prefix('+') {
            if rest.is_empty() {
                return Err(IdError::NoLocalPart(trimmed.to_string()));
            }
        }
        Self::new(local, domain)
    }

    /// Parses a JID as it appears on the wire (`from`/`to`), keeping only the bare part.
    pub fn parse_jid(jid: &str) -> Result<Self, IdError> {
        let bare = jid.split('/').next().unwrap_or_default();
        match bare.rsplit_once('@') {
            Some((l, d)) => Self::new(l, d),
            None if bare.is_empty() => Err(IdError::Empty),
            None => Err(IdError::NoLocalPart(jid.to_string())),
        }
    }

    /// The user part (usually an E.164 number with `+`).
    pub fn local(&self) -> &str {
        &self.local
    }

    /// Whether this is a guest let in by a call link (`guest-…`; no account can have such a
    /// name, since usernames lose their hyphens: docs/protocol.md §2.2).
    pub fn is_guest(&self) -> bool {
        is_guest_local(&self.local)
    }

    /// The service domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The resource of a full JID, if any.
    pub fn resource_of(jid: &str) -> Option<&str> {
        jid.split_once('/')
            .map(|(_, r)| r)
            .filter(|r| !r.is_empty())
    }
}

impl fmt::Display for NxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl std::str::FromStr for NxId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::normalize(s, None)
    }
}

impl serde::Serialize for NxId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NxId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_jid(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_typed_addresses_as_protocol_section_1() {
        let d = Some("example.org");
        let cases: &[(&str, Option<&str>, Result<&str, IdError>)] = &[
            ("0788 811-191", d, Ok("+0788811191@example.org")),
            ("255788811191", d, Ok("+255788811191@example.org")),
            ("+255788811191", d, Ok("+255788811191@example.org")),
            ("(255) 788-811-191", d, Ok("+255788811191@example.org")),
            (
                "+255788811191@Host.Example/nexacon_3",
                d,
                Ok("+255788811191@host.example"),
            ),
            ("255788811191@host", None, Ok("+255788811191@host")),
            ("alice", d, Ok("alice@example.org")),
            ("alice@other.net", d, Ok("alice@other.net")),
            ("echo", d, Ok("echo@example.org")),
            ("", d, Err(IdError::Empty)),
            ("   ", d, Err(IdError::Empty)),
            (
                "@example.org",
                d,
                Err(IdError::NoLocalPart("@example.org".into())),
            ),
            ("+", d, Err(IdError::NoLocalPart("+".into()))),
            (
                "255788811191",
                None,
                Err(IdError::NoDomain("255788811191".into())),
            ),
            (
                "al<ice",
                d,
                Err(IdError::InvalidChar("al<ice@example.org".into(), '<')),
            ),
            (
                "bob@exa mple",
                d,
                Err(IdError::InvalidChar("bob@exa mple".into(), ' ')),
            ),
            (
                "a:b",
                d,
                Err(IdError::InvalidChar("a:b@example.org".into(), ':')),
            ),
        ];
        for (input, domain, want) in cases {
            let got = NxId::normalize(input, *domain).map(|id| id.to_string());
            assert_eq!(got, want.clone().map(str::to_string), "input {input:?}");
        }
    }

    #[test]
    fn case_folds_and_refuses_invisible_and_control_characters() {
        assert_eq!(
            NxId::parse_jid("Bob@SIMU.LOCAL/Phone").expect("jid"),
            NxId::parse_jid("bob@simu.local").expect("jid")
        );
        assert_eq!(
            NxId::normalize("ALICE", Some("Simu.Local"))
                .expect("id")
                .to_string(),
            "alice@simu.local"
        );
        for bad in [
            "bo\u{200B}b@x",
            "bob\u{202E}@x",
            "\u{FEFF}bob@x",
            "bo\u{7}b@x",
            "bo\u{2060}b@x",
        ] {
            assert!(
                matches!(NxId::parse_jid(bad), Err(IdError::InvalidChar(..))),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            NxId::parse_jid(&format!("{}@x", "a".repeat(300))),
            Err(IdError::TooLong(_))
        ));
    }

    #[test]
    fn parses_wire_jids_and_resources() {
        let id = NxId::parse_jid("+255788811191@example.org/nexacon_1").expect("valid jid");
        assert_eq!(id.local(), "+255788811191");
        assert_eq!(id.domain(), "example.org");
        assert_eq!(NxId::resource_of("a@b/c/d"), Some("c/d"));
        assert_eq!(NxId::resource_of("a@b"), None);
        assert!(NxId::parse_jid("example.org").is_err());
    }
}
