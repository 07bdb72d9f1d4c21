//! GET `/simu/identity/?nonce=`: proves that this server holds the install's tenant secret,
//! so a client on the same machine can tell its own embedded server from a process of
//! another user squatting on the port before it sends any secret (Simu extension).

use super::extract::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;

/// `hex(HMAC-SHA256(secret, "simu-identity:" + nonce))`.
pub fn identity_proof(secret: &str, nonce: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(b"simu-identity:");
    mac.update(nonce.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub async fn identity(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let nonce = q.get("nonce").map(String::as_str).unwrap_or_default();
    if nonce.len() < 16 || nonce.len() > 128 || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request("nonce: 16 to 128 hex digits"));
    }
    Ok(Json(
        json!({ "proof": identity_proof(&st.cfg.secret_key, nonce) }),
    ))
}
