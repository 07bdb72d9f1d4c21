//! The web call page (ui/src/web, embedded at build time by build.rs): served at `/call` (signed
//! links) and `/nexacon-call.html` (the reference flows' unsigned invitations), its hashed assets
//! under `/call-assets/`, gzipped for browsers that take it.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One built file.
pub struct Asset {
    pub name: &'static str,
    pub mime: &'static str,
    pub raw: &'static [u8],
    pub gzip: &'static [u8],
}

/// Every file of ui/dist-call.
pub static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/call_page_assets.rs"));

/// What the page may load and connect to: only this server (and its WebSocket); never framed;
/// the link's signature never leaves in a Referer.
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn respond(a: &Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut r = if gzip_ok {
        let mut r = a.gzip.into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        a.raw.into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

/// `GET /call`, `GET /nexacon-call.html`: the page; it asks the server about the link itself.
pub async fn page(headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == "call.html") {
        Some(a) => respond(a, &headers, "no-store"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /call-assets/{name}`: a hashed, immutable asset.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS
        .iter()
        .find(|a| a.name == name && a.name != "call.html")
    {
        Some(a) => respond(a, &headers, "public, max-age=31536000, immutable"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
