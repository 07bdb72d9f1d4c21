//! Quality presets (protocol.md §6) and the settings the encoders follow.

use serde::{Deserialize, Serialize};

/// What the encoders aim for.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    pub audio_kbps: u32,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Poor,
    #[default]
    Medium,
    Good,
}

impl Preset {
    pub fn quality(self) -> Quality {
        match self {
            Preset::Poor => Quality {
                width: 640,
                height: 480,
                fps: 15,
                video_kbps: 500,
                audio_kbps: 32,
            },
            Preset::Medium => Quality {
                width: 1280,
                height: 720,
                fps: 30,
                video_kbps: 1000,
                audio_kbps: 64,
            },
            Preset::Good => Quality {
                width: 1920,
                height: 1080,
                fps: 30,
                video_kbps: 2000,
                audio_kbps: 128,
            },
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "poor" | "low" => Ok(Preset::Poor),
            "medium" | "default" => Ok(Preset::Medium),
            "good" | "high" => Ok(Preset::Good),
            o => Err(format!("unknown quality {o:?} (poor, medium, good)")),
        }
    }
}

impl Default for Quality {
    fn default() -> Self {
        Preset::Medium.quality()
    }
}

/// Why a requested setting was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityError {
    #[error("video size {0}x{1} out of range (160x120 to 3840x2160)")]
    Size(u32, u32),
    #[error("frame rate {0} out of range (1 to 60)")]
    Fps(u32),
    #[error("bitrate {0} kbps out of range ({1} to {2})")]
    Bitrate(u32, u32, u32),
}

impl Quality {
    pub fn with_video(self, width: u32, height: u32, fps: u32) -> Result<Self, QualityError> {
        if !(160..=3840).contains(&width) || !(120..=2160).contains(&height) {
            return Err(QualityError::Size(width, height));
        }
        if !(1..=60).contains(&fps) {
            return Err(QualityError::Fps(fps));
        }
        Ok(Self {
            width: width & !1,
            height: height & !1,
            fps,
            ..self
        })
    }

    pub fn with_video_kbps(self, kbps: u32) -> Result<Self, QualityError> {
        if !(50..=20_000).contains(&kbps) {
            return Err(QualityError::Bitrate(kbps, 50, 20_000));
        }
        Ok(Self {
            video_kbps: kbps,
            ..self
        })
    }

    pub fn with_audio_kbps(self, kbps: u32) -> Result<Self, QualityError> {
        if !(6..=510).contains(&kbps) {
            return Err(QualityError::Bitrate(kbps, 6, 510));
        }
        Ok(Self {
            audio_kbps: kbps,
            ..self
        })
    }
}

/// What the video encoder should do within the user's `q` given the bandwidth estimate (bps,
/// audio included): the bitrate follows the estimate (never above the user's cap), and the
/// picture shrinks when the bitrate cannot carry it (half size under 50% of the cap, a quarter
/// and at most 15 fps under 20%), so frames keep moving on a thin link.
pub fn adapt(q: Quality, estimate_bps: Option<u64>) -> Quality {
    let Some(bps) = estimate_bps else { return q };
    let avail = (bps / 1000).saturating_sub(u64::from(q.audio_kbps)).max(50) as u32;
    let kbps = q.video_kbps.min(avail);
    let even = |v: u32| (v & !1).max(2);
    let (w, h, fps) = if kbps * 5 < q.video_kbps {
        (even(q.width / 4), even(q.height / 4), q.fps.min(15))
    } else if kbps * 2 < q.video_kbps {
        (even(q.width / 2), even(q.height / 2), q.fps)
    } else {
        (q.width, q.height, q.fps)
    };
    Quality {
        width: w,
        height: h,
        fps,
        video_kbps: kbps,
        audio_kbps: q.audio_kbps,
    }
}

/// The most a mesh call's encoder sends each member when there are several: one copy per
/// receiver leaves the uplink, so the picture shrinks to fit them all.
pub const MESH_MAX_WIDTH: u32 = 640;
pub const MESH_MAX_HEIGHT: u32 = 360;
/// The least video rate a mesh copy is given, whatever the user's cap.
pub const MESH_MIN_KBPS: u32 = 250;

/// What the one encoder of a mesh call aims for with `receivers` members to send to: the
/// user's `q` for one; for more, the video rate split between them (at least
/// `MESH_MIN_KBPS`, never above the user's cap) and the picture at most 640x360, aspect kept.
pub fn for_receivers(q: Quality, receivers: u32) -> Quality {
    if receivers <= 1 {
        return q;
    }
    Quality {
        video_kbps: (q.video_kbps / receivers)
            .max(MESH_MIN_KBPS)
            .min(q.video_kbps),
        ..grid_tile(q)
    }
}

/// `q`'s picture shrunk to at most 640x360, aspect kept: what a grid tile shows.
fn grid_tile(q: Quality) -> Quality {
    let even = |v: u32| (v & !1).max(2);
    let shrink = f64::min(
        1.0,
        f64::min(
            f64::from(MESH_MAX_WIDTH) / f64::from(q.width.max(1)),
            f64::from(MESH_MAX_HEIGHT) / f64::from(q.height.max(1)),
        ),
    );
    Quality {
        width: even((f64::from(q.width) * shrink).round() as u32),
        height: even((f64::from(q.height) * shrink).round() as u32),
        ..q
    }
}

/// What the encoder of a conference call aims for with `receivers` members watching: one
/// upload whatever their number, so the rate is not split; with two or more the picture shows
/// in a grid tile, so it shrinks as in mesh, and the rate with it (by the square root of the
/// pixels: bits grow slower than the picture), never under `MESH_MIN_KBPS`.
pub fn for_conference(q: Quality, receivers: u32) -> Quality {
    if receivers <= 1 {
        return q;
    }
    let small = grid_tile(q);
    let pixels = f64::from(small.width * small.height) / f64::from((q.width * q.height).max(1));
    Quality {
        video_kbps: ((f64::from(q.video_kbps) * pixels.sqrt()).round() as u32)
            .max(MESH_MIN_KBPS)
            .min(q.video_kbps),
        ..small
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conference_encoder_uploads_once_for_a_grid_tile() {
        let hd = Preset::Good.quality();
        assert_eq!(
            for_conference(hd, 1),
            hd,
            "one watcher: the user's settings"
        );
        let grid = for_conference(hd, 5);
        assert!(grid.width <= 640 && grid.height <= 360, "{grid:?}");
        assert_eq!(
            for_conference(hd, 2),
            grid,
            "the rate is not split between watchers"
        );
        let quarter = f64::from(grid.width * grid.height) / f64::from(hd.width * hd.height);
        assert_eq!(
            grid.video_kbps,
            ((f64::from(hd.video_kbps) * quarter.sqrt()).round() as u32).max(MESH_MIN_KBPS)
        );
        let poor = Preset::Poor.quality();
        assert!(
            for_conference(poor, 8).video_kbps <= poor.video_kbps,
            "never above the cap"
        );
    }

    #[test]
    fn a_mesh_encoder_shrinks_to_fit_its_receivers_within_the_users_caps() {
        let hd = Preset::Good.quality();
        assert_eq!(
            for_receivers(hd, 1),
            hd,
            "one receiver: the user's settings"
        );
        let three = for_receivers(hd, 3);
        assert!(three.width <= 640 && three.height <= 360, "{three:?}");
        assert_eq!(
            three.width * hd.height,
            three.height * hd.width,
            "aspect kept"
        );
        assert_eq!(three.video_kbps, (hd.video_kbps / 3).max(MESH_MIN_KBPS));
        assert_eq!(three.fps, hd.fps);
        let poor = Preset::Poor.quality();
        let many = for_receivers(poor, 16);
        assert_eq!(
            many.video_kbps,
            MESH_MIN_KBPS.min(poor.video_kbps),
            "never below the floor"
        );
        assert!(
            many.video_kbps <= poor.video_kbps,
            "never above the user's cap"
        );
    }

    #[test]
    fn presets_match_protocol_section_6() {
        assert_eq!(
            Preset::Poor.quality(),
            Quality {
                width: 640,
                height: 480,
                fps: 15,
                video_kbps: 500,
                audio_kbps: 32
            }
        );
        assert_eq!(
            Quality::default(),
            Quality {
                width: 1280,
                height: 720,
                fps: 30,
                video_kbps: 1000,
                audio_kbps: 64
            }
        );
        assert_eq!(Preset::Good.quality().video_kbps, 2000);
        assert_eq!("good".parse::<Preset>(), Ok(Preset::Good));
    }

    #[test]
    fn refuses_absurd_values() {
        let q = Quality::default();
        assert!(q.with_video(10, 10, 30).is_err());
        assert!(q.with_video(640, 480, 0).is_err());
        assert!(q.with_video_kbps(0).is_err());
        assert!(q.with_audio_kbps(1000).is_err());
        assert_eq!(
            q.with_video(641, 481, 15).map(|q| (q.width, q.height)),
            Ok((640, 480))
        );
    }

    #[test]
    fn the_estimate_steers_bitrate_then_size_within_the_users_caps() {
        let q = Preset::Medium.quality();
        assert_eq!(adapt(q, None), q, "no estimate yet: the preset");
        assert_eq!(
            adapt(q, Some(5_000_000)),
            q,
            "plenty: the preset, never more"
        );
        let a = adapt(q, Some(800_000));
        assert_eq!(
            (a.video_kbps, a.width, a.height),
            (736, 1280, 720),
            "a little short: lower bitrate, same size"
        );
        let b = adapt(q, Some(300_000));
        assert_eq!(
            (b.video_kbps, b.width, b.height, b.fps),
            (236, 640, 360, 30),
            "300 kbit/s: half size"
        );
        let c = adapt(q, Some(150_000));
        assert_eq!(
            (c.video_kbps, c.width, c.height, c.fps),
            (86, 320, 180, 15),
            "very thin: quarter size, 15 fps"
        );
        assert_eq!(
            adapt(q, Some(10_000)).video_kbps,
            50,
            "a floor keeps frames coming"
        );
    }
}
