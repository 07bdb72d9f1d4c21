//! Media threads: capture + encode once per call (fanned out to every leg), decode for each
//! remote track. They run off the async runtime and talk to it through bounded queues that
//! drop stale frames.

use crate::fanout::Fanout;
use crate::quality::Quality;
use bytes::Bytes;
use media::codec::{VideoCodec, VideoDecoder, VideoEncodeSettings, VideoEncoder};
use media::jitter::{JitterBuffer, Playout};
use media::opus_codec::{OpusDecoder, OpusEncoder};
use media::stamp;
use media::{AudioFrame, AudioSink, AudioSource, FrameSink, VideoFrame, VideoSource};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Live controls shared by the manager and the media threads.
pub struct MediaControl {
    quality: Mutex<Quality>,
    quality_version: AtomicU64,
    /// The congestion controller's estimate (bps, 0 before the first one).
    estimate_bps: AtomicU64,
    /// Members the encoder's output goes to (a mesh call sends one copy to each).
    receivers: AtomicU32,
    pub audio_enabled: AtomicBool,
    pub video_enabled: AtomicBool,
    keyframe: AtomicBool,
    /// A keyframe a receiver cannot start without (a new connection, a new codec): not paced.
    keyframe_now: AtomicBool,
    stop: AtomicBool,
    /// The video codec to encode: the preferred one until negotiation settles it.
    video_codec: AtomicU8,
    /// A camera to switch to at the next frame (same track: no renegotiation).
    next_camera: Mutex<Option<Box<dyn VideoSource>>>,
}

impl MediaControl {
    pub fn new(q: Quality, audio: bool, video: bool) -> Arc<Self> {
        Arc::new(Self {
            quality: Mutex::new(q),
            quality_version: AtomicU64::new(0),
            estimate_bps: AtomicU64::new(0),
            receivers: AtomicU32::new(1),
            audio_enabled: AtomicBool::new(audio),
            video_enabled: AtomicBool::new(video),
            keyframe: AtomicBool::new(true),
            keyframe_now: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            video_codec: AtomicU8::new(0),
            next_camera: Mutex::new(None),
        })
    }

    /// Hands the video thread another camera; it switches at its next frame.
    pub fn replace_camera(&self, source: Box<dyn VideoSource>) {
        *self.next_camera.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    fn take_new_camera(&self) -> Option<Box<dyn VideoSource>> {
        self.next_camera
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Switches the encoder to `c` (from its next frame, starting with a keyframe).
    pub fn set_video_codec(&self, c: VideoCodec) {
        let v = VideoCodec::ALL
            .iter()
            .position(|x| *x == c)
            .map_or(0, |i| i as u8 + 1);
        self.video_codec.store(v, Ordering::Release);
    }

    pub fn video_codec(&self) -> Option<VideoCodec> {
        match self.video_codec.load(Ordering::Acquire) {
            0 => None,
            v => VideoCodec::ALL.get(usize::from(v) - 1).copied(),
        }
    }

    pub fn quality(&self) -> Quality {
        *self.quality.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New targets; the encoder threads pick them up at their next frame.
    pub fn set_quality(&self, q: Quality) {
        *self.quality.lock().unwrap_or_else(|p| p.into_inner()) = q;
        self.quality_version.fetch_add(1, Ordering::Release);
    }

    /// What the video encoder aims for now: the user's settings, shared among the receivers,
    /// within the bandwidth estimate.
    pub fn effective_quality(&self) -> Quality {
        let e = self.estimate_bps.load(Ordering::Relaxed);
        let q =
            crate::quality::for_receivers(self.quality(), self.receivers.load(Ordering::Relaxed));
        crate::quality::adapt(q, (e > 0).then_some(e))
    }

    /// How many members the encoder sends to; the encoder follows at its next frame.
    pub fn set_receivers(&self, n: u32) {
        if self.receivers.swap(n.max(1), Ordering::Relaxed) != n.max(1) {
            self.quality_version.fetch_add(1, Ordering::Release);
        }
    }

    /// A new bandwidth estimate; the encoder follows when it changes what it should do by more
    /// than 10% (or the picture size), so small wobbles do not reconfigure it.
    pub fn set_estimate(&self, bps: u64) {
        let before = self.effective_quality();
        let old = self.estimate_bps.swap(bps, Ordering::Relaxed);
        let after = self.effective_quality();
        let cap = self.quality().video_kbps;
        let moved = (after.width, after.height, after.fps)
            != (before.width, before.height, before.fps)
            || after.video_kbps.abs_diff(before.video_kbps) * 10 > before.video_kbps
            // Reaching the user's cap always counts, so a small last step is not left out.
            || (after.video_kbps == cap) != (before.video_kbps == cap);
        if moved {
            self.quality_version.fetch_add(1, Ordering::Release);
        } else if old != 0 {
            self.estimate_bps.store(old, Ordering::Relaxed);
        }
    }

    /// A receiver asks for a keyframe (PLI/FIR, loss): granted at most every 300 ms.
    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    /// The receiver has nothing to decode from yet (the connection or codec is new): the next
    /// frame is a keyframe whatever was sent before.
    pub fn request_keyframe_now(&self) {
        self.keyframe_now.store(true, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What a media thread reports to the session; the call goes on.
#[derive(Debug)]
pub enum MediaTrouble {
    /// A device or codec failed.
    Error(String),
    /// The camera stopped delivering; a black picture is sent until another is chosen.
    CameraLost(String),
}

/// One encoded frame or packet for the RTP writers (cheap to clone: the data is shared).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub data: Bytes,
    pub duration: Duration,
    /// Which video codec made it (`None` for audio).
    pub codec: Option<VideoCodec>,
    /// A video keyframe (decodable on its own).
    pub key: bool,
}

/// What the send side counts (for stats and benchmarks).
#[derive(Default)]
pub struct SendCounters {
    pub video_frames: AtomicU64,
    pub video_dropped: AtomicU64,
    pub keyframes: AtomicU64,
    pub encode_errors: AtomicU64,
    /// `width << 16 | height` of what is being encoded.
    pub encoded_size: AtomicU32,
    pub encoded_fps: AtomicU32,
    pub encode_us: AtomicU64,
    /// Encoded video handed to the network (the rate controller compares what went out).
    pub video_payload_bytes: AtomicU64,
}

/// What the receive side counts for one media leg: created with the leg (`for_call`), so
/// nothing of one call leaks into the next.
#[derive(Default)]
pub struct RecvCounters {
    pub video_frames: AtomicU64,
    pub video_decode_errors: AtomicU64,
    pub audio_frames: AtomicU64,
    pub audio_decode_errors: AtomicU64,
    pub audio_level_centi_db: AtomicU64,
    /// Frames concealed (lost, or stretched while the jitter buffer refilled).
    pub audio_concealed: AtomicU64,
    /// Lost frames rebuilt from the next packet's in-band FEC.
    pub audio_fec_recovered: AtomicU64,
    /// The jitter buffer's current playout delay target.
    pub audio_jitter_target_ms: AtomicU64,
    pub last_stamp_counter: AtomicU64,
    pub stamped_frames: AtomicU64,
    /// Keyframe requests (PLI) sent to the peer.
    pub plis_sent: AtomicU64,
    /// Which call these counts are for: bumped by every `reset`.
    call: AtomicU64,
    latencies: Mutex<LatencyRing>,
}

/// Glass-to-glass delays of the most recent stamped frames, and how many were ever recorded (so a
/// reader can ask for what is new however long the call runs).
#[derive(Default)]
struct LatencyRing {
    recent: VecDeque<u64>,
    total: u64,
}

/// Delays kept (about 2 minutes at 30 fps).
const LATENCY_RING: usize = 4096;

/// A copy of the receive counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvSnapshot {
    pub video_frames: u64,
    pub video_decode_errors: u64,
    pub audio_frames: u64,
    pub audio_decode_errors: u64,
    pub audio_concealed: u64,
    pub audio_fec_recovered: u64,
    pub audio_jitter_target_ms: u64,
    pub stamped_frames: u64,
    pub plis_sent: u64,
}

impl RecvCounters {
    fn push_latency(&self, us: u64) {
        let mut l = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        if l.recent.len() >= LATENCY_RING {
            l.recent.pop_front();
        }
        l.recent.push_back(us);
        l.total += 1;
    }

    /// Glass-to-glass latencies of recent stamped frames, microseconds.
    pub fn latencies_us(&self) -> Vec<u64> {
        self.latencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recent
            .iter()
            .copied()
            .collect()
    }

    /// The latencies recorded after the first `seen` (of those still kept), and the new count to
    /// pass next time.
    pub fn latencies_since(&self, seen: u64) -> (Vec<u64>, u64) {
        let l = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = l.total.saturating_sub(seen).min(l.recent.len() as u64) as usize;
        let out = l
            .recent
            .iter()
            .skip(l.recent.len() - fresh)
            .copied()
            .collect();
        (out, l.total)
    }

    /// Last decoded audio level in dBFS.
    pub fn audio_level_dbfs(&self) -> f32 {
        -(self.audio_level_centi_db.load(Ordering::Relaxed) as f32) / 100.0
    }

    pub fn snapshot(&self) -> RecvSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RecvSnapshot {
            video_frames: get(&self.video_frames),
            video_decode_errors: get(&self.video_decode_errors),
            audio_frames: get(&self.audio_frames),
            audio_decode_errors: get(&self.audio_decode_errors),
            audio_concealed: get(&self.audio_concealed),
            audio_fec_recovered: get(&self.audio_fec_recovered),
            audio_jitter_target_ms: get(&self.audio_jitter_target_ms),
            stamped_frames: get(&self.stamped_frames),
            plis_sent: get(&self.plis_sent),
        }
    }

    /// Fresh counts for media leg `call` (each leg has its own, so a closing leg's threads
    /// cannot count into the next one's).
    pub fn for_call(call: u64) -> Self {
        Self {
            call: AtomicU64::new(call),
            ..Self::default()
        }
    }

    /// Which leg these counts are for (so a reader can tell a new call's counts apart).
    pub fn call_id(&self) -> u64 {
        self.call.load(Ordering::Acquire)
    }
}

/// Keyframes at most one per `KEYFRAME_GAP`: a receiver that asks again (PLI after PLI while
/// the first keyframe is in flight, a burst of probes read as loss) gets the one on its way.
const KEYFRAME_GAP: Duration = Duration::from_millis(300);

/// Grants keyframe requests no sooner than `KEYFRAME_GAP` after the last keyframe; a request
/// made sooner waits (it is not lost).
#[derive(Default)]
struct KeyframePacer {
    last: Option<Instant>,
}

impl KeyframePacer {
    /// Whether to make the next frame a keyframe (clears the request if so).
    fn take(&mut self, ctl: &MediaControl, now: Instant) -> bool {
        if ctl.keyframe_now.swap(false, Ordering::Relaxed) {
            ctl.keyframe.store(false, Ordering::Relaxed);
            return true;
        }
        let due = self
            .last
            .is_none_or(|t| now.saturating_duration_since(t) >= KEYFRAME_GAP);
        due && ctl.keyframe.swap(false, Ordering::Relaxed)
    }

    /// A keyframe went out (asked for, or the encoder's own: a new size or codec).
    fn sent(&mut self, now: Instant) {
        self.last = Some(now);
    }
}

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

/// Captures, scales and encodes video at the target rate until stopped.
pub fn spawn_video_sender(
    mut source: Box<dyn VideoSource>,
    ctl: Arc<MediaControl>,
    preview: Arc<FrameSink>,
    out: Arc<Fanout>,
    counters: Arc<SendCounters>,
    errors: mpsc::Sender<MediaTrouble>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("simu-video-enc".into()).spawn(move || {
        let mut q = ctl.effective_quality();
        let mut version = ctl.quality_version.load(Ordering::Acquire);
        let settings = |q: &Quality| VideoEncodeSettings { bitrate_bps: q.video_kbps * 1000, fps: q.fps as f32 };
        let mut enc = match VideoEncoder::new(ctl.video_codec().unwrap_or(VideoCodec::H264), settings(&q)) {
            Ok(e) => e,
            Err(e) => {
                let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                return;
            }
        };
        let mut source_ok = true;
        let mut keyframes = KeyframePacer::default();
        let mut next = Instant::now();
        while !ctl.stopped() {
            let v = ctl.quality_version.load(Ordering::Acquire);
            if v != version {
                version = v;
                q = ctl.effective_quality();
                if let Err(e) = enc.reconfigure(settings(&q)) {
                    let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                    return;
                }
            }
            if let Some(c) = ctl.video_codec().filter(|c| *c != enc.codec()) {
                match VideoEncoder::new(c, settings(&q)) {
                    Ok(e) => {
                        tracing::debug!(codec = %c, "video encoder switched");
                        enc = e;
                    }
                    Err(e) => {
                        let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                        return;
                    }
                }
            }
            if let Some(s) = ctl.take_new_camera() {
                tracing::info!(camera = %s.name(), "camera switched");
                source = s;
                source_ok = true;
            }
            let interval = Duration::from_secs_f64(1.0 / f64::from(q.fps.max(1)));
            sleep_until(next);
            next += interval;
            let now = Instant::now();
            if now > next + interval {
                next = now + interval;
            }
            let frame = if !ctl.video_enabled.load(Ordering::Relaxed) {
                let mut f = VideoFrame::black(q.width as usize, q.height as usize);
                f.capture_us = media::now_micros();
                f
            } else if source_ok {
                match source.next_frame() {
                    Ok(f) => f,
                    Err(e) => {
                        source_ok = false;
                        tracing::warn!(error = %e, camera = %source.name(), "camera stopped; sending a black picture until another is chosen");
                        let _ = errors.try_send(MediaTrouble::CameraLost(format!("{}: {e}", source.name())));
                        VideoFrame::black(q.width as usize, q.height as usize)
                    }
                }
            } else {
                VideoFrame::black(q.width as usize, q.height as usize)
            };
            let frame = if frame.width != q.width as usize || frame.height != q.height as usize {
                media::scale::resize(&frame, q.width as usize, q.height as usize)
            } else {
                frame
            };
            // No leg has room for another frame: skip this picture before encoding it, so every
            // frame the encoder references reaches the receivers (no keyframe needed to recover).
            if !out.has_room() {
                counters.video_dropped.fetch_add(1, Ordering::Relaxed);
                preview.push(frame);
                continue;
            }
            if keyframes.take(&ctl, Instant::now()) {
                enc.request_keyframe();
            }
            let t = Instant::now();
            let (data, key) = match enc.encode(&frame) {
                Ok((d, k)) => (Bytes::copy_from_slice(d), k),
                Err(e) => {
                    counters.encode_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "video encode failed");
                    continue;
                }
            };
            counters.encode_us.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
            counters.encoded_size.store(((frame.width as u32) << 16) | frame.height as u32, Ordering::Relaxed);
            counters.encoded_fps.store(q.fps, Ordering::Relaxed);
            counters.video_payload_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            preview.push(frame);
            if data.is_empty() {
                continue;
            }
            if key {
                counters.keyframes.fetch_add(1, Ordering::Relaxed);
                keyframes.sent(Instant::now());
            }
            let sent = out.send(&Encoded { data, duration: interval, codec: Some(enc.codec()), key });
            if sent.delivered > 0 {
                counters.video_frames.fetch_add(1, Ordering::Relaxed);
            }
            // A leg whose queue was full lost a frame its decoder references: ask for a keyframe.
            if sent.full > 0 {
                counters.video_dropped.fetch_add(1, Ordering::Relaxed);
                ctl.request_keyframe();
            }
        }
    })
}

/// Captures, cleans (echo, noise, level: `apm`) and encodes 20 ms Opus packets until stopped.
pub fn spawn_audio_sender(
    mut source: Box<dyn AudioSource>,
    apm: Option<media::apm::AudioProcessor>,
    ctl: Arc<MediaControl>,
    out: Arc<Fanout>,
    errors: mpsc::Sender<MediaTrouble>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-audio-enc".into())
        .spawn(move || {
            let mut kbps = ctl.quality().audio_kbps;
            let mut enc = match OpusEncoder::new(kbps * 1000) {
                Ok(e) => e,
                Err(e) => {
                    let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                    return;
                }
            };
            let frame_len = Duration::from_millis(u64::from(media::AUDIO_FRAME_MS));
            let mut next = Instant::now();
            let mut source_ok = true;
            while !ctl.stopped() {
                sleep_until(next);
                next += frame_len;
                if Instant::now() > next + frame_len * 5 {
                    next = Instant::now() + frame_len;
                }
                let want = ctl.quality().audio_kbps;
                if want != kbps {
                    if let Err(e) = enc.set_bitrate(want * 1000) {
                        tracing::warn!(error = %e, "audio bitrate change refused");
                    }
                    kbps = want;
                }
                let mut frame = if source_ok {
                    source.next_frame().unwrap_or_else(|e| {
                        source_ok = false;
                        let _ = errors.try_send(MediaTrouble::Error(format!("microphone: {e}")));
                        AudioFrame {
                            samples: vec![0; media::AUDIO_FRAME_SAMPLES],
                            capture_us: 0,
                        }
                    })
                } else {
                    AudioFrame {
                        samples: vec![0; media::AUDIO_FRAME_SAMPLES],
                        capture_us: 0,
                    }
                };
                if let Some(a) = &apm {
                    a.process_capture(&mut frame);
                }
                if !ctl.audio_enabled.load(Ordering::Relaxed) {
                    frame.samples.fill(0);
                }
                let data = match enc.encode(&frame) {
                    Ok(d) => Bytes::copy_from_slice(d),
                    Err(e) => {
                        tracing::warn!(error = %e, "audio encode failed");
                        continue;
                    }
                };
                out.send(&Encoded {
                    data,
                    duration: frame_len,
                    codec: None,
                    key: false,
                });
            }
        })
}

/// Waits for the next item, giving up when the session stops or the sender is gone.
fn next_item<T>(rx: &std::sync::mpsc::Receiver<T>, stop: &AtomicBool) -> Option<T> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(v) => return Some(v),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Decodes received video frames (of the codec each is tagged with) into the remote sink; asks
/// for a keyframe on trouble.
pub fn spawn_video_receiver(
    rx: std::sync::mpsc::Receiver<(VideoCodec, Bytes)>,
    stop: Arc<AtomicBool>,
    sink: Arc<FrameSink>,
    counters: Arc<RecvCounters>,
    need_keyframe: mpsc::Sender<()>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-video-dec".into())
        .spawn(move || {
            let mut dec: Option<VideoDecoder> = None;
            while let Some((codec, au)) = next_item(&rx, &stop) {
                if dec.as_ref().is_none_or(|d| d.codec() != codec) {
                    match VideoDecoder::new(codec) {
                        Ok(d) => dec = Some(d),
                        Err(e) => {
                            tracing::error!(error = %e, "no video decoder");
                            return;
                        }
                    }
                }
                let Some(d) = dec.as_mut() else { continue };
                match d.decode(&au) {
                    Ok(Some(mut frame)) => {
                        let now = media::now_micros();
                        if let Some(s) = stamp::read(&frame) {
                            frame.capture_us = s.capture_us;
                            counters
                                .last_stamp_counter
                                .store(u64::from(s.counter), Ordering::Relaxed);
                            counters.stamped_frames.fetch_add(1, Ordering::Relaxed);
                            if now >= s.capture_us && now - s.capture_us < 10_000_000 {
                                counters.push_latency(now - s.capture_us);
                            }
                        }
                        counters.video_frames.fetch_add(1, Ordering::Relaxed);
                        sink.push(frame);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        counters.video_decode_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(error = %e, "video decode failed; asking for a keyframe");
                        let _ = need_keyframe.try_send(());
                    }
                }
            }
        })
}

/// Feeds a camera into a display sink at its own pace (a settings preview; no encoding).
pub fn spawn_preview(
    mut source: Box<dyn VideoSource>,
    sink: Arc<FrameSink>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-preview".into())
        .spawn(move || {
            let frame_len = Duration::from_millis(33);
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                sleep_until(next);
                next += frame_len;
                match source.next_frame() {
                    Ok(f) => sink.push(f),
                    Err(e) => {
                        tracing::warn!(error = %e, "camera preview stopped");
                        break;
                    }
                }
            }
        })
}

/// Opens an output device by name (`None`: the system default).
pub type OpenOutput = Arc<dyn Fn(Option<&str>) -> Result<Box<dyn AudioSink>, String> + Send + Sync>;

/// Where a call's received audio is played: how to open a device and the user's current choice,
/// which the decoder thread follows mid-call.
pub struct AudioOutput {
    open: OpenOutput,
    choice: Mutex<Option<String>>,
    version: AtomicU64,
}

impl AudioOutput {
    pub fn new(open: OpenOutput, choice: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            open,
            choice: Mutex::new(choice),
            version: AtomicU64::new(0),
        })
    }

    /// Switches playback to `device` from the next packet on.
    pub fn select(&self, device: Option<String>) {
        *self.choice.lock().unwrap_or_else(|p| p.into_inner()) = device;
        self.version.fetch_add(1, Ordering::Release);
    }

    fn current(&self) -> Option<String> {
        self.choice
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The open device, reopened when the choice changes or (every 2 s) after it failed.
struct Playback {
    output: Arc<AudioOutput>,
    sink: Option<Box<dyn AudioSink>>,
    version: u64,
    retry_at: Option<Instant>,
}

impl Playback {
    fn new(output: Arc<AudioOutput>) -> Self {
        Self {
            output,
            sink: None,
            version: u64::MAX,
            retry_at: None,
        }
    }

    fn play(&mut self, frame: &AudioFrame) {
        let version = self.output.version.load(Ordering::Acquire);
        let due = self.retry_at.is_none_or(|t| Instant::now() >= t);
        if version != self.version || (self.sink.is_none() && due) {
            self.version = version;
            let choice = self.output.current();
            match (self.output.open)(choice.as_deref()) {
                Ok(s) => {
                    tracing::info!(device = %s.name(), "playing received audio");
                    self.sink = Some(s);
                    self.retry_at = None;
                }
                // A device that will not open leaves playback where it was, if anywhere.
                Err(e) => {
                    tracing::warn!(device = ?choice, error = %e, "audio output refused; retrying in 2 s");
                    self.retry_at = Some(Instant::now() + Duration::from_secs(2));
                }
            }
        }
        if let Some(sink) = &mut self.sink {
            if let Err(e) = sink.play(frame) {
                tracing::warn!(error = %e, "audio output lost");
                self.sink = None;
                self.retry_at = Some(Instant::now() + Duration::from_secs(2));
            }
        }
    }
}

/// Plays received audio out of the jitter buffer on a 20 ms clock: decodes each packet, rebuilds
/// single losses from the next packet's FEC, conceals the rest, and plays when an output is set.
pub fn spawn_audio_receiver(
    apm: Option<media::apm::AudioProcessor>,
    jb: Arc<Mutex<JitterBuffer>>,
    stop: Arc<AtomicBool>,
    counters: Arc<RecvCounters>,
    output: Option<Arc<AudioOutput>>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-audio-dec".into())
        .spawn(move || {
            let mut dec = match OpusDecoder::new() {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "no Opus decoder");
                    return;
                }
            };
            let mut playback = output.map(Playback::new);
            let frame_len = Duration::from_millis(u64::from(media::AUDIO_FRAME_MS));
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                sleep_until(next);
                next += frame_len;
                if Instant::now() > next + frame_len * 5 {
                    next = Instant::now() + frame_len;
                }
                let (playout, target, stats) = {
                    let mut j = jb.lock().unwrap_or_else(|p| p.into_inner());
                    let p = j.pop();
                    (p, j.target(), j.stats)
                };
                counters
                    .audio_jitter_target_ms
                    .store(target.as_millis() as u64, Ordering::Relaxed);
                counters
                    .audio_concealed
                    .store(stats.concealed + stats.stretched, Ordering::Relaxed);
                counters
                    .audio_fec_recovered
                    .store(stats.fec, Ordering::Relaxed);
                let pcm = match &playout {
                    Playout::Waiting => continue,
                    Playout::Packet(p) => dec.decode(p),
                    Playout::Fec(next_packet) => dec.decode_fec(next_packet),
                    Playout::Conceal => dec.conceal(),
                };
                match pcm {
                    Ok(samples) => {
                        let frame = AudioFrame {
                            samples: samples.to_vec(),
                            capture_us: 0,
                        };
                        let level = frame.level_dbfs();
                        counters
                            .audio_level_centi_db
                            .store((-level * 100.0).max(0.0) as u64, Ordering::Relaxed);
                        counters.audio_frames.fetch_add(1, Ordering::Relaxed);
                        if let Some(a) = &apm {
                            a.analyze_render(&frame);
                        }
                        if let Some(p) = &mut playback {
                            p.play(&frame);
                        }
                    }
                    Err(e) => {
                        counters.audio_decode_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(error = %e, "audio decode failed");
                    }
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glass_to_glass_keeps_reporting_past_the_ring_size() {
        let c = RecvCounters::default();
        let mut seen = 0;
        for round in 0..3u64 {
            for i in 0..LATENCY_RING as u64 {
                c.push_latency(round * 10_000 + i);
            }
            let (fresh, total) = c.latencies_since(seen);
            assert_eq!(fresh.len(), LATENCY_RING, "round {round}");
            assert_eq!(
                fresh.last(),
                Some(&(round * 10_000 + LATENCY_RING as u64 - 1))
            );
            seen = total;
        }
        c.push_latency(7);
        assert_eq!(c.latencies_since(seen).0, vec![7]);
    }

    #[test]
    fn keyframe_requests_are_granted_at_most_every_300_ms_and_never_lost() {
        let ctl = MediaControl::new(Quality::default(), true, true);
        let mut k = KeyframePacer::default();
        let t = Instant::now();
        assert!(k.take(&ctl, t), "the first keyframe at once");
        k.sent(t);
        for ms in [10, 100, 200, 290] {
            ctl.request_keyframe();
            assert!(!k.take(&ctl, t + Duration::from_millis(ms)), "{ms} ms");
        }
        assert!(k.take(&ctl, t + Duration::from_millis(300)), "then granted");
        k.sent(t + Duration::from_millis(300));
        assert!(!k.take(&ctl, t + Duration::from_secs(5)), "not asked: none");
        ctl.request_keyframe_now();
        assert!(
            k.take(&ctl, t + Duration::from_millis(310)),
            "a new connection's first keyframe is not paced"
        );
    }

    #[test]
    fn the_encoder_reaches_the_users_cap_even_by_a_small_last_step() {
        let ctl = MediaControl::new(Quality::default(), true, true);
        ctl.set_estimate(990_000);
        assert_eq!(ctl.effective_quality().video_kbps, 926);
        ctl.set_estimate(1_500_000);
        assert_eq!(
            ctl.effective_quality().video_kbps,
            1000,
            "8% more, but the cap"
        );
        ctl.set_estimate(1_450_000);
        assert_eq!(
            ctl.effective_quality().video_kbps,
            1000,
            "wobbles above: no change"
        );
    }

    #[test]
    fn a_new_leg_counts_from_zero_under_its_own_id() {
        let old = RecvCounters::for_call(1);
        old.video_frames.store(900, Ordering::Relaxed);
        old.push_latency(5_000);
        let new = RecvCounters::for_call(2);
        assert_eq!(new.snapshot(), RecvSnapshot::default());
        assert_eq!(new.latencies_since(0), (vec![], 0));
        assert_eq!((old.call_id(), new.call_id()), (1, 2));
    }
}
