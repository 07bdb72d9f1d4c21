//! Tauri commands: one per CallManager / REST operation the UI needs.

use crate::core::{Core, SignInReq, SignedIn};
use crate::error::AppError;
use call::Preset;
use nx::rest::{ContactList, HistoryPage, HistoryQuery};
use serde::Serialize;
use std::sync::Arc;
use tauri::{AppHandle, State};

type Res<T> = Result<T, AppError>;

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppInfo {
    profile: String,
    frames_url: String,
    /// Whether pictures should go to a WebGL shader (GPU) or a plain 2D canvas (software GL).
    gpu: bool,
    signed_in: Option<SignedIn>,
}

#[tauri::command]
pub async fn app_info(core: State<'_, Arc<Core>>) -> Res<AppInfo> {
    Ok(AppInfo {
        profile: core.profile.name.clone(),
        frames_url: core.frames_url.clone(),
        gpu: crate::frames::gpu_likely(),
        signed_in: core.signed_in().await,
    })
}

#[tauri::command]
pub async fn resume(app: AppHandle, core: State<'_, Arc<Core>>) -> Res<Option<SignedIn>> {
    core.resume(&app).await
}

#[tauri::command]
pub async fn sign_in(app: AppHandle, core: State<'_, Arc<Core>>, req: SignInReq) -> Res<SignedIn> {
    core.sign_in(&app, req).await
}

#[tauri::command]
pub async fn sign_out(core: State<'_, Arc<Core>>) -> Res<()> {
    core.forget().await;
    Ok(())
}

/// The NX ID a typed address becomes (shown under the dialer field).
#[tauri::command]
pub async fn normalize(core: State<'_, Arc<Core>>, input: String) -> Res<String> {
    let domain = core
        .with_active(|a| a.manager.jid().domain().to_string())
        .await?;
    nx::NxId::normalize(&input, Some(&domain))
        .map(|id| id.to_string())
        .map_err(|e| AppError::invalid(e.to_string()))
}

#[tauri::command]
pub async fn contacts(core: State<'_, Arc<Core>>) -> Res<ContactList> {
    let rest = core.with_active(|a| a.rest.clone()).await?;
    Ok(rest.contacts().await?)
}

/// Saves a contact by number or NX ID, or renames a saved one.
#[tauri::command]
pub async fn save_contact(
    core: State<'_, Arc<Core>>,
    nxid: String,
    name: String,
) -> Res<ContactList> {
    let (rest, domain) = core
        .with_active(|a| (a.rest.clone(), a.manager.jid().domain().to_string()))
        .await?;
    let id =
        nx::NxId::normalize(&nxid, Some(&domain)).map_err(|e| AppError::invalid(e.to_string()))?;
    Ok(rest.add_contact(&id.to_string(), name.trim()).await?)
}

#[tauri::command]
pub async fn remove_contact(core: State<'_, Arc<Core>>, nxid: String) -> Res<ContactList> {
    let rest = core.with_active(|a| a.rest.clone()).await?;
    Ok(rest.delete_contact(&nxid).await?)
}

#[tauri::command]
pub async fn history(core: State<'_, Arc<Core>>, query: HistoryQueryIn) -> Res<HistoryPage> {
    let rest = core.with_active(|a| a.rest.clone()).await?;
    let q = HistoryQuery {
        start_date: query.start_date.filter(|s| !s.is_empty()),
        end_date: query.end_date.filter(|s| !s.is_empty()),
        call_type: query.call_type.filter(|s| !s.is_empty()),
        status: query.status.filter(|s| !s.is_empty()),
        participant: query.participant.filter(|s| !s.is_empty()),
        page: query.page,
        page_size: query.page_size,
    };
    Ok(rest.call_history(&q).await?)
}

#[derive(serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct HistoryQueryIn {
    start_date: Option<String>,
    end_date: Option<String>,
    call_type: Option<String>,
    status: Option<String>,
    participant: Option<String>,
    page: Option<u32>,
    page_size: Option<u32>,
}

async fn manager(core: &Core) -> Res<call::CallManager> {
    core.with_active(|a| a.manager.clone()).await
}

#[tauri::command]
pub async fn place_call(core: State<'_, Arc<Core>>, to: String, video: bool) -> Res<String> {
    manager(&core)
        .await?
        .initiate_call(&to, true, video)
        .await
        .map_err(AppError::from)
}

/// Calls several people at once (one makes a 1:1 call); returns the room.
#[tauri::command]
pub async fn place_group_call(
    core: State<'_, Arc<Core>>,
    participants: Vec<String>,
    video: bool,
) -> Res<String> {
    if participants.is_empty() || participants.len() >= call::MAX_MEMBERS {
        return Err(AppError::invalid(format!(
            "A call takes 1 to {} other people.",
            call::MAX_MEMBERS - 1
        )));
    }
    let to: Vec<&str> = participants.iter().map(String::as_str).collect();
    manager(&core)
        .await?
        .initiate_group_call(&to, true, video)
        .await
        .map_err(AppError::from)
}

/// Invites one more person into the call under way.
#[tauri::command]
pub async fn add_to_call(core: State<'_, Arc<Core>>, to: String) -> Res<()> {
    manager(&core)
        .await?
        .invite(&to)
        .await
        .map_err(AppError::from)
}

/// Lets a guest knocking through a call link into the call under way (`admit`), or turns it away.
#[tauri::command]
pub async fn answer_knock(core: State<'_, Arc<Core>>, guest: String, admit: bool) -> Res<()> {
    manager(&core)
        .await?
        .answer_knock(&guest, admit)
        .await
        .map_err(AppError::from)
}

/// One member of the call under way, as a tile shows it.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MemberLevel {
    nx_id: String,
    /// The loudness of what arrives from them now (dBFS; -100 when silent).
    level_dbfs: f32,
    /// Video frames decoded from them so far.
    frames: u64,
}

/// How loud each member of the call is now (for the active speaker) and whether their video
/// moves.
#[tauri::command]
pub async fn member_levels(core: State<'_, Arc<Core>>) -> Res<Vec<MemberLevel>> {
    let m = manager(&core).await?;
    Ok(m.participants()
        .iter()
        .map(|p| MemberLevel {
            nx_id: p.nx_id.to_string(),
            level_dbfs: p.counters.audio_level_dbfs(),
            frames: p
                .counters
                .video_frames
                .load(std::sync::atomic::Ordering::Relaxed),
        })
        .collect())
}

#[tauri::command]
pub async fn accept_call(core: State<'_, Arc<Core>>, video: bool) -> Res<()> {
    manager(&core)
        .await?
        .accept_call(true, video)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn decline_call(core: State<'_, Arc<Core>>) -> Res<()> {
    manager(&core)
        .await?
        .reject_call()
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn hang_up(core: State<'_, Arc<Core>>) -> Res<()> {
    manager(&core)
        .await?
        .end_call()
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn set_muted(core: State<'_, Arc<Core>>, muted: bool) -> Res<()> {
    manager(&core)
        .await?
        .set_audio_enabled(!muted)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn set_camera(core: State<'_, Arc<Core>>, on: bool) -> Res<()> {
    manager(&core)
        .await?
        .set_video_enabled(on)
        .await
        .map_err(AppError::from)
}

/// Turns the camera on in an audio call (the call becomes a video call).
#[tauri::command]
pub async fn start_video(core: State<'_, Arc<Core>>) -> Res<()> {
    manager(&core)
        .await?
        .start_video()
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn switch_camera(core: State<'_, Arc<Core>>) -> Res<String> {
    manager(&core)
        .await?
        .switch_camera()
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn set_quality(core: State<'_, Arc<Core>>, preset: Preset) -> Res<call::Quality> {
    let p = preset;
    manager(&core)
        .await?
        .set_quality_preset(p)
        .await
        .map_err(AppError::from)
}

#[tauri::command]
pub async fn set_bitrates(
    core: State<'_, Arc<Core>>,
    video_kbps: Option<u32>,
    audio_kbps: Option<u32>,
) -> Res<call::Quality> {
    let m = manager(&core).await?;
    let mut q = None;
    if let Some(v) = video_kbps {
        q = Some(m.set_video_bitrate(v).await?);
    }
    if let Some(a) = audio_kbps {
        q = Some(m.set_audio_bitrate(a).await?);
    }
    q.ok_or_else(|| AppError::invalid("Nothing to change."))
}

#[tauri::command]
pub async fn start_stats(core: State<'_, Arc<Core>>) -> Res<()> {
    manager(&core)
        .await?
        .start_stats_collection(std::time::Duration::from_secs(2))
        .await
        .map_err(AppError::from)
}
