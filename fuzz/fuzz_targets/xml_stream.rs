//! The XMPP stream parser: any bytes, split into frames at any points, give the same stanzas
//! as the whole input or an error, never a panic; parsed stanzas serialise and parse back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nx::xml::{parse_element, StanzaParser};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut whole = StanzaParser::new(4096);
    let all = whole.push(text);
    let mut framed = StanzaParser::new(4096);
    let step = usize::from(split % 16) + 1;
    let mut got = Vec::new();
    let mut failed = false;
    let chars: Vec<char> = text.chars().collect();
    for chunk in chars.chunks(step) {
        match framed.push(&chunk.iter().collect::<String>()) {
            Ok(v) => got.extend(v),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if let (Ok(all), false) = (&all, failed) {
        assert_eq!(all, &got, "framing changed the stanzas");
        for el in all {
            let again = parse_element(&el.to_xml()).expect("a parsed stanza serialises to valid XML");
            assert_eq!(&again, el);
        }
    }
});
