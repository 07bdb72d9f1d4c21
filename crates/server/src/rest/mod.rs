//! The NX REST API (protocol.md §2) under `/api/v1.0`.

mod auth;
mod calls;
mod contacts;
mod extract;
mod group;
mod history;
mod identity;
mod links;
mod lobby;

pub use auth::RESERVED;
pub use extract::{constant_time_eq, ApiError, AuthUser};
pub use identity::identity_proof;

use crate::AppState;
use axum::routing::{delete, get, post};
use axum::Router;

/// All REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/nexacon-auth/register/", post(auth::register))
        .route("/nexacon-auth/login/", post(auth::login))
        .route("/nexacon-auth/token/refresh/", post(auth::refresh_access))
        .route("/nexacon-auth/logout/", post(auth::logout))
        .route("/nexacon-auth/password/", post(auth::change_password))
        .route("/nexacon-auth/nxm-token/", post(auth::nx_token))
        .route(
            "/nexacon-auth/nxm-token/refresh/",
            post(auth::nx_token_refresh),
        )
        .route("/nx/call/", post(calls::start_call))
        .route("/nx/group-call/", post(group::start_group_call))
        .route(
            "/nx/group-call/{room}/members/",
            post(group::add_group_members),
        )
        .route("/nx/group-call/{room}/sfu/", get(group::sfu_grant))
        .route("/nx/webrtc/call/", post(calls::start_p2p_call))
        .route("/nx/call-url/", post(calls::call_url))
        .route("/nx/call/decline/", post(calls::decline))
        .route("/nx/webrtc/credentials/", get(calls::webrtc_credentials))
        .route("/nx/call-analytics/", post(calls::analytics))
        .route("/nx/call-history/", get(history::list))
        .route("/nx/contacts/", get(contacts::list).post(contacts::add))
        .route("/nx/contacts/{nxid}/", delete(contacts::remove))
        .route("/nx/presence/", get(contacts::presence))
        .route("/simu/identity/", get(identity::identity))
        .route(
            "/simu/links/",
            get(links::list_links).post(links::create_room_link),
        )
        .route("/simu/links/{room}/", delete(links::revoke_link))
        .route("/simu/link/open", post(links::open_link))
        .route("/simu/link/join", post(links::join_link))
}
