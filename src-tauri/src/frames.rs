//! Video frames to the webview. Tauri events are too slow for 30 fps pictures, so a loopback
//! WebSocket (127.0.0.1, random port, per-launch token) streams each new picture as one binary
//! message: a 16-byte header (kind, width, height, capture time) and the I420 planes, which the
//! UI draws with a WebGL2 YUV shader.

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
    pub remote: Arc<FrameSink>,
}

pub const KIND_LOCAL: u8 = 0;
pub const KIND_REMOTE: u8 = 1;

fn encode(kind: u8, f: &media::VideoFrame) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + f.data.len());
    out.push(kind);
    out.push(0);
    out.extend_from_slice(&(f.width as u16).to_le_bytes());
    out.extend_from_slice(&(f.height as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&f.capture_us.to_le_bytes());
    out.extend_from_slice(&f.data);
    out
}

/// Starts the frame server; returns its address and the token a client must present.
pub async fn start(sinks: watch::Receiver<Option<Sinks>>) -> std::io::Result<(SocketAddr, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let token: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let expected = format!("/frames?token={token}");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let sinks = sinks.clone();
            let expected = expected.clone();
            tokio::spawn(async move {
                let check = |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                    if req.uri().to_string() == expected {
                        Ok(resp)
                    } else {
                        let mut r = tokio_tungstenite::tungstenite::handshake::server::ErrorResponse::new(Some("bad token".into()));
                        *r.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
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

async fn serve(ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, sinks: watch::Receiver<Option<Sinks>>) {
    let (mut tx, mut rx) = ws.split();
    let mut tick = tokio::time::interval(Duration::from_millis(8));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent = [0u64; 2];
    loop {
        tokio::select! {
            msg = rx.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
            _ = tick.tick() => {
                let current = sinks.borrow().clone();
                let Some(s) = current else { continue };
                for (kind, sink) in [(KIND_LOCAL, &s.local), (KIND_REMOTE, &s.remote)] {
                    let n = sink.frames();
                    if n == sent[kind as usize] {
                        continue;
                    }
                    sent[kind as usize] = n;
                    if let Some(f) = sink.latest() {
                        if tx.send(Message::Binary(encode(kind, &f).into())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
