//! A link's lobby in the call under way: the owner admits a knocking guest into its call
//! (`POST /nx/group-call/{room}/members/` naming the guest), and the guest's pass moves to that
//! call, whose members it may then signal (protocol.md §2.2, §4.2 rule 5).

use super::calls::outcome_limits;
use super::extract::{ApiError, AuthUser};
use super::group::{too_many, MAX_GROUP_MEMBERS};
use crate::store::{Call, Guest, OutcomeReport};
use crate::AppState;
use axum::http::StatusCode;
use serde_json::json;

/// Whether an invitation names guests (then it names nothing else: guests are admitted on
/// their own, one knock at a time).
pub(super) fn names_guests(participants: &[String]) -> bool {
    participants
        .iter()
        .any(|p| nx::NxId::parse_jid(p).is_ok_and(|id| id.is_guest()))
}

/// The live passes of the guests `user` admits: each must be waiting for `user`.
async fn passes(st: &AppState, user: &AuthUser, list: &[String]) -> Result<Vec<Guest>, ApiError> {
    if list.len() > MAX_GROUP_MEMBERS - 1 {
        return Err(ApiError::bad_request(format!(
            "participants: between 1 and {}",
            MAX_GROUP_MEMBERS - 1
        )));
    }
    let me = user.jid.to_string();
    let mut out: Vec<Guest> = Vec::new();
    for p in list {
        let id = nx::NxId::parse_jid(p)
            .ok()
            .filter(nx::NxId::is_guest)
            .ok_or_else(|| {
                ApiError::bad_request("participants: guests are admitted on their own")
            })?;
        let pass = st.store.guest(&id.to_string()).await?;
        match pass {
            Some(g) if !g.ended && g.host.eq_ignore_ascii_case(&me) => {
                if !out.iter().any(|o| o.jid == g.jid) {
                    out.push(g);
                }
            }
            _ => {
                return Err(ApiError::not_found(format!(
                    "participants: no guest {id} is waiting for you"
                )))
            }
        }
    }
    Ok(out)
}

/// Admits guests into `call`: they become its members (no history of their own), their passes
/// move to it, and each knock is recorded as ended for the owner. Returns the member count.
pub(super) async fn admit(
    st: &AppState,
    user: &AuthUser,
    call: &Call,
    list: &[String],
) -> Result<usize, ApiError> {
    let guests = passes(st, user, list).await?;
    if st.store.sfu_room(&call.room).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "participants: guests cannot join a call on the conference server (SFU)",
        ));
    }
    let max = st.cfg.limits.mesh_members.min(MAX_GROUP_MEMBERS);
    let ids: Vec<String> = guests.iter().map(|g| g.jid.clone()).collect();
    let n = match st.store.add_group_members(call, &ids, max).await? {
        Ok(n) => n,
        Err(max) => return Err(too_many(max)),
    };
    let me = user.jid.to_string();
    for g in &guests {
        st.store.move_guest(&g.jid, &call.room).await?;
        if let Some(knock) = st.store.call(&g.room).await? {
            let meta = json!({ "guest_name": g.name, "via": "link", "admitted_to": call.room });
            let report = OutcomeReport {
                reporter: &me,
                call_type: &knock.call_type,
                status: "ended",
                duration: 0,
                metadata: &meta,
                record_key: None,
            };
            st.store
                .record_outcome(&knock, &report, &outcome_limits(st))
                .await?;
        }
        tracing::info!(guest = %g.jid, room = %call.room, "guest admitted into the call");
    }
    Ok(n)
}
