//! Contacts (with the echo contact always first) and presence.

use super::auth::user_id;
use super::extract::{ApiError, AuthUser, Body};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

async fn contact_list(st: &AppState, owner: &str) -> Result<Value, ApiError> {
    let mut list = Vec::new();
    if st.cfg.echo {
        let echo = st.echo_jid();
        list.push(json!({ "nxid": echo, "name": "Echo test", "status": st.router.presence_status(&echo) }));
    }
    for (nxid, name) in st.store.contacts(owner).await? {
        let status = st.router.presence_status(&nxid);
        list.push(json!({ "nxid": nxid, "name": name, "status": status }));
    }
    Ok(json!({ "contacts": list }))
}

pub async fn list(State(st): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(contact_list(&st, &user.jid.to_string()).await?))
}

#[derive(Deserialize)]
pub struct AddReq {
    nxid: String,
    #[serde(default)]
    name: String,
}

/// Longest contact address stored.
const MAX_CONTACT_ID: usize = 320;

pub async fn add(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<AddReq>,
) -> Result<Json<Value>, ApiError> {
    if req.nxid.len() > MAX_CONTACT_ID {
        return Err(ApiError::bad_request(format!(
            "nxid: at most {MAX_CONTACT_ID} characters"
        )));
    }
    let id = nx::NxId::normalize(&req.nxid, Some(&st.cfg.domain))
        .map_err(|e| ApiError::bad_request(format!("nxid: {e}")))?;
    let name = req.name.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name: at most 100 characters, no control characters",
        ));
    }
    let name = if name.is_empty() {
        id.local().to_string()
    } else {
        name.to_string()
    };
    let me = user.jid.to_string();
    if !st
        .store
        .upsert_contact(&me, &id.to_string(), &name, st.cfg.limits.contacts_per_user)
        .await?
    {
        return Err(ApiError::bad_request(format!(
            "contacts: at most {} contacts",
            st.cfg.limits.contacts_per_user
        )));
    }
    Ok(Json(contact_list(&st, &user.jid.to_string()).await?))
}

pub async fn remove(
    State(st): State<AppState>,
    user: AuthUser,
    Path(nxid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = nx::NxId::normalize(&nxid, Some(&st.cfg.domain))
        .map_err(|e| ApiError::bad_request(format!("nxid: {e}")))?;
    if !st
        .store
        .delete_contact(&user.jid.to_string(), &id.to_string())
        .await?
    {
        return Err(ApiError::not_found("Contact not found."));
    }
    Ok(Json(contact_list(&st, &user.jid.to_string()).await?))
}

/// Presence of the user's own account, their contacts, the echo contact, and whoever they
/// had a call with in the last day. Anyone else, existing or not, is "offline" with no
/// last-seen time, so the answer does not reveal which accounts exist.
pub async fn presence(
    State(st): State<AppState>,
    user: AuthUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let who = q
        .get("user")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::bad_request("user: required"))?;
    let id = user_id(&st, who)?;
    let bare = id.to_string();
    let me = user.jid.to_string();
    let visible = bare == me
        || (st.cfg.echo && bare == st.echo_jid())
        || st.store.is_contact(&me, &bare).await?
        || st.store.had_call_with(&me, &bare, 86400).await?;
    if !visible {
        return Ok(Json(
            json!({ "user": bare, "status": "offline", "last_seen": null }),
        ));
    }
    let last_seen = st.store.user(id.local()).await?.and_then(|u| u.last_seen);
    Ok(Json(
        json!({ "user": bare, "status": st.router.presence_status(&bare), "last_seen": last_seen }),
    ))
}
