//! Who may ring this computer (do not disturb, blocked numbers and NX IDs), kept with the
//! profile and handed to the CallManager as a `CallFilter`.

use crate::core::Core;
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tauri::State;

/// The user's rules for incoming calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CallRules {
    /// Incoming calls do not ring and are recorded as missed.
    #[serde(default)]
    pub do_not_disturb: bool,
    /// NX IDs whose calls are declined without ringing (at most `call::MAX_BLOCKED`).
    #[serde(default)]
    pub blocked: Vec<String>,
}

impl CallRules {
    /// The filter the CallManager applies (entries that are not NX IDs are skipped).
    pub fn filter(&self) -> call::CallFilter {
        let ids = self
            .blocked
            .iter()
            .filter_map(|b| nx::NxId::parse_jid(b).ok());
        call::CallFilter::new(self.do_not_disturb, ids)
    }

    /// The rules with every blocked entry written as an NX ID (numbers in `domain`), sorted,
    /// without repeats; an entry that is no address is refused.
    fn normalized(self, domain: Option<&str>) -> Result<Self, AppError> {
        let mut blocked = self
            .blocked
            .iter()
            .map(|b| {
                nx::NxId::normalize(b, domain)
                    .map(|id| id.to_string())
                    .map_err(|e| AppError::invalid(format!("{b}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        blocked.sort();
        blocked.dedup();
        if blocked.len() > call::MAX_BLOCKED {
            return Err(AppError::invalid(format!(
                "At most {} numbers can be blocked.",
                call::MAX_BLOCKED
            )));
        }
        Ok(Self { blocked, ..self })
    }
}

#[tauri::command]
pub async fn call_rules(core: State<'_, Arc<Core>>) -> Result<CallRules, AppError> {
    Ok(core.profile.load().unwrap_or_default().rules)
}

/// Saves the rules and applies them to the signed-in CallManager at once.
#[tauri::command]
pub async fn set_call_rules(
    core: State<'_, Arc<Core>>,
    rules: CallRules,
) -> Result<CallRules, AppError> {
    let active = core
        .with_active(|a| (a.manager.clone(), a.manager.jid().domain().to_string()))
        .await
        .ok();
    let rules = rules.normalized(active.as_ref().map(|(_, d)| d.as_str()))?;
    let mut s = core.profile.load().unwrap_or_default();
    s.rules = rules.clone();
    core.profile
        .save(&s)
        .map_err(|e| AppError::local(format!("Cannot save settings: {e}")))?;
    if let Some((m, _)) = active {
        m.set_call_filter(rules.filter()).await?;
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_numbers_become_nx_ids_once_each() {
        let r = CallRules {
            do_not_disturb: true,
            blocked: vec![
                "+255 712 345 678".into(),
                "bob@simu.local".into(),
                "255712345678".into(),
            ],
        }
        .normalized(Some("simu.local"))
        .expect("valid");
        assert_eq!(r.blocked.len(), 2, "{:?}", r.blocked);
        assert!(r.blocked.contains(&"bob@simu.local".to_string()));
        assert!(r.do_not_disturb);
        let f = r.filter();
        let bob = nx::NxId::parse_jid("bob@simu.local").expect("id");
        assert_eq!(f.verdict(&bob), Some(call::Filtered::Blocked));
    }

    #[test]
    fn an_entry_that_is_no_address_is_refused() {
        let r = CallRules {
            do_not_disturb: false,
            blocked: vec!["@simu.local".into()],
        };
        let e = r.normalized(Some("simu.local")).expect_err("refused");
        assert_eq!(e.kind, crate::error::ErrorKind::Invalid);
    }
}
