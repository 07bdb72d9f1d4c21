//! Noticing devices come and go: a snapshot of every microphone, speaker and camera, compared
//! with the last one, so the app can refresh its lists (there is no portable hot-plug event).

use super::{list_inputs, list_outputs, AudioDevice};
use crate::camera::{list_cameras, CameraInfo};

/// The devices present at one moment.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeviceSnapshot {
    pub inputs: Vec<AudioDevice>,
    pub outputs: Vec<AudioDevice>,
    pub cameras: Vec<CameraInfo>,
}

impl DeviceSnapshot {
    /// Reads every list (blocking: ALSA and V4L2 probes; call off the async runtime).
    pub fn take() -> Self {
        Self {
            inputs: list_inputs(),
            outputs: list_outputs(),
            cameras: list_cameras(),
        }
    }

    /// Names that appeared and disappeared since `before`, for the log and the user.
    pub fn changes_since(&self, before: &DeviceSnapshot) -> (Vec<String>, Vec<String>) {
        let names = |s: &DeviceSnapshot| -> Vec<String> {
            s.inputs
                .iter()
                .map(|d| format!("microphone {}", d.name))
                .chain(s.outputs.iter().map(|d| format!("speaker {}", d.name)))
                .chain(s.cameras.iter().map(|c| format!("camera {}", c.name)))
                .collect()
        };
        let (now, then) = (names(self), names(before));
        let added = now.iter().filter(|n| !then.contains(n)).cloned().collect();
        let removed = then.iter().filter(|n| !now.contains(n)).cloned().collect();
        (added, removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_what_came_and_went() {
        let mic = |n: &str| AudioDevice {
            id: format!("pulse:{n}"),
            name: n.into(),
            is_default: false,
        };
        let before = DeviceSnapshot {
            inputs: vec![mic("Built-in")],
            outputs: vec![],
            cameras: vec![CameraInfo {
                index: 0,
                name: "USB cam".into(),
            }],
        };
        let after = DeviceSnapshot {
            inputs: vec![mic("Built-in"), mic("Headset")],
            outputs: vec![],
            cameras: vec![],
        };
        assert_ne!(before, after);
        let (added, removed) = after.changes_since(&before);
        assert_eq!(added, vec!["microphone Headset".to_string()]);
        assert_eq!(removed, vec!["camera USB cam".to_string()]);
        assert_eq!(after.changes_since(&after), (vec![], vec![]));
    }
}
