//! NX IDs: typed addresses and wire JIDs normalise or error; a normalised ID is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nx::NxId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for id in [NxId::normalize(text, Some("simu.local")), NxId::parse_jid(text)].into_iter().flatten() {
        let again = NxId::parse_jid(&id.to_string()).expect("a normalised ID parses");
        assert_eq!(again, id);
    }
});
