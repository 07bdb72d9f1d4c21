//! Call links from the app (protocol.md §2.2): a contact's per-call link, the user's reusable
//! room links (made, listed, revoked). The page that opens them is simu-server's.

use crate::core::Core;
use crate::error::AppError;
use nx::rest::CallLinkInfo;
use std::sync::Arc;
use tauri::State;

type Res<T> = Result<T, AppError>;

/// A link for `to` that opens a call with this user in any browser ("Copy call link").
#[tauri::command]
pub async fn contact_call_link(core: State<'_, Arc<Core>>, to: String, video: bool) -> Res<String> {
    let (rest, domain) = core
        .with_active(|a| (a.rest.clone(), a.manager.jid().domain().to_string()))
        .await?;
    let id =
        nx::NxId::normalize(&to, Some(&domain)).map_err(|e| AppError::invalid(e.to_string()))?;
    let kind = if video { "video" } else { "audio" };
    Ok(rest
        .call_url(&id.to_string(), kind, None, None)
        .await?
        .call_url)
}

/// A new reusable room link: whoever opens it knocks, and this user admits or denies.
#[tauri::command]
pub async fn create_room_link(
    core: State<'_, Arc<Core>>,
    expires_in: Option<u64>,
) -> Res<CallLinkInfo> {
    let rest = core.with_active(|a| a.rest.clone()).await?;
    Ok(rest.create_room_link(None, expires_in).await?)
}

/// The user's live links, newest first.
#[tauri::command]
pub async fn call_links(core: State<'_, Arc<Core>>) -> Res<Vec<CallLinkInfo>> {
    let rest = core.with_active(|a| a.rest.clone()).await?;
    Ok(rest.links().await?)
}

/// Revokes a link; its guests are cut off.
#[tauri::command]
pub async fn revoke_call_link(core: State<'_, Arc<Core>>, room: String) -> Res<Vec<CallLinkInfo>> {
    let rest = core.with_active(|a| a.rest.clone()).await?;
    rest.revoke_link(&room).await?;
    Ok(rest.links().await?)
}
