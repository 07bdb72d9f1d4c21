//! Group calls (protocol.md §4.2, §6): registering one, inviting more people into it, and a
//! member's way into its conference-server room when the SFU carries it.

use super::calls::{callee, check_room, check_type, default_type, own_call};
use super::extract::{ApiError, AuthUser, Body};
use crate::clock::unix_now;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most members a group call has, whatever carries its media.
pub const MAX_GROUP_MEMBERS: usize = 16;

#[derive(Deserialize)]
pub struct GroupReq {
    participants: Vec<String>,
    #[serde(rename = "type", default = "default_type")]
    call_type: String,
    #[serde(default)]
    room: Option<String>,
    /// Carry the call on the conference server even when mesh would do (`simu call --sfu`).
    #[serde(default)]
    sfu: bool,
}

/// Checks a list of invitees: known users, not the caller, each once.
async fn invitees(
    st: &AppState,
    user: &AuthUser,
    list: &[String],
) -> Result<Vec<String>, ApiError> {
    if list.is_empty() || list.len() > MAX_GROUP_MEMBERS - 1 {
        return Err(ApiError::bad_request(format!(
            "participants: between 1 and {}",
            MAX_GROUP_MEMBERS - 1
        )));
    }
    let mut ids: Vec<String> = Vec::new();
    for p in list {
        let id = callee(st, p).await?;
        if id == user.jid {
            return Err(ApiError::bad_request(
                "participants: cannot include yourself",
            ));
        }
        let id = id.to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub(super) fn too_many(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!(
            "participants: a call of more than {max} people needs a conference server (SFU), and this server has none"
        ),
    )
}

pub async fn start_group_call(
    State(st): State<AppState>,
    user: AuthUser,
    Body(req): Body<GroupReq>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let call_type = check_type(&req.call_type, &["audio", "video"])?;
    let room = check_room(req.room)?;
    let ids = invitees(&st, &user, &req.participants).await?;
    let members = ids.len() + 1;
    let on_sfu = req.sfu || members > st.cfg.limits.mesh_members;
    let sfu = match (&st.sfu, on_sfu) {
        (_, false) => None,
        (Some(sfu), true) => Some(sfu),
        (None, true) if req.sfu => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "sfu: this server has no conference server (SFU)",
            ))
        }
        (None, true) => return Err(too_many(st.cfg.limits.mesh_members)),
    };
    if st.store.call(&room).await?.is_some() {
        return Err(room_taken());
    }
    let sfu_room = match sfu {
        Some(sfu) => Some(
            sfu.create_room(&room, MAX_GROUP_MEMBERS)
                .await
                .map_err(sfu_unavailable)?,
        ),
        None => None,
    };
    if !st
        .store
        .create_group_call(&room, &user.jid.to_string(), &ids)
        .await?
    {
        if let (Some(sfu), Some(r)) = (sfu, &sfu_room) {
            let _ = sfu.destroy_room(r).await;
        }
        return Err(room_taken());
    }
    if let Some(r) = &sfu_room {
        // The call was made just now, so nobody else recorded a room for it.
        st.store.add_sfu_room_if_none(r).await?;
    }
    let media = if sfu_room.is_some() { "sfu" } else { "mesh" };
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "status": "initiated", "call_id": room, "room": room, "participants": ids, "type": call_type, "media": media }),
        ),
    ))
}

/// Over the most any call holds, conference server or not.
fn full() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("participants: a call holds at most {MAX_GROUP_MEMBERS} people"),
    )
}

fn room_taken() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "room: a call with this room exists")
}

fn sfu_unavailable(e: crate::sfu::SfuError) -> ApiError {
    tracing::warn!(error = %e, "conference server failure");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the conference server (SFU) is unavailable; try again",
    )
}

/// GET `/nx/group-call/{room}/sfu/`: a member's time-limited tokens for the call's room on the
/// conference server (protocol.md §4.3). Nobody else gets them.
pub async fn sfu_grant(
    State(st): State<AppState>,
    user: AuthUser,
    Path(room): Path<String>,
) -> Result<Json<crate::sfu::Grant>, ApiError> {
    let call = own_call(&st, &user, &room).await?;
    let (Some(sfu), Some(r)) = (&st.sfu, st.store.sfu_room(&call.room).await?) else {
        return Err(ApiError::not_found(
            "this call is not on the conference server",
        ));
    };
    Ok(Json(sfu.grant(&r, unix_now())))
}

#[derive(Deserialize)]
pub struct MembersReq {
    participants: Vec<String>,
}

/// POST `/nx/group-call/{room}/members/`: a member invites more people into the call under
/// way (a 1:1 call becomes a group call); they get a history row and may report on it. A mesh
/// call that would grow over `mesh_members` moves onto the conference server, if there is one:
/// its room is made now and the answer's `media: "sfu"` tells the inviter to move everyone
/// (protocol.md §4.3 rule 6).
pub async fn add_group_members(
    State(st): State<AppState>,
    user: AuthUser,
    Path(room): Path<String>,
    Body(req): Body<MembersReq>,
) -> Result<Json<Value>, ApiError> {
    let call = own_call(&st, &user, &room).await?;
    if super::lobby::names_guests(&req.participants) {
        let members = super::lobby::admit(&st, &user, &call, &req.participants).await?;
        return Ok(Json(
            json!({ "room": room, "members": members, "media": "mesh" }),
        ));
    }
    let ids = invitees(&st, &user, &req.participants).await?;
    let on_sfu = st.store.sfu_room(&room).await?.is_some();
    let max = if on_sfu {
        MAX_GROUP_MEMBERS
    } else {
        st.cfg.limits.mesh_members.min(MAX_GROUP_MEMBERS)
    };
    let members =
        |n: usize, media: &str| Json(json!({ "room": room, "members": n, "media": media }));
    match (st.store.add_group_members(&call, &ids, max).await?, &st.sfu) {
        (Ok(n), _) => Ok(members(n, if on_sfu { "sfu" } else { "mesh" })),
        (Err(_), Some(sfu)) if !on_sfu => {
            let r = sfu
                .create_room(&room, MAX_GROUP_MEMBERS)
                .await
                .map_err(sfu_unavailable)?;
            let added = st
                .store
                .add_group_members(&call, &ids, MAX_GROUP_MEMBERS)
                .await?;
            if added.is_err() || !st.store.add_sfu_room_if_none(&r).await? {
                let _ = sfu.destroy_room(&r).await;
            }
            match added {
                Ok(n) => Ok(members(n, "sfu")),
                Err(_) => Err(full()),
            }
        }
        (Err(_), _) if on_sfu => Err(full()),
        (Err(max), _) => Err(too_many(max)),
    }
}
