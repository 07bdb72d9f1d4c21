//! GET `/nx/call-history/`: the signed-in user's calls with filters and DRF-style pages.

use super::auth::user_id;
use super::calls::{ANALYTICS_STATUSES, CALL_TYPES};
use super::extract::{ApiError, AuthUser};
use crate::store::HistoryFilter;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

const MAX_PAGE_SIZE: i64 = 100;

fn date(v: Option<&String>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(v, &fmt)
        .map_err(|_| ApiError::bad_request(format!("{name}: expected YYYY-MM-DD")))?;
    Ok(Some(v.clone()))
}

fn number(v: Option<&String>, name: &str, default: i64, max: i64) -> Result<i64, ApiError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "{name}: a whole number from 1 to {max}"
            ))),
        },
    }
}

pub async fn list(
    State(st): State<AppState>,
    user: AuthUser,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = |k: &str| params.get(k);
    let call_type = p("call_type").filter(|v| !v.is_empty()).cloned();
    if let Some(t) = &call_type {
        if !CALL_TYPES.contains(&t.as_str()) {
            return Err(ApiError::bad_request(format!(
                "call_type: must be one of {}",
                CALL_TYPES.join(", ")
            )));
        }
    }
    let status = p("status").filter(|v| !v.is_empty()).cloned();
    if let Some(s) = &status {
        if !ANALYTICS_STATUSES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!(
                "status: must be one of {}",
                ANALYTICS_STATUSES.join(", ")
            )));
        }
    }
    let participant = match p("participant").filter(|v| !v.is_empty()) {
        Some(v) => Some(
            user_id(&st, v)
                .map_err(|e| ApiError::bad_request(format!("participant: {}", e.detail)))?
                .to_string(),
        ),
        None => None,
    };
    let page = number(p("page"), "page", 1, 1_000_000)?;
    let page_size = number(p("page_size"), "page_size", 20, MAX_PAGE_SIZE)?;
    let filter = HistoryFilter {
        start_date: date(p("start_date"), "start_date")?,
        end_date: date(p("end_date"), "end_date")?,
        call_type,
        status,
        participant,
        offset: (page - 1) * page_size,
        limit: page_size,
    };
    let (count, rows) = st.store.history(&user.jid.to_string(), &filter).await?;
    let link = |n: i64| {
        let mut q: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        q.sort();
        q.push(("page".into(), n.to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        format!("{}/api/v1.0/nx/call-history/?{qs}", st.public_url)
    };
    let next = (page * page_size < count).then(|| link(page + 1));
    let previous = (page > 1).then(|| link(page - 1));
    Ok(Json(
        json!({ "count": count, "next": next, "previous": previous, "results": rows }),
    ))
}
