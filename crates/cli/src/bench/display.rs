//! `simu bench display`: what the desktop's frame server spends per picture before it goes to
//! the web view, for each way of sending it, against a plain copy of the same picture (the least
//! any path must do) measured in the same run.

use clap::Args;
use media::pattern::TestPattern;
use media::VideoFrame;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct DisplayArgs {
    /// Source picture size (the remote video), WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720")]
    source: String,
    /// Size the remote video occupies on screen, WIDTHxHEIGHT (device pixels).
    #[arg(long, default_value = "1100x619")]
    shown: String,
    /// Size of the local preview on screen.
    #[arg(long, default_value = "242x136")]
    preview: String,
    /// Seconds to spend on each path.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Row {
    path: &'static str,
    out: String,
    ms_per_frame: f64,
    core_percent_at_30fps: f64,
    vs_copy: f64,
}

fn size(s: &str) -> anyhow::Result<(usize, usize)> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| anyhow::anyhow!("expected WIDTHxHEIGHT, got {s:?}"))?;
    Ok((w.trim().parse()?, h.trim().parse()?))
}

/// Mean time of `f` over about `seconds`, cycling through a few different pictures.
fn time(frames: &[VideoFrame], seconds: f64, mut f: impl FnMut(&VideoFrame) -> usize) -> f64 {
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < budget || n < 5 {
        black_box(f(&frames[n % frames.len()]));
        n += 1;
    }
    start.elapsed().as_secs_f64() * 1000.0 / n as f64
}

pub fn run(a: DisplayArgs) -> anyhow::Result<i32> {
    let (sw, sh) = size(&a.source)?;
    let (rw, rh) = size(&a.shown)?;
    let (pw, ph) = size(&a.preview)?;
    let mut pattern = TestPattern::new(sw, sh);
    let frames: Vec<VideoFrame> = (0..8).map(|i| pattern.frame_at(i * 33_333)).collect();
    let copy = time(&frames, a.seconds, |f| f.data.clone().len());
    let paths: Vec<(&'static str, String, f64)> = vec![
        ("copy I420 (reference)", format!("{sw}x{sh}"), copy),
        (
            "remote RGBA at shown size",
            format!("{rw}x{rh}"),
            time(&frames, a.seconds, |f| {
                media::rgba::to_rgba(f, rw, rh).len()
            }),
        ),
        (
            "remote RGBA at source size",
            format!("{sw}x{sh}"),
            time(&frames, a.seconds, |f| {
                media::rgba::to_rgba(f, sw, sh).len()
            }),
        ),
        (
            "preview I420 shrunk",
            format!("{pw}x{ph}"),
            time(&frames, a.seconds, |f| {
                media::scale::resize(f, pw, ph).data.len()
            }),
        ),
        (
            "preview RGBA",
            format!("{pw}x{ph}"),
            time(&frames, a.seconds, |f| {
                media::rgba::to_rgba(f, pw, ph).len()
            }),
        ),
    ];
    let rows: Vec<Row> = paths
        .into_iter()
        .map(|(path, out, ms)| Row {
            path,
            out,
            ms_per_frame: ms,
            core_percent_at_30fps: ms * 30.0 / 10.0,
            vs_copy: ms / copy,
        })
        .collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<28} {:>10} {:>10} {:>12} {:>8}",
            "path", "out", "ms/frame", "% core@30", "x copy"
        );
        for r in &rows {
            println!(
                "{:<28} {:>10} {:>10.3} {:>12.1} {:>8.1}",
                r.path, r.out, r.ms_per_frame, r.core_percent_at_30fps, r.vs_copy
            );
        }
    }
    Ok(0)
}
