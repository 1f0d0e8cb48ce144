//! RFC 4475 torture messages, written for SCOPE from the RFC's descriptions
//! (`node/tests/data/rfc4475/{valid,invalid}/*.sip`).

use std::path::PathBuf;

use crate::sip::{Message, ParseError, error_response, parse_message};

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc4475")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() > 15, "corpus {kind} is incomplete");
    files
}

fn parse_ok(name: &str, bytes: &[u8]) -> Message {
    parse_message(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn sip_torture_valid_messages_parse_and_reserialise_stably() {
    for (name, bytes) in corpus("valid") {
        let msg = parse_ok(&name, &bytes);
        let once = parse_ok(&name, &msg.to_bytes());
        assert_eq!(
            parse_ok(&name, &once.to_bytes()),
            once,
            "{name}: serialise/parse is not stable"
        );
        assert_eq!(
            once.headers().vias().unwrap(),
            msg.headers().vias().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn sip_torture_invalid_messages_are_rejected_with_400_or_505() {
    for (name, bytes) in corpus("invalid") {
        let err = parse_message(&bytes)
            .err()
            .unwrap_or_else(|| panic!("{name} parsed"));
        let expected = if name == "badvers" { 505 } else { 400 };
        assert_eq!(err.status_code(), expected, "{name}: {err}");
        let is_response = bytes.starts_with(b"SIP/");
        let reply = error_response(&bytes, &err);
        // Responses are never answered; requests are answered when Via and friends survive.
        assert!(!is_response || reply.is_none(), "{name}");
        if let Some(r) = reply {
            assert_eq!(r.status, expected, "{name}");
        }
    }
}

#[test]
fn sip_torture_details() {
    let read = |n: &str| {
        std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/rfc4475")
                .join(n),
        )
        .unwrap()
    };
    let Message::Request(wsinv) = parse_message(&read("valid/wsinv.sip")).unwrap() else {
        panic!()
    };
    assert_eq!(wsinv.headers.cseq().unwrap().seq, 9);
    assert_eq!(wsinv.headers.max_forwards().unwrap(), Some(68));
    assert_eq!(wsinv.headers.vias().unwrap().len(), 3);
    assert_eq!(
        wsinv.headers.vias().unwrap()[2].branch(),
        Some("z9hG4bK30239")
    );
    assert_eq!(wsinv.headers.to().unwrap().tag(), Some("1918181833n"));
    assert_eq!(
        wsinv.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    let Message::Request(dbl) = parse_message(&read("valid/dblreq.sip")).unwrap() else {
        panic!()
    };
    assert!(
        dbl.body.is_empty(),
        "bytes after Content-Length are ignored on UDP"
    );
    let Message::Response(noreason) = parse_message(&read("valid/noreason.sip")).unwrap() else {
        panic!()
    };
    assert_eq!((noreason.status, noreason.reason.as_str()), (100, ""));
    let clerr = parse_message(&read("invalid/clerr.sip")).unwrap_err();
    assert!(matches!(
        clerr,
        ParseError::BodyTruncated {
            announced: 9999,
            ..
        }
    ));
}
