//! Cameras through nokhwa (Video4Linux): listing, and a source that captures on its own
//! thread and hands the video thread I420 pictures. With no camera, calls use the synthetic
//! pattern and say so.

pub mod convert;
mod source;

pub use source::CameraSource;

use nokhwa::utils::{ApiBackend, CameraIndex, RequestedFormat, RequestedFormatType};

/// A camera the user can choose.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CameraInfo {
    /// The V4L2 device number (`/dev/videoN`).
    pub index: u32,
    pub name: String,
}

/// The cameras present now (empty when there are none or V4L2 is unavailable).
pub fn list_cameras() -> Vec<CameraInfo> {
    match nokhwa::query(ApiBackend::Video4Linux) {
        Ok(list) => list
            .into_iter()
            .filter_map(|c| match c.index() {
                CameraIndex::Index(i) => Some(CameraInfo {
                    index: *i,
                    name: c.human_name(),
                }),
                CameraIndex::String(_) => None,
            })
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "no camera list");
            Vec::new()
        }
    }
}

/// What camera `index` can deliver ("1280x720 MJPEG 30 fps", ...). Opens the device briefly, so
/// it is asked for when the user looks (Settings), never by the hot-plug watcher.
pub fn formats(index: u32) -> Result<Vec<String>, String> {
    let request = RequestedFormat::with_formats(RequestedFormatType::None, &source::FORMATS);
    let mut cam =
        nokhwa::Camera::new(CameraIndex::Index(index), request).map_err(|e| e.to_string())?;
    let mut list: Vec<String> = cam
        .compatible_camera_formats()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|f| {
            format!(
                "{}x{} {} {} fps",
                f.width(),
                f.height(),
                f.format(),
                f.frame_rate()
            )
        })
        .collect();
    list.sort();
    list.dedup();
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_without_cameras_is_empty_not_an_error() {
        // CI machines have no /dev/video*; a machine with cameras lists them by name.
        for c in list_cameras() {
            assert!(!c.name.is_empty());
        }
    }

    #[test]
    fn formats_of_a_missing_camera_are_an_error() {
        assert!(formats(999).is_err());
    }

    #[test]
    fn opening_a_missing_camera_reports_it_gone() {
        use crate::source::{SourceError, VideoSource};
        let mut cam = CameraSource::open(
            CameraInfo {
                index: 999,
                name: "ghost".into(),
            },
            1280,
            720,
            30,
        );
        assert!(matches!(cam.next_frame(), Err(SourceError::Gone(_))));
    }
}
