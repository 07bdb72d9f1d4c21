//! CPU time and memory of a set of process trees, read from /proc on a sampling thread, so the
//! bench can charge each side exactly for the seconds it measured.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Linux reports utime/stime in USER_HZ, which is 100 on every architecture Simu builds for.
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading: when (Unix ms), CPU seconds used so far, proportional memory (PSS) in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub at_ms: i64,
    pub cpu_s: f64,
    pub pss_bytes: u64,
}

/// Samples the trees under `roots` every `every` until dropped.
pub struct Sampler {
    readings: Arc<Mutex<Vec<Reading>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Sampler {
    pub fn start(roots: Vec<u32>, every: Duration) -> Self {
        let readings = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (readings.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("bench-sampler".into())
            .spawn(move || {
                // CPU of processes that exit is kept, so the total never goes backwards.
                let mut last_cpu: HashMap<u32, f64> = HashMap::new();
                let mut n = 0u64;
                let mut pss = 0;
                while !s.load(Ordering::Relaxed) {
                    let pids = tree(&roots);
                    for &p in &pids {
                        if let Some(c) = cpu_seconds(p) {
                            last_cpu.insert(p, c);
                        }
                    }
                    // smaps_rollup walks page tables: read it every 5th sample only.
                    if n.is_multiple_of(5) {
                        pss = pids.iter().filter_map(|&p| pss_bytes(p)).sum();
                    }
                    n += 1;
                    let reading = Reading {
                        at_ms: now_ms(),
                        cpu_s: last_cpu.values().sum(),
                        pss_bytes: pss,
                    };
                    r.lock().unwrap_or_else(|p| p.into_inner()).push(reading);
                    std::thread::sleep(every);
                }
            })
            .expect("spawn sampler thread");
        Self {
            readings,
            stop,
            thread: Some(thread),
        }
    }

    /// CPU seconds used between two Unix-ms instants (nearest readings).
    pub fn cpu_between(&self, from_ms: i64, to_ms: i64) -> f64 {
        let r = self.readings.lock().unwrap_or_else(|p| p.into_inner());
        let at = |t: i64| {
            r.iter()
                .min_by_key(|x| (x.at_ms - t).abs())
                .map(|x| x.cpu_s)
                .unwrap_or(0.0)
        };
        (at(to_ms) - at(from_ms)).max(0.0)
    }

    /// Total PSS at the reading nearest `at_ms`.
    pub fn pss_at(&self, at_ms: i64) -> u64 {
        self.readings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .min_by_key(|x| (x.at_ms - at_ms).abs())
            .map_or(0, |x| x.pss_bytes)
    }

    /// Highest total PSS seen.
    pub fn peak_pss(&self) -> u64 {
        self.readings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|x| x.pss_bytes)
            .max()
            .unwrap_or(0)
    }
}

impl Sampler {
    /// Ends sampling; the readings stay.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `roots` and all their descendants that are alive now.
fn tree(roots: &[u32]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) =
                stat_fields(pid).and_then(|f| f.get(1).and_then(|s| s.parse::<u32>().ok()))
            {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut seen = HashSet::new();
    let mut stack: Vec<u32> = roots.to_vec();
    while let Some(p) = stack.pop() {
        if seen.insert(p) {
            stack.extend(children.get(&p).into_iter().flatten().copied());
        }
    }
    seen.into_iter()
        .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        .collect()
}

/// The fields of /proc/PID/stat after the command name: state, ppid, ... (field 3 onwards).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn cpu_seconds(pid: u32) -> Option<f64> {
    let f = stat_fields(pid)?;
    // utime and stime are fields 14 and 15 of stat; index 11 and 12 after the name.
    let u: f64 = f.get(11)?.parse().ok()?;
    let s: f64 = f.get(12)?.parse().ok()?;
    Some((u + s) / TICKS_PER_SECOND)
}

fn pss_bytes(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Pss:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_cpu_and_memory() {
        let me = std::process::id();
        assert!(tree(&[me]).contains(&me));
        let before = cpu_seconds(me).expect("own stat");
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_seconds(me).unwrap_or(0.0) < before + 0.05
            && spin.elapsed() < Duration::from_secs(20)
        {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        assert!(
            cpu_seconds(me).is_some_and(|c| c >= before + 0.05),
            "a busy loop shows as CPU time"
        );
        assert!(pss_bytes(me).is_some_and(|b| b > 1 << 20));
    }
}
