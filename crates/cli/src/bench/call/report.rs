//! What each peer (a Simu process or a Chromium tab) reports, and the figures one side of the
//! benchmark adds up from those reports and the process sampler.

use super::procs::Sampler;
use serde::{Deserialize, Serialize};

/// One line from a peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Report {
    Online,
    /// Callee: accept to the first decoded remote frame.
    Setup {
        ms: f64,
    },
    /// A measured stretch of one call as this peer received it.
    Window {
        role: String,
        start_ms: i64,
        end_ms: i64,
        fps: f64,
        bitrate_bps: f64,
        width: u32,
        height: u32,
        g2g_ms: Vec<f64>,
        codec: String,
    },
    Error {
        message: String,
    },
    Done,
}

/// One side's figures (Simu's two processes, or Chromium's two tabs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub name: String,
    pub codec: String,
    pub calls: usize,
    /// CPU seconds of both peers over the caller's measured windows.
    pub cpu_seconds: f64,
    pub measured_seconds: f64,
    /// CPU as percent of one core.
    pub cpu_percent: f64,
    pub peak_memory_mib: f64,
    pub setup_ms_median: Option<f64>,
    pub g2g_ms_median: Option<f64>,
    pub g2g_ms_p95: Option<f64>,
    pub fps: f64,
    pub video_kbps: f64,
    pub resolution: String,
}

fn percentile(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(s[((s.len() - 1) as f64 * p).round() as usize])
}

impl Summary {
    pub fn from_reports(name: &str, reports: &[Report], sampler: &Sampler) -> Self {
        let mut s = Summary {
            name: name.into(),
            ..Default::default()
        };
        let mut setups = Vec::new();
        let mut g2g = Vec::new();
        let (mut fps, mut kbps, mut n) = (0.0, 0.0, 0.0);
        for r in reports {
            match r {
                Report::Setup { ms } => setups.push(*ms),
                Report::Window {
                    role,
                    start_ms,
                    end_ms,
                    fps: f,
                    bitrate_bps,
                    width,
                    height,
                    g2g_ms,
                    codec,
                } => {
                    if role == "caller" {
                        s.calls += 1;
                        s.cpu_seconds += sampler.cpu_between(*start_ms, *end_ms);
                        s.measured_seconds += (end_ms - start_ms) as f64 / 1000.0;
                    }
                    g2g.extend(
                        g2g_ms
                            .iter()
                            .copied()
                            .filter(|d| d.is_finite() && *d >= 0.0),
                    );
                    fps += f;
                    kbps += bitrate_bps / 1000.0;
                    n += 1.0;
                    s.resolution = format!("{width}x{height}");
                    // Simu names "H264/opus", Chromium "video/H264": keep the video codec.
                    let codec = codec.trim_start_matches("video/");
                    s.codec = codec.split('/').next().unwrap_or(codec).to_string();
                }
                _ => {}
            }
        }
        if n > 0.0 {
            s.fps = fps / n;
            s.video_kbps = kbps / n;
        }
        if s.measured_seconds > 0.0 {
            s.cpu_percent = 100.0 * s.cpu_seconds / s.measured_seconds;
        }
        s.peak_memory_mib = sampler.peak_pss() as f64 / (1024.0 * 1024.0);
        s.setup_ms_median = percentile(&setups, 0.5);
        s.g2g_ms_median = percentile(&g2g, 0.5);
        s.g2g_ms_p95 = percentile(&g2g, 0.95);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_from_the_sorted_values() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.95), Some(5.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn reports_read_back_from_json_lines() {
        let line = r#"{"kind":"window","role":"caller","start_ms":1,"end_ms":2,"fps":30.0,"bitrate_bps":1e6,"width":1280,"height":720,"g2g_ms":[12.5],"codec":"video/H264"}"#;
        assert!(matches!(
            serde_json::from_str::<Report>(line),
            Ok(Report::Window { width: 1280, .. })
        ));
        assert!(serde_json::from_str::<Report>(r#"{"kind":"teleport"}"#).is_err());
    }
}
