//! Video frames to the webview. Tauri events are too slow for 30 fps pictures, so a loopback
//! WebSocket (127.0.0.1, random port, per-launch token) streams each new picture as one binary
//! message: a 16-byte header (kind, width, height, capture time) and the I420 planes, which the
//! UI draws with a WebGL2 YUV shader. The UI says how large each picture is on screen (a text
//! message `{"sizes":[[w,h],...]}` indexed by kind: local, the first member, then the others);
//! a picture shown at half its size or less is shrunk here first, so the preview costs a
//! fraction of a full frame to move and draw. In a group call the server says which member
//! each kind is (`{"tiles":[[kind,"nx id"],...]}`) whenever that changes.

use futures_util::{SinkExt, StreamExt};
use media::FrameSink;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// The sinks currently on screen (swapped when a new CallManager starts).
#[derive(Clone)]
pub struct Sinks {
    pub local: Arc<FrameSink>,
    /// The first member's picture (a 1:1 call's peer).
    pub remote: Arc<FrameSink>,
    /// Every member's picture in the call under way.
    pub participants: watch::Receiver<Vec<call::ParticipantMedia>>,
}

pub const KIND_LOCAL: u8 = 0;
pub const KIND_REMOTE: u8 = 1;
/// The first kind given to a group call's other members.
const KIND_FIRST_OTHER: u8 = 2;

/// Which kind each member's picture goes out as: the first member's is `KIND_REMOTE`, the
/// others keep the kind they were first given for as long as the call lasts.
#[derive(Default)]
struct Tiles {
    kinds: Vec<(String, u8, Arc<FrameSink>)>,
    next: u8,
}

impl Tiles {
    /// Follows the call's members; `true` when the mapping changed (the UI must hear it).
    fn follow(&mut self, remote: &Arc<FrameSink>, members: &[call::ParticipantMedia]) -> bool {
        if members.is_empty() {
            let changed = !self.kinds.is_empty();
            *self = Self::default();
            return changed;
        }
        let before = self.kinds.len();
        self.kinds
            .retain(|(id, _, _)| members.iter().any(|m| m.nx_id.to_string() == *id));
        let mut changed = self.kinds.len() != before;
        for m in members {
            let id = m.nx_id.to_string();
            if self.kinds.iter().any(|(k, _, _)| *k == id) {
                continue;
            }
            let kind = if Arc::ptr_eq(&m.video, remote) {
                KIND_REMOTE
            } else {
                self.next = self.next.max(KIND_FIRST_OTHER);
                let Some(next) = self.next.checked_add(1) else {
                    continue;
                };
                std::mem::replace(&mut self.next, next)
            };
            self.kinds.push((id, kind, m.video.clone()));
            changed = true;
        }
        changed
    }

    fn message(&self) -> String {
        let tiles: Vec<(u8, &str)> = self
            .kinds
            .iter()
            .map(|(id, k, _)| (*k, id.as_str()))
            .collect();
        serde_json::json!({ "tiles": tiles }).to_string()
    }
}

/// The longest message the UI may send (its canvas sizes).
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

pub const FORMAT_I420: u8 = 0;
pub const FORMAT_RGBA: u8 = 1;

fn encode(
    kind: u8,
    format: u8,
    width: usize,
    height: usize,
    capture_us: u64,
    pixels: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    out.push(kind);
    out.push(format);
    out.extend_from_slice(&(width as u16).to_le_bytes());
    out.extend_from_slice(&(height as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&capture_us.to_le_bytes());
    out.extend_from_slice(pixels);
    out
}

/// One picture as the UI asked for it: I420 (shrunk when shown small) or RGBA at its shown size.
fn render(kind: u8, f: &media::VideoFrame, shown: [u32; 2], rgba: bool) -> Vec<u8> {
    if rgba {
        let (w, h) = fit(f.width, f.height, shown);
        return encode(
            kind,
            FORMAT_RGBA,
            w,
            h,
            f.capture_us,
            &media::rgba::to_rgba(f, w, h),
        );
    }
    let (w, h) = send_size(f.width, f.height, shown);
    if (w, h) == (f.width, f.height) {
        encode(kind, FORMAT_I420, w, h, f.capture_us, &f.data)
    } else {
        let small = media::scale::resize(f, w, h);
        encode(
            kind,
            FORMAT_I420,
            small.width,
            small.height,
            f.capture_us,
            &small.data,
        )
    }
}

/// The largest size with the picture's shape that fits in `shown` (the picture's own when unknown).
fn fit(w: usize, h: usize, shown: [u32; 2]) -> (usize, usize) {
    let (sw, sh) = (shown[0] as usize, shown[1] as usize);
    if sw == 0 || sh == 0 {
        return (w, h);
    }
    let scale = (sw as f64 / w as f64).min(sh as f64 / h as f64);
    (
        ((w as f64 * scale).round() as usize).max(1),
        ((h as f64 * scale).round() as usize).max(1),
    )
}

/// Whether the web view's WebGL likely runs on a GPU. WebKit reports a made-up renderer name, so
/// this asks the system: on Linux, a DRM render node and no forced software GL; elsewhere, yes.
pub fn gpu_likely() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let forced_software = std::env::var_os("LIBGL_ALWAYS_SOFTWARE").is_some_and(|v| v != "0");
    let render_node = std::fs::read_dir("/dev/dri")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false);
    render_node && !forced_software
}

/// Origins of the app's own web view (custom protocol on Linux/macOS and Windows, and the
/// Vite dev server of a development build).
fn allowed_origin(origin: &str) -> bool {
    matches!(
        origin,
        "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost"
    ) || (cfg!(debug_assertions)
        && matches!(origin, "http://127.0.0.1:5173" | "http://localhost:5173"))
}

/// Starts the frame server; returns its address and the token a client must present.
pub async fn start(sinks: watch::Receiver<Option<Sinks>>) -> std::io::Result<(SocketAddr, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let token: String = (0..16)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let expected = format!("/frames?token={token}");
    // Any page in a browser on this machine could try to open this socket: only the app's own
    // web view may (browsers always send Origin; the token guards everything else).
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let sinks = sinks.clone();
            let expected = expected.clone();
            tokio::spawn(async move {
                // The error type is tungstenite's handshake callback's (an HTTP response).
                #[allow(clippy::result_large_err)]
                let check = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                             resp| {
                    let origin_ok = req
                        .headers()
                        .get("origin")
                        .is_none_or(|o| o.to_str().is_ok_and(allowed_origin));
                    if origin_ok
                        && server::rest::constant_time_eq(
                            req.uri().to_string().as_bytes(),
                            expected.as_bytes(),
                        )
                    {
                        Ok(resp)
                    } else {
                        let mut r =
                            tokio_tungstenite::tungstenite::handshake::server::ErrorResponse::new(
                                Some("bad token".into()),
                            );
                        *r.status_mut() =
                            tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
                        Err(r)
                    }
                };
                if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await {
                    serve(ws, sinks).await;
                }
            });
        }
    });
    Ok((addr, token))
}

/// What the UI reports of its canvases: device pixels each picture occupies, by kind (local,
/// the first member, the others).
#[derive(serde::Deserialize, Default)]
struct Sizes {
    sizes: Vec<[u32; 2]>,
    /// Which pictures to send as RGBA (for a 2D canvas) instead of I420.
    #[serde(default)]
    rgba: Vec<bool>,
}

impl Sizes {
    fn of(&self, kind: u8) -> ([u32; 2], bool) {
        (
            self.sizes.get(usize::from(kind)).copied().unwrap_or([0, 0]),
            self.rgba.get(usize::from(kind)).copied().unwrap_or(false),
        )
    }
}

/// The size to send a `w`x`h` picture at when it is shown inside `shown`: shrunk (keeping its
/// shape, even numbers) when the screen shows it at half size or less, else as it is.
fn send_size(w: usize, h: usize, shown: [u32; 2]) -> (usize, usize) {
    let (sw, sh) = (shown[0] as usize, shown[1] as usize);
    if sw == 0 || sh == 0 || sw * 2 > w || sh * 2 > h {
        return (w, h);
    }
    let scale = (sw as f64 / w as f64).max(sh as f64 / h as f64);
    let fit = |v: usize| (((v as f64 * scale).ceil() as usize + 1) & !1).max(2);
    (fit(w), fit(h))
}

async fn serve(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    sinks: watch::Receiver<Option<Sinks>>,
) {
    let (mut tx, mut rx) = ws.split();
    let mut shown = Sizes::default();
    let mut tick = tokio::time::interval(Duration::from_millis(8));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent = [0u64; 256];
    let mut tiles = Tiles::default();
    loop {
        tokio::select! {
            msg = rx.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(Message::Text(t))) if t.len() <= MAX_CLIENT_MESSAGE => match serde_json::from_str::<Sizes>(&t) {
                    Ok(s) => shown = s,
                    Err(e) => tracing::debug!(error = %e, "ignoring a frame-client message"),
                },
                _ => {}
            },
            _ = tick.tick() => {
                let current = sinks.borrow().clone();
                let Some(s) = current else { continue };
                let members = s.participants.borrow().clone();
                if tiles.follow(&s.remote, &members)
                    && tx.send(Message::Text(tiles.message().into())).await.is_err()
                {
                    return;
                }
                let others = tiles.kinds.iter().filter(|(_, k, _)| *k != KIND_REMOTE).map(|(_, k, sink)| (*k, sink.clone()));
                let all: Vec<(u8, Arc<FrameSink>)> = [(KIND_LOCAL, s.local.clone()), (KIND_REMOTE, s.remote.clone())].into_iter().chain(others).collect();
                for (kind, sink) in all {
                    let n = sink.frames();
                    if n == sent[usize::from(kind)] {
                        continue;
                    }
                    sent[usize::from(kind)] = n;
                    if let Some(f) = sink.latest() {
                        let (size, rgba) = shown.of(kind);
                        let Ok(bytes) = tokio::task::spawn_blocking(move || render(kind, &f, size, rgba)).await else { continue };
                        if tx.send(Message::Binary(bytes.into())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{allowed_origin, send_size, Tiles};
    use media::FrameSink;
    use std::sync::Arc;

    fn member(id: &str, video: &Arc<FrameSink>) -> call::ParticipantMedia {
        call::ParticipantMedia {
            nx_id: nx::NxId::parse_jid(id).expect("id"),
            video: video.clone(),
            counters: Arc::new(call::RecvCounters::default()),
        }
    }

    #[test]
    fn each_member_keeps_its_frame_kind_while_the_call_lasts() {
        let remote = FrameSink::new();
        let (carol, dave) = (FrameSink::new(), FrameSink::new());
        let mut tiles = Tiles::default();
        assert!(tiles.follow(
            &remote,
            &[member("bob@x", &remote), member("carol@x", &carol)]
        ));
        assert_eq!(
            tiles.message(),
            r#"{"tiles":[[1,"bob@x"],[2,"carol@x"]]}"#,
            "the first member's picture is the remote one"
        );
        assert!(!tiles.follow(
            &remote,
            &[member("bob@x", &remote), member("carol@x", &carol)]
        ));
        assert!(tiles.follow(
            &remote,
            &[member("carol@x", &carol), member("dave@x", &dave)]
        ));
        assert_eq!(tiles.message(), r#"{"tiles":[[2,"carol@x"],[3,"dave@x"]]}"#);
        assert!(tiles.follow(&remote, &[]), "the call ended");
        assert!(tiles.kinds.is_empty());
    }

    #[tokio::test]
    async fn only_the_apps_web_view_with_the_token_may_connect() {
        let (_tx, rx) = tokio::sync::watch::channel(None);
        let (addr, token) = super::start(rx).await.expect("start");
        let connect = |path: String, origin: Option<&'static str>| async move {
            let mut req =
                tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                    format!("ws://{addr}{path}"),
                )
                .expect("request");
            if let Some(o) = origin {
                req.headers_mut()
                    .insert("origin", o.parse().expect("header"));
            }
            tokio_tungstenite::connect_async(req).await.is_ok()
        };
        assert!(connect(format!("/frames?token={token}"), Some("tauri://localhost")).await);
        assert!(
            connect(format!("/frames?token={token}"), None).await,
            "no Origin: not a browser page"
        );
        assert!(
            !connect(
                format!("/frames?token={token}"),
                Some("http://evil.example")
            )
            .await
        );
        assert!(!connect("/frames?token=0000".to_string(), Some("tauri://localhost")).await);
        assert!(allowed_origin("tauri://localhost") && !allowed_origin("null"));
    }

    #[test]
    fn shrinks_only_pictures_shown_at_half_size_or_less() {
        assert_eq!(send_size(1280, 720, [0, 0]), (1280, 720));
        assert_eq!(send_size(1280, 720, [1100, 619]), (1280, 720));
        assert_eq!(send_size(1280, 720, [242, 136]), (242, 138));
        assert_eq!(send_size(1280, 720, [300, 100]), (300, 170));
        assert_eq!(send_size(640, 480, [320, 240]), (320, 240));
    }
}
