//! Link parsers: `tel:`/`simu:` dial links and call links in chat text never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = nx::parse_dial_link(text);
    let _ = nx::signal::parse_call_link(text);
});
