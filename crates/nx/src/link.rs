//! Click-to-call links the desktop opens: `tel:+255 788 811 191`, `simu:alice`,
//! `simu://call/+255788811191?video=1`, and call links (`https://<server>/call?...&caller=alice`,
//! or the web page's `simu://join?link=<that>`), which a signed-in user joins by calling the
//! link's owner. Only who to call and how; the number itself is normalised later like anything
//! typed in the dialer (protocol.md §1, §2.2).

/// Who a link asks to call, and whether with video.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DialLink {
    pub to: String,
    pub video: bool,
}

/// Reads a `tel:` or `simu:` link; `None` for other schemes, an empty target or junk.
pub fn parse_dial_link(link: &str) -> Option<DialLink> {
    let url = url::Url::parse(link.trim()).ok()?;
    let scheme = url.scheme();
    if scheme == "http" || scheme == "https" {
        return call_page_link(&url);
    }
    if scheme == "simu" && url.host_str() == Some("join") {
        let inner = url.query_pairs().find(|(k, _)| k == "link")?.1;
        let inner = url::Url::parse(&inner).ok()?;
        return matches!(inner.scheme(), "http" | "https")
            .then(|| call_page_link(&inner))
            .flatten();
    }
    if scheme != "tel" && scheme != "simu" {
        return None;
    }
    let mut video = false;
    for (k, v) in url.query_pairs() {
        if k == "video" || k == "type" {
            video = matches!(v.as_ref(), "1" | "true" | "yes" | "video");
        }
    }
    // `simu://call/WHO` carries WHO in the path; `simu:WHO` and `tel:WHO` are opaque.
    let raw = match (scheme, url.host_str()) {
        ("simu", Some("call")) => url.path().trim_start_matches('/').to_string(),
        ("simu", Some(host)) => host.to_string(),
        _ => url.path().to_string(),
    };
    let decoded = percent_decode(&raw)?;
    if decoded.chars().any(char::is_control) {
        return None;
    }
    // A `tel:` number may carry visual separators and parameters (`;phone-context=...`).
    let to = decoded
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if to.is_empty() || to.len() > 256 {
        return None;
    }
    Some(DialLink { to, video })
}

/// The owner of a call link (`/call` or `/nexacon-call.html` with `caller=`), to be called.
fn call_page_link(url: &url::Url) -> Option<DialLink> {
    let path = url.path();
    if !(path.ends_with("/call") || path.ends_with("/nexacon-call.html")) {
        return None;
    }
    let field = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let to = field("caller")?.trim().to_string();
    if to.is_empty() || to.len() > 256 || to.chars().any(char::is_control) {
        return None;
    }
    let video = field("type").as_deref() != Some("audio");
    Some(DialLink { to, video })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(to: &str, video: bool) -> Option<DialLink> {
        Some(DialLink {
            to: to.into(),
            video,
        })
    }

    #[test]
    fn reads_tel_and_simu_links() {
        let cases = [
            ("tel:+255788811191", link("+255788811191", false)),
            (
                "tel:+255-788-811-191;phone-context=example.com",
                link("+255-788-811-191", false),
            ),
            ("tel:0788%20811%20191", link("0788 811 191", false)),
            ("simu:alice", link("alice", false)),
            (
                "simu://call/%2B255788811191?video=1",
                link("+255788811191", true),
            ),
            (
                "simu://call/bob@simu.local?type=audio",
                link("bob@simu.local", false),
            ),
            ("simu://bob?video=true", link("bob", true)),
            (
                "https://calls.example/call?room=r&caller=alice&type=audio&to=b&exp=1&sig=00",
                link("alice", false),
            ),
            (
                "simu://join?link=http%3A%2F%2F127.0.0.1%3A8787%2Fcall%3Froom%3Dr%26caller%3Dcarol%26type%3Droom",
                link("carol", true),
            ),
            (
                "https://h.example/nexacon-call.html?room=call_abc&caller=%2B255788811191&type=video",
                link("+255788811191", true),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_dial_link(input), want, "{input}");
        }
    }

    #[test]
    fn refuses_other_schemes_empty_targets_and_junk() {
        for input in [
            "https://example.com/?to=bob",
            "https://example.com/call?room=r",
            "simu://join?link=tel%3A123",
            "tel:",
            "simu://call/",
            "simu:%zz",
            "tel:%0a123",
            "not a link",
            "",
        ] {
            assert_eq!(parse_dial_link(input), None, "{input}");
        }
    }
}
