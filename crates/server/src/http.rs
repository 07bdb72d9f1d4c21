//! The HTTP front door: accepts TCP connections under a global and a per-address cap, gives
//! each a header-read timeout (slowloris) and an idle timeout, and serves the axum app on it
//! with upgrades (the signaling WebSocket). A connection's slot is held by its socket, so an
//! upgraded WebSocket keeps counting until it closes.

use axum::extract::connect_info::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

/// Limits of the front door.
#[derive(Debug, Clone)]
pub struct FrontLimits {
    pub max_connections: usize,
    pub per_address: usize,
    pub header_timeout: Duration,
    /// Closes a plain HTTP connection with no bytes either way for this long.
    pub idle_timeout: Duration,
}

/// Connections open per address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

impl PerAddress {
    fn try_take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            ip,
            table: self.clone(),
        })
    }
}

/// One connection's place in the per-address count, given back on drop.
struct AddressSlot {
    ip: IpAddr,
    table: Arc<PerAddress>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream that records when bytes last moved and holds the connection's slots.
struct CountedIo {
    inner: TcpStream,
    last: Arc<AtomicU64>,
    epoch: Instant,
    _global: OwnedSemaphorePermit,
    _address: AddressSlot,
}

impl CountedIo {
    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for CountedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for CountedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` until `shutdown` fires; connections in flight get 5 s to finish.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: FrontLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let global = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(PerAddress::default());
    let (closing_tx, closing_rx) = watch::channel(false);
    let live = Arc::new(());
    loop {
        let (tcp, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: wait instead of spinning; connections in flight go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Ok(global_slot) = global.clone().try_acquire_owned() else {
            tracing::warn!(%remote, "connection refused: server at its connection limit");
            continue;
        };
        let Some(address_slot) = per_address.try_take(remote.ip(), limits.per_address) else {
            tracing::info!(%remote, "connection refused: too many from this address");
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            // Signaling is many small messages: Nagle's algorithm would add tens of ms to each.
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let last = Arc::new(AtomicU64::new(0));
        let io = CountedIo {
            inner: tcp,
            last: last.clone(),
            epoch: Instant::now(),
            _global: global_slot,
            _address: address_slot,
        };
        let epoch = io.epoch;
        let task_alive = live.clone();
        let (app, limits, closing) = (app.clone(), limits.clone(), closing_rx.clone());
        tokio::spawn(async move {
            connection(io, remote, app, limits, last, epoch, closing).await;
            drop(task_alive);
        });
    }
    let _ = closing_tx.send(true);
    // HTTP exchanges in flight finish; upgraded WebSockets are the router's to end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&live) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connection(
    io: CountedIo,
    remote: SocketAddr,
    app: axum::Router,
    limits: FrontLimits,
    last: Arc<AtomicU64>,
    epoch: Instant,
    mut closing: watch::Receiver<bool>,
) {
    let svc = app.map_request(
        move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            req.map(axum::body::Body::new)
        },
    );
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(64 * 1024);
    let conn = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc))
        .with_upgrades();
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(limits.idle_timeout));
    let mut shutting = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = tick.tick() => {
                let idle_ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_sub(last.load(Ordering::Relaxed));
                if Duration::from_millis(idle_ms) >= limits.idle_timeout {
                    tracing::debug!(%remote, "closing an idle connection");
                    break;
                }
            }
            _ = closing.changed(), if !shutting => {
                shutting = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
