//! Calls: registering 1:1 and P2P calls (group calls: `group.rs`), inviting over NX, call
//! links, decline, ICE servers, and analytics that feed both parties' history.

use super::auth::user_id;
use super::extract::{ApiError, AuthUser, Body};
use crate::store::{Call, OutcomeLimits, OutcomeReport, Recorded};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use nx::signal::{now_ms, Signal};
use nx::xml::Element;
use nx::xmpp::NS_RECEIPTS;
use nx::CallType;
use serde::Deserialize;
use serde_json::{json, Value};

pub const ANALYTICS_STATUSES: &[&str] = &[
    "initiated",
    "calling",
    "answered",
    "declined",
    "cancelled",
    "missed",
    "ended",
    "failed",
];
pub const CALL_TYPES: &[&str] = &["audio", "video", "p2p", "group"];
const MAX_ROOM: usize = 128;

pub(super) fn check_room(room: Option<String>) -> Result<String, ApiError> {
    let room = room
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| format!("call_{}", now_ms()));
    if room.len() > MAX_ROOM
        || !room
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ApiError::bad_request(
            "room: letters, digits, '_', '-' and '.' only, at most 128",
        ));
    }
    Ok(room)
}

pub(super) fn check_type(t: &str, allowed: &[&str]) -> Result<String, ApiError> {
    if allowed.contains(&t) {
        Ok(t.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "type: must be one of {}",
            allowed.join(", ")
        )))
    }
}

/// Resolves a callee typed by the caller; it must be a known user of this server.
pub(super) async fn callee(st: &AppState, to: &str) -> Result<nx::NxId, ApiError> {
    let id = user_id(st, to).map_err(|e| ApiError::bad_request(format!("to: {}", e.detail)))?;
    if st.store.user(id.local()).await?.is_none() {
        return Err(ApiError::not_found(format!("User {id} not found.")));
    }
    Ok(id)
}

#[derive(Deserialize)]
pub struct CallReq {
    to: String,
    #[serde(rename = "type", default = "default_type")]
    call_type: String,
    #[serde(default)]
    room: Option<String>,
    /// `audio` or `video` for a P2P call (Simu extension; history shows it).
    #[serde(default)]
    media: Option<String>,
    /// Call links: seconds the link stays valid (Simu extension; default 1 h).
    #[serde(default)]
    expires_in: Option<u64>,
}

pub(super) fn default_type() -> String {
    "video".into()
}

pub async fn start_call(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<CallReq>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let call_type = check_type(&req.call_type, &["audio", "video"])?;
    let room = check_room(req.room)?;
    let to = callee(&st, &req.to).await?;
    if to == user.jid {
        return Err(ApiError::bad_request("to: cannot call yourself"));
    }
    let call = Call {
        room: room.clone(),
        caller: user.jid.to_string(),
        callee: to.to_string(),
        call_type: call_type.clone(),
    };
    if !st.store.create_call(&call).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "room: a call with this room exists",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "status": "initiated", "call_id": room, "room": room, "to": to.to_string(), "type": call_type }),
        ),
    ))
}

pub async fn start_p2p_call(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<CallReq>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_type(&req.call_type, &["p2p", "audio", "video"])?;
    let media = match req.media.as_deref() {
        Some(m) => check_type(m, &["audio", "video"])?,
        None if req.call_type != "p2p" => req.call_type.clone(),
        None => "video".into(),
    };
    let room = check_room(req.room)?;
    let to = callee(&st, &req.to).await?;
    if to == user.jid {
        return Err(ApiError::bad_request("to: cannot call yourself"));
    }
    let call = Call {
        room: room.clone(),
        caller: user.jid.to_string(),
        callee: to.to_string(),
        call_type: media.clone(),
    };
    if !st.store.create_call(&call).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "room: a call with this room exists",
        ));
    }
    let caller_name = st
        .store
        .user(user.jid.local())
        .await?
        .and_then(|u| u.display_name)
        .unwrap_or_else(|| user.jid.local().to_string());
    let invitation = Signal::CallInvitation {
        room_id: room.clone(),
        call_type: media.parse().unwrap_or(CallType::Video),
        from_nx_id: user.jid.to_string(),
        from_name: caller_name,
        timestamp: now_ms(),
        participants: vec![],
        sfu: false,
        knock: false,
    };
    let msg = Element::new("message")
        .attr("xmlns", crate::xmpp::stanza::NS_CLIENT)
        .attr("type", "chat")
        .attr("to", to.to_string())
        .attr("from", user.jid.to_string())
        .attr("id", format!("inv{}", rand::random::<u32>()))
        .child(Element::new("body").text(invitation.to_json()))
        .child(Element::new("request").attr("xmlns", NS_RECEIPTS));
    // With an external signaling server (ejabberd) the caller's own invitation reaches the
    // callee; storing one here would only pile up undeliverable offline messages.
    let delivery = if st.cfg.nxws_url.is_empty() {
        st.router.route_message(&to.to_string(), &msg).await
    } else {
        crate::xmpp::router::Delivery::Dropped
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "status": "success", "call_id": room, "room": room, "to": to.to_string(), "type": "p2p",
            "media": media, "push_sent": false, "nx_sent": !matches!(delivery, crate::xmpp::router::Delivery::NoSuchUser | crate::xmpp::router::Delivery::Dropped),
        })),
    ))
}

pub async fn call_url(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<CallReq>,
) -> Result<Json<Value>, ApiError> {
    let call_type = check_type(&req.call_type, &["audio", "video", "p2p"])?;
    let room = check_room(req.room)?;
    let to = callee(&st, &req.to).await?;
    let link = crate::links::CallLink {
        room,
        caller: user.jid.local().to_string(),
        call_type,
        to: to.to_string(),
        exp: crate::clock::unix_now()
            + super::links::lifetime(req.expires_in, crate::links::LINK_TTL)?,
    };
    let url = super::links::record(
        &st,
        &link,
        &user.jid.to_string(),
        crate::store::LinkKind::Call,
    )
    .await?;
    Ok(Json(
        json!({ "call_url": url, "room": link.room, "expires_at": link.exp }),
    ))
}

#[derive(Deserialize)]
pub struct DeclineReq {
    room: String,
}

/// The call of `room` if `user` took part in it (either party, or a group call's member).
pub(super) async fn own_call(st: &AppState, user: &AuthUser, room: &str) -> Result<Call, ApiError> {
    let me = user.jid.to_string();
    match st.store.call(room).await? {
        Some(c) if c.caller == me || c.callee == me => Ok(c),
        Some(c) if st.store.members(room).await?.contains(&me) => Ok(c),
        _ => Err(ApiError::not_found("Call not found.")),
    }
}

pub async fn decline(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<DeclineReq>,
) -> Result<Json<Value>, ApiError> {
    let call = own_call(&st, &user, &req.room).await?;
    let me = user.jid.to_string();
    let meta = json!({ "declined_by": me });
    let report = OutcomeReport {
        reporter: &me,
        call_type: &call.call_type,
        status: "declined",
        duration: 0,
        metadata: &meta,
        record_key: None,
    };
    st.store
        .record_outcome(&call, &report, &outcome_limits(&st))
        .await?;
    Ok(Json(json!({ "status": "declined", "room": call.room })))
}

pub async fn webrtc_credentials(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let (servers, ttl) = ice_servers(&st, &user.jid.to_string());
    Ok(Json(
        json!({ "status": "success", "ice_servers": servers, "ttl": ttl }),
    ))
}

/// STUN and (with a TURN secret) fresh TURN REST credentials for `user`, and their lifetime.
pub(super) fn ice_servers(st: &AppState, user: &str) -> (Vec<Value>, u64) {
    let mut servers = Vec::new();
    if !st.cfg.stun_urls.is_empty() {
        servers.push(json!({ "urls": st.cfg.stun_urls }));
    }
    let ttl = st.cfg.turn.ttl_seconds.max(60);
    if !st.cfg.turn.urls.is_empty() && !st.cfg.turn.shared_secret.is_empty() {
        let (username, credential) = crate::turn::credential(
            &st.cfg.turn.shared_secret,
            user,
            crate::clock::unix_now() + ttl,
        );
        servers.push(
            json!({ "urls": st.cfg.turn.urls, "username": username, "credential": credential }),
        );
    }
    (servers, ttl)
}

#[derive(Deserialize)]
pub struct AnalyticsReq {
    room: String,
    call_type: String,
    status: String,
    #[serde(default)]
    duration_seconds: i64,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
    /// Idempotency key (Simu extension): a retry with the same key adds nothing.
    #[serde(default)]
    record_id: Option<String>,
}

/// How long after set-up a call's history rows may still change.
const EDIT_WINDOW: i64 = 24 * 3600;

pub(super) fn outcome_limits(st: &AppState) -> OutcomeLimits {
    OutcomeLimits {
        per_call: st.cfg.limits.analytics_per_call,
        edit_window: EDIT_WINDOW,
    }
}

pub async fn analytics(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<AnalyticsReq>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let status = check_type(&req.status, ANALYTICS_STATUSES).map_err(|_| {
        ApiError::bad_request(format!(
            "status: must be one of {}",
            ANALYTICS_STATUSES.join(", ")
        ))
    })?;
    let call_type = check_type(&req.call_type, CALL_TYPES).map_err(|_| {
        ApiError::bad_request(format!(
            "call_type: must be one of {}",
            CALL_TYPES.join(", ")
        ))
    })?;
    if !(0..=7 * 86400).contains(&req.duration_seconds) {
        return Err(ApiError::bad_request(
            "duration_seconds: between 0 and 604800",
        ));
    }
    let meta = Value::Object(req.metadata.unwrap_or_default());
    if meta.to_string().len() > 8192 {
        return Err(ApiError::bad_request("metadata: at most 8 KiB"));
    }
    if req
        .record_id
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 64)
    {
        return Err(ApiError::bad_request("record_id: 1 to 64 characters"));
    }
    let call = own_call(&st, &user, &req.room).await?;
    let duration = if status == "ended" {
        req.duration_seconds
    } else {
        0
    };
    let call_type = if call_type == "p2p" {
        call.call_type.clone()
    } else {
        call_type
    };
    let me = user.jid.to_string();
    let report = OutcomeReport {
        reporter: &me,
        call_type: &call_type,
        status: &status,
        duration,
        metadata: &meta,
        record_key: req.record_id.as_deref(),
    };
    match st
        .store
        .record_outcome(&call, &report, &outcome_limits(&st))
        .await?
    {
        Recorded::New(id) | Recorded::Duplicate(id) => Ok((
            StatusCode::CREATED,
            Json(json!({ "status": "success", "id": id })),
        )),
        Recorded::TooMany => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many analytics records for this call.",
        )),
    }
}
