//! Signaling JSON from a peer: parses or errors, and what parses serialises and parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nx::signal::Signal;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(s) = Signal::parse(text) {
        let again = Signal::parse(&s.to_json()).expect("round trip");
        assert_eq!(again.to_json(), s.to_json());
    }
});
