//! Call links over REST (protocol.md §2.2): the owner's side (make a room link, list, revoke)
//! and the web call page's side (open a link, join as a guest). The page's side needs no
//! account and no tenant keys: the link's signature is the credential, and what it yields is a
//! guest pass for one call with the link's owner.

use super::extract::{ApiError, AuthUser, Body, ClientAddr};
use crate::links::{self, CallLink, LinkError};
use crate::store::{Call, Guest, LinkKind, OutcomeReport, StoredLink};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

/// Why a link was refused, as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Tampered,
    Expired,
    Revoked,
    Unknown,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Tampered => "tampered",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::Unknown => "unknown",
        }
    }
}

impl From<LinkError> for Refusal {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Malformed => Refusal::Malformed,
            LinkError::Expired => Refusal::Expired,
            LinkError::BadSignature => Refusal::Tampered,
        }
    }
}

/// A refused link or another error, each with a machine-readable `reason`.
#[derive(Debug)]
pub enum LinkApiError {
    Refused(Refusal),
    Api(ApiError),
}

impl From<ApiError> for LinkApiError {
    fn from(e: ApiError) -> Self {
        LinkApiError::Api(e)
    }
}

impl From<crate::store::StoreError> for LinkApiError {
    fn from(e: crate::store::StoreError) -> Self {
        LinkApiError::Api(e.into())
    }
}

impl IntoResponse for LinkApiError {
    fn into_response(self) -> Response {
        let r = match self {
            LinkApiError::Api(e) => return e.into_response(),
            LinkApiError::Refused(r) => r,
        };
        let (status, detail) = match r {
            Refusal::Malformed => (StatusCode::BAD_REQUEST, "This is not a complete call link."),
            Refusal::Tampered => (
                StatusCode::FORBIDDEN,
                "This link was changed or was not made by this server.",
            ),
            Refusal::Expired => (StatusCode::GONE, "This link has expired."),
            Refusal::Revoked => (StatusCode::GONE, "This link was revoked by its owner."),
            Refusal::Unknown => (StatusCode::NOT_FOUND, "This server knows no such link."),
        };
        (
            status,
            Json(json!({ "detail": detail, "reason": r.reason() })),
        )
            .into_response()
    }
}

/// Signs `link`, records it for its owner (within the owner's live-link limit) and gives its URL.
pub(super) async fn record(
    st: &AppState,
    link: &CallLink,
    owner: &str,
    kind: LinkKind,
) -> Result<String, ApiError> {
    let now = crate::clock::unix_now();
    let live = st.store.live_links(owner, now).await?;
    let renewing = live.iter().any(|l| l.room == link.room);
    if !renewing && live.len() >= st.cfg.limits.links_per_user {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "At most {} live links per user; revoke one first.",
                st.cfg.limits.links_per_user
            ),
        ));
    }
    let stored = StoredLink {
        room: link.room.clone(),
        owner: owner.to_string(),
        kind,
        call_type: link.call_type.clone(),
        invitee: link.to.clone(),
        created_at: now,
        expires_at: link.exp,
        revoked: false,
    };
    if !st.store.save_link(&stored).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "room: already used by another link",
        ));
    }
    Ok(link.url(&st.public_url, &st.link_key))
}

/// A link's lifetime in seconds: `asked` if given (60 s to `MAX_LINK_TTL`), else `default`.
pub(super) fn lifetime(asked: Option<u64>, default: u64) -> Result<u64, ApiError> {
    let ttl = asked.unwrap_or(default);
    if (60..=links::MAX_LINK_TTL).contains(&ttl) {
        Ok(ttl)
    } else {
        Err(ApiError::bad_request(format!(
            "expires_in: from 60 to {} seconds",
            links::MAX_LINK_TTL
        )))
    }
}

#[derive(Deserialize)]
pub struct RoomLinkReq {
    /// Seconds the link stays valid (default 7 days, at most 90).
    #[serde(default)]
    expires_in: Option<u64>,
    /// The room's name (random if not given).
    #[serde(default)]
    room: Option<String>,
}

/// `POST /simu/links/`: a reusable room link; whoever opens it knocks and the owner admits.
pub async fn create_room_link(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<RoomLinkReq>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ttl = lifetime(req.expires_in, links::ROOM_LINK_TTL)?;
    let room = match req.room.filter(|r| !r.is_empty()) {
        Some(r) => super::calls::check_room(Some(r))?,
        None => format!("link_{:032x}", rand::random::<u128>()),
    };
    let me = user.jid.to_string();
    let link = CallLink {
        room,
        caller: user.jid.local().to_string(),
        call_type: links::ROOM_TYPE.to_string(),
        to: me.clone(),
        exp: crate::clock::unix_now() + ttl,
    };
    let url = record(&st, &link, &me, LinkKind::Room).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "room": link.room, "url": url, "kind": "room", "expires_at": link.exp })),
    ))
}

/// `GET /simu/links/`: the caller's live links, newest first.
pub async fn list_links(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let me = user.jid.to_string();
    let links = st
        .store
        .live_links(&me, crate::clock::unix_now())
        .await?
        .into_iter()
        .map(|l| {
            let url = CallLink {
                room: l.room.clone(),
                caller: user.jid.local().to_string(),
                call_type: l.call_type.clone(),
                to: l.invitee.clone(),
                exp: l.expires_at,
            }
            .url(&st.public_url, &st.link_key);
            json!({
                "room": l.room, "url": url, "kind": l.kind.as_str(), "type": l.call_type,
                "to": l.invitee, "created_at": l.created_at, "expires_at": l.expires_at,
            })
        })
        .collect::<Vec<_>>();
    Ok(Json(json!({ "links": links })))
}

/// `DELETE /simu/links/{room}/`: revokes a link; guests it let in are cut off at once.
pub async fn revoke_link(
    State(st): State<AppState>,
    user: AuthUser,
    Path(room): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = crate::clock::unix_now();
    if !st
        .store
        .revoke_link(&user.jid.to_string(), &room, now)
        .await?
    {
        return Err(ApiError::not_found("No such live link."));
    }
    for guest in st.store.end_guests_of_link(&room, now).await? {
        st.router.kick(&guest);
    }
    Ok(Json(json!({ "status": "revoked", "room": room })))
}

#[derive(Deserialize)]
pub struct OpenReq {
    /// The link's query string (`room=..&caller=..&..&sig=..`).
    link: String,
}

/// A link whose signature, expiry and record all check out.
async fn checked(st: &AppState, query: &str) -> Result<StoredLink, LinkApiError> {
    let link = links::verify(query, &st.link_key, crate::clock::unix_now())
        .map_err(|e| LinkApiError::Refused(e.into()))?;
    let stored = st
        .store
        .link(&link.room)
        .await?
        .filter(|s| s.owner.split('@').next() == Some(link.caller.as_str()))
        .ok_or(LinkApiError::Refused(Refusal::Unknown))?;
    if stored.revoked {
        return Err(LinkApiError::Refused(Refusal::Revoked));
    }
    Ok(stored)
}

async fn host_name(st: &AppState, owner: &str) -> Result<String, ApiError> {
    let local = owner.split('@').next().unwrap_or_default();
    Ok(st
        .store
        .user(local)
        .await?
        .and_then(|u| u.display_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| local.to_string()))
}

/// `POST /simu/link/open`: what the page shows before joining, or why the link is refused.
pub async fn open_link(
    State(st): State<AppState>,
    Body(req): Body<OpenReq>,
) -> Result<Json<Value>, LinkApiError> {
    let l = checked(&st, &req.link).await?;
    Ok(Json(json!({
        "kind": l.kind.as_str(),
        "type": l.call_type,
        "host": l.owner,
        "host_name": host_name(&st, &l.owner).await?,
        "expires_at": l.expires_at,
        "guests": st.cfg.nxws_url.is_empty(),
    })))
}

#[derive(Deserialize)]
pub struct JoinReq {
    link: String,
    name: String,
}

/// `POST /simu/link/join`: a guest pass for one call with the link's owner (NX token, the
/// signaling address, ICE servers); if the owner is offline, no pass, and the owner gets a
/// missed call.
pub async fn join_link(
    State(st): State<AppState>,
    ip: ClientAddr,
    Body(req): Body<JoinReq>,
) -> Result<Json<Value>, LinkApiError> {
    let address = ip.0.to_string();
    st.guest_joins
        .check(&address, Instant::now())
        .map_err(|wait| {
            ApiError::too_many(wait, "Too many joins from this address; try again later.")
        })?;
    let name = links::guest_name(&req.name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "name: 1 to {} characters, no control characters",
            links::MAX_GUEST_NAME
        ))
    })?;
    let l = checked(&st, &req.link).await?;
    if !st.cfg.nxws_url.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Guests need this server's own signaling; it uses an external one.",
        )
        .into());
    }
    st.guest_joins.fail(&address, Instant::now());
    let now = crate::clock::unix_now();
    let jid = format!(
        "{}{:016x}@{}",
        links::GUEST_PREFIX,
        rand::random::<u64>(),
        st.cfg.domain
    );
    let room = format!("call_g{:016x}", rand::random::<u64>());
    let media = if l.call_type == "audio" {
        "audio"
    } else {
        "video"
    };
    let call = Call {
        room: room.clone(),
        caller: jid.clone(),
        callee: l.owner.clone(),
        call_type: media.to_string(),
    };
    st.store.create_call(&call).await?;
    let host_name = host_name(&st, &l.owner).await?;
    if st.router.presence_status(&l.owner) == "offline" {
        let meta = json!({ "guest_name": name, "via": "link" });
        let report = OutcomeReport {
            reporter: &jid,
            call_type: media,
            status: "cancelled",
            duration: 0,
            metadata: &meta,
            record_key: None,
        };
        st.store
            .record_outcome(&call, &report, &super::calls::outcome_limits(&st))
            .await?;
        return Ok(Json(json!({
            "host_online": false, "host": l.owner, "host_name": host_name,
        })));
    }
    let guest = Guest {
        jid: jid.clone(),
        name: name.clone(),
        link: l.room.clone(),
        room: room.clone(),
        host: l.owner.clone(),
        expires_at: now + links::GUEST_TTL,
        ended: false,
    };
    st.store.add_guest(&guest, now).await?;
    let token = st
        .tokens
        .issue(&jid, crate::tokens::TokenKind::Guest, links::GUEST_TTL);
    let (ice_servers, _) = super::calls::ice_servers(&st, &jid);
    Ok(Json(json!({
        "host_online": true, "jid": jid, "token": token, "nxws": st.nxws, "domain": st.cfg.domain,
        "room": room, "type": media, "kind": l.kind.as_str(), "host": l.owner, "host_name": host_name,
        "name": name, "ice_servers": ice_servers, "expires_at": guest.expires_at,
    })))
}
