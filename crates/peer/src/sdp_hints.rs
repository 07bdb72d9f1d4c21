//! Tells a libwebrtc sender (browsers, the mobile SDK) what Simu can receive, so it starts near
//! it instead of at 300 kbit/s and QVGA: `x-google-start-bitrate` and `x-google-max-bitrate`
//! (kbit/s) on each video codec's `a=fmtp` line of the SDP Simu sends. libwebrtc reads them from
//! the remote description's codec; other implementations ignore unknown fmtp parameters.

/// `sdp` with the hints on every H.264 and VP8 payload type of its video sections.
pub fn with_bitrate_hints(sdp: &str, start_kbps: u32, max_kbps: u32) -> String {
    let hint = format!("x-google-start-bitrate={start_kbps};x-google-max-bitrate={max_kbps}");
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = sdp.lines().collect();
    // Payload types of our video codecs, per m-section (sections are separated by `m=`).
    let mut out = Vec::with_capacity(lines.len() + 4);
    let mut section: Vec<&str> = Vec::new();
    let flush = |section: &mut Vec<&'_ str>, out: &mut Vec<String>| {
        let is_video = section.first().is_some_and(|l| l.starts_with("m=video"));
        let pts: Vec<&str> = if is_video {
            section
                .iter()
                .filter_map(|l| l.strip_prefix("a=rtpmap:"))
                .filter_map(|l| {
                    let (pt, codec) = l.split_once(' ')?;
                    let name = codec.split('/').next()?.to_ascii_uppercase();
                    (name == "H264" || name == "VP8").then_some(pt)
                })
                .collect()
        } else {
            Vec::new()
        };
        let with_fmtp: Vec<&str> = section
            .iter()
            .filter_map(|l| l.strip_prefix("a=fmtp:")?.split_once(' ').map(|(p, _)| p))
            .collect();
        for l in section.drain(..) {
            if let Some((pt, params)) = l.strip_prefix("a=fmtp:").and_then(|r| r.split_once(' ')) {
                if pts.contains(&pt) && !params.contains("x-google-") {
                    out.push(format!("a=fmtp:{pt} {params};{hint}"));
                    continue;
                }
            }
            out.push(l.to_owned());
            if let Some((pt, _)) = l.strip_prefix("a=rtpmap:").and_then(|r| r.split_once(' ')) {
                if pts.contains(&pt) && !with_fmtp.contains(&pt) {
                    out.push(format!("a=fmtp:{pt} {hint}"));
                }
            }
        }
    };
    for l in lines {
        if l.starts_with("m=") {
            flush(&mut section, &mut out);
        }
        section.push(l);
    }
    flush(&mut section, &mut out);
    let mut s = out.join(eol);
    s.push_str(eol);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 102 103 96 97\r\na=rtpmap:102 H264/90000\r\n\
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\na=rtpmap:96 VP8/90000\r\n\
a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n";

    #[test]
    fn hints_go_on_video_codecs_only() {
        let out = with_bitrate_hints(SDP, 1000, 2500);
        let hint = "x-google-start-bitrate=1000;x-google-max-bitrate=2500";
        assert!(out.contains(&format!(
            "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;{hint}\r\n"
        )));
        assert!(out.contains(&format!("a=rtpmap:96 VP8/90000\r\na=fmtp:96 {hint}\r\n")));
        assert!(out.contains("a=fmtp:103 apt=102\r\n"), "RTX untouched");
        assert!(
            out.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"),
            "audio untouched"
        );
        assert_eq!(out.matches("x-google-start-bitrate").count(), 2);
        assert_eq!(with_bitrate_hints(&out, 1000, 2500), out, "applied once");
        assert!(out.ends_with("\r\n") && !out.contains("\r\n\r\n"));
    }

    #[test]
    fn an_sdp_without_video_is_unchanged() {
        let audio_only = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert_eq!(with_bitrate_hints(audio_only, 1000, 2500), audio_only);
    }
}
