//! Content-Length framing on stream transports.

use crate::sip::{Frame, Limits, ParseError, frame_stream, parse_message};

fn message(body: &str) -> Vec<u8> {
    format!(
        "MESSAGE sip:bob@scope SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKf\r\nMax-Forwards: 70\r\n\
         To: <sip:bob@scope>\r\nFrom: <sip:alice@scope>;tag=1\r\nCall-ID: f1\r\nCSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\nl: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Feeds `stream` in chunks and returns the messages framed from it.
fn frame_all(stream: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let limits = Limits::default();
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match frame_stream(&buf, &limits) {
                Frame::Message { len } => out.push(buf.drain(..len).collect()),
                Frame::Keepalive { len } => drop(buf.drain(..len)),
                Frame::NeedMore => break,
                Frame::Invalid(e) => panic!("{e}"),
            }
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn sip_framing_split_and_concatenated() {
    let (a, b) = (message("hello"), message("second body, longer"));
    let mut stream = a.clone();
    stream.extend_from_slice(b"\r\n\r\n");
    stream.extend_from_slice(&b);
    for chunk in [1, 3, 7, 64, stream.len()] {
        let frames = frame_all(&stream, chunk);
        assert_eq!(frames, [a.clone(), b.clone()], "chunk {chunk}");
    }
    assert!(parse_message(&a).is_ok());
}

#[test]
fn sip_framing_rejects_oversize_and_bad_length() {
    let limits = Limits {
        max_message: 200,
        max_headers: 100,
    };
    assert!(matches!(
        frame_stream(&message(&"x".repeat(300)), &limits),
        Frame::Invalid(ParseError::TooLarge { limit: 200, .. })
    ));
    assert!(matches!(
        frame_stream(&[b'a'; 300], &limits),
        Frame::Invalid(ParseError::TooLarge { .. })
    ));
    assert_eq!(frame_stream(&[b'a'; 100], &limits), Frame::NeedMore);
    let bad = String::from_utf8(message(""))
        .unwrap()
        .replace("l: 0", "l: -1");
    assert!(matches!(
        frame_stream(bad.as_bytes(), &Limits::default()),
        Frame::Invalid(_)
    ));
    let huge = String::from_utf8(message(""))
        .unwrap()
        .replace("l: 0", "l: 99999999999999999999999");
    assert!(matches!(
        frame_stream(huge.as_bytes(), &Limits::default()),
        Frame::Invalid(_)
    ));
}
