//! Who may ring this device: do-not-disturb and blocked callers, decided before any ringing.

use std::collections::BTreeSet;

use nx::NxId;

/// Upper bound on blocked addresses, so a settings file cannot grow the filter without end.
pub const MAX_BLOCKED: usize = 1000;

/// The user's rules for incoming calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Incoming calls do not ring; the caller's ring runs out and it is a missed call.
    pub do_not_disturb: bool,
    /// Calls from these addresses are declined without ringing.
    blocked: BTreeSet<NxId>,
}

/// Why an incoming call did not ring.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Filtered {
    /// Declined at once: the caller is blocked.
    Blocked,
    /// Left unanswered: do not disturb is on (a missed call for the user).
    DoNotDisturb,
}

impl CallFilter {
    /// A filter blocking `blocked` (the first [`MAX_BLOCKED`] of them).
    pub fn new(do_not_disturb: bool, blocked: impl IntoIterator<Item = NxId>) -> Self {
        Self {
            do_not_disturb,
            blocked: blocked.into_iter().take(MAX_BLOCKED).collect(),
        }
    }

    /// What happens to a call from `caller`: `None` lets it ring.
    pub fn verdict(&self, caller: &NxId) -> Option<Filtered> {
        if self.blocked.contains(caller) {
            Some(Filtered::Blocked)
        } else if self.do_not_disturb {
            Some(Filtered::DoNotDisturb)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NxId {
        NxId::parse_jid(s).expect("jid")
    }

    #[test]
    fn blocked_callers_are_refused_even_without_do_not_disturb() {
        let f = CallFilter::new(false, [id("bob@x")]);
        assert_eq!(f.verdict(&id("bob@x")), Some(Filtered::Blocked));
        assert_eq!(f.verdict(&id("carol@x")), None);
    }

    #[test]
    fn do_not_disturb_silences_everyone_else() {
        let f = CallFilter::new(true, [id("bob@x")]);
        assert_eq!(f.verdict(&id("bob@x")), Some(Filtered::Blocked));
        assert_eq!(f.verdict(&id("carol@x")), Some(Filtered::DoNotDisturb));
    }

    #[test]
    fn the_block_list_is_bounded() {
        let many = (0..MAX_BLOCKED + 50).map(|i| id(&format!("u{i}@x")));
        let f = CallFilter::new(false, many);
        assert_eq!(f.blocked.len(), MAX_BLOCKED);
    }
}
