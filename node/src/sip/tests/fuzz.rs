//! Property tests: no input makes the parser, the framer or the error salvager panic, and
//! whatever parses re-serialises to something that parses to the same message.

use proptest::prelude::*;

use crate::sip::{Limits, error_response, frame_stream, parse_message};

const SEED: &[u8] = b"INVITE sip:bob@scope SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa;rport\r\n\
Max-Forwards: 70\r\nTo: \"Bob\" <sip:bob@scope>\r\nFrom: <sip:alice@scope>;tag=1\r\nCall-ID: x@y\r\n\
CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>;expires=60, <sip:a@[2001:db8::1]:5070>\r\n\
Route: <sip:10.0.0.1;lr>\r\nContent-Length: 4\r\n\r\nbody";

fn exercise(bytes: &[u8]) {
    match parse_message(bytes) {
        Ok(msg) => {
            let again = parse_message(&msg.to_bytes()).expect("serialised message must parse");
            assert_eq!(parse_message(&again.to_bytes()).expect("stable"), again);
            let _ = msg.headers().contacts();
            let _ = msg.headers().routes();
        }
        Err(e) => {
            let _ = error_response(bytes, &e);
        }
    }
    let _ = frame_stream(bytes, &Limits::default());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn sip_fuzz_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn sip_fuzz_mutated_messages(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12)
    ) {
        let mut bytes = SEED.to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        exercise(&bytes);
    }

    #[test]
    fn sip_fuzz_structured_tokens(parts in proptest::collection::vec(
        prop::sample::select(vec![":", ";", ",", "<", ">", "\"", "\\", " ", "\r\n", "\r\n ", "=", "@", "sip:", "[", "]", "%", "?", "Via", "To", "SIP/2.0", "z9hG4bK", "0", "99999999999999999999"]),
        0..64,
    )) {
        let mut bytes = b"OPTIONS sip:a@b SIP/2.0\r\nTo: ".to_vec();
        bytes.extend(parts.concat().into_bytes());
        bytes.extend_from_slice(b"\r\n\r\n");
        exercise(&bytes);
    }
}
