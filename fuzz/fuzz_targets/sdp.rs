//! SDP from a peer (webrtc_offer / webrtc_answer bodies), through the parser webrtc 0.21.1
//! uses: parses or errors, never panics; what parses marshals to SDP that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtc_sdp::SessionDescription;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sd) = SessionDescription::unmarshal(&mut std::io::Cursor::new(text.as_bytes())) {
        let again = sd.marshal();
        SessionDescription::unmarshal(&mut std::io::Cursor::new(again.as_bytes())).expect("marshalled SDP parses");
    }
});
