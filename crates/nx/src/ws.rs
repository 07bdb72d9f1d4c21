//! Opening a WebSocket with a subprotocol, bounded in time and message size: the one way the
//! XMPP and Janus clients connect.

use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the socket did not open.
pub(crate) enum ConnectError {
    Failed(String),
    TimedOut,
}

/// Connects to `url` asking for `protocol`; `max_message` bounds what may arrive in one message.
pub(crate) async fn connect(
    url: &str,
    protocol: &'static str,
    max_message: Option<usize>,
    within: Duration,
) -> Result<Ws, ConnectError> {
    let mut req = url
        .into_client_request()
        .map_err(|e| ConnectError::Failed(e.to_string()))?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    let cfg = max_message.map(|max| {
        WebSocketConfig::default()
            .max_message_size(Some(max))
            .max_frame_size(Some(max))
    });
    let (ws, _) = tokio::time::timeout(
        within,
        tokio_tungstenite::connect_async_with_config(req, cfg, true),
    )
    .await
    .map_err(|_| ConnectError::TimedOut)?
    .map_err(|e| ConnectError::Failed(e.to_string()))?;
    Ok(ws)
}
