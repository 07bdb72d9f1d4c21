//! Desktop notification texts, in the UI's language: the UI sends them from its catalogue at
//! start, so there is one set of translations; English until it has.

use crate::error::AppError;
use serde::Deserialize;
use std::sync::Mutex;
use tauri::State;

/// What the shell's notifications say.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NoticeTexts {
    /// Title of a missed-call notification.
    pub missed_title: String,
    /// Body of a missed-call notification, before the caller's name.
    pub missed_from: String,
    /// Title of an incoming video call.
    pub incoming_video: String,
    /// Title of an incoming audio call.
    pub incoming_audio: String,
}

impl Default for NoticeTexts {
    fn default() -> Self {
        Self {
            missed_title: "Missed call".into(),
            missed_from: "Missed call from".into(),
            incoming_video: "Incoming video call".into(),
            incoming_audio: "Incoming audio call".into(),
        }
    }
}

/// Longest text accepted per field (a notification line, not a document).
const MAX_TEXT: usize = 200;

/// The texts in use.
#[derive(Default)]
pub struct Notices(Mutex<NoticeTexts>);

impl Notices {
    pub fn texts(&self) -> NoticeTexts {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[tauri::command]
pub fn set_notice_texts(notices: State<'_, Notices>, texts: NoticeTexts) -> Result<(), AppError> {
    let fields = [
        &texts.missed_title,
        &texts.missed_from,
        &texts.incoming_video,
        &texts.incoming_audio,
    ];
    if fields
        .iter()
        .any(|f| f.trim().is_empty() || f.len() > MAX_TEXT)
    {
        return Err(AppError::invalid(format!(
            "Notification texts must be 1 to {MAX_TEXT} bytes."
        )));
    }
    *notices.0.lock().unwrap_or_else(|p| p.into_inner()) = texts;
    Ok(())
}
