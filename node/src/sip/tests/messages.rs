//! Typical messages of every method the node handles.

use crate::sip::{
    Contact, HeaderName, Message, Method, Request, Uri, decrement_max_forwards, name,
    parse_message, response_for,
};

fn request(text: &str) -> Request {
    match parse_message(text.replace('\n', "\r\n").as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(r) => panic!("response {}", r.status),
    }
}

fn simple(method: &str, extra: &str) -> String {
    format!(
        "{method} sip:bob@scope SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\n\
         Max-Forwards: 70\nTo: Bob <sip:bob@scope>\nFrom: Alice <sip:alice@scope>;tag=1928301774\n\
         Call-ID: a84b4c76e66710@pc33.scope\nCSeq: 314159 {method}\n{extra}Content-Length: 0\n\n"
    )
}

#[test]
fn sip_parses_every_common_method() {
    for m in [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "MESSAGE",
        "REGISTER",
        "INFO",
        "UPDATE",
        "SUBSCRIBE",
        "NOTIFY",
    ] {
        let r = request(&simple(m, ""));
        assert_eq!(r.method.as_str(), m);
        assert_eq!(
            r.headers.top_via().unwrap().rfc3261_branch(),
            Some("z9hG4bK776asdhds")
        );
        assert_eq!(r.headers.cseq().unwrap().method, m);
    }
    assert_eq!(
        request(&simple("FOO", "")).method,
        Method::Other("FOO".into())
    );
}

#[test]
fn sip_register_with_contacts_and_expires() {
    let r = request(&simple(
        "REGISTER",
        "Contact: <sip:alice@192.0.2.1:5060>;expires=120;+sip.instance=\"<urn:uuid:1>\", sip:alice@10.0.0.1;q=0.5\nExpires: 3600\n",
    ));
    let contacts = r.headers.contacts().unwrap();
    let Contact::Addr(first) = &contacts[0] else {
        panic!()
    };
    assert_eq!(first.params.get("expires"), Some(Some("120")));
    assert_eq!(
        first.params.get_unquoted("+sip.instance"),
        Some("<urn:uuid:1>")
    );
    assert_eq!(contacts.len(), 2);
    assert_eq!(r.headers.expires().unwrap(), Some(3600));
    let star = request(&simple("REGISTER", "Contact: *\nExpires: 0\n"));
    assert_eq!(star.headers.contacts().unwrap(), [&Contact::Wildcard]);
}

#[test]
fn sip_invite_with_body_routes_and_compact_forms() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    let text = format!(
        "INVITE sip:bob@scope SIP/2.0\r\nv: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKx, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKy\r\n\
         Route: <sip:10.0.0.9;lr>, <sip:10.0.0.8;lr>\r\nRecord-Route: <sip:10.0.0.7;lr>\r\nt: <sip:bob@scope>\r\n\
         f: <sip:alice@scope>;tag=1\r\ni: cid\r\nCSeq: 1 INVITE\r\nm: <sip:alice@192.0.2.1>\r\nc: application/sdp\r\n\
         k: timer\r\ns: hi\r\ne: gzip\r\nl: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let Message::Request(r) = parse_message(text.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.body, sdp.as_bytes());
    assert_eq!(r.headers.vias().unwrap().len(), 2);
    assert_eq!(
        r.headers.routes().unwrap()[1].uri.to_string(),
        "sip:10.0.0.8;lr"
    );
    assert_eq!(r.headers.record_routes().unwrap().len(), 1);
    for h in [
        name::CONTENT_TYPE,
        name::SUPPORTED,
        name::SUBJECT,
        name::CONTENT_ENCODING,
        name::CALL_ID,
    ] {
        assert!(r.headers.get(h).is_some(), "{h}");
    }
    let again = parse_message(&r.to_bytes()).unwrap();
    assert_eq!(again, Message::Request(r));
}

#[test]
fn sip_responses_parse_and_build() {
    let invite = request(&simple("INVITE", ""));
    let ok = response_for(&invite, 200, "OK", Some("as83kd"));
    let Message::Response(parsed) = parse_message(&ok.to_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(parsed.status, 200);
    assert_eq!(parsed.headers.to().unwrap().tag(), Some("as83kd"));
    assert_eq!(parsed.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    assert_eq!(parsed.headers.cseq().unwrap().method, "INVITE");
    // The tag lands among the header parameters whatever form To has.
    for to in [
        "sip:bob@scope",
        "sip:bob@scope;x=1",
        "<sip:bob@scope;transport=udp>;x=1",
        "\"Bob; Jr\" <sip:bob@scope>",
    ] {
        let text = simple("MESSAGE", "").replace("To: Bob <sip:bob@scope>", &format!("To: {to}"));
        let ok = response_for(&request(&text), 200, "OK", Some("t1"));
        let Message::Response(parsed) = parse_message(&ok.to_bytes()).unwrap() else {
            panic!()
        };
        let parsed_to = parsed.headers.to().unwrap();
        assert_eq!(parsed_to.tag(), Some("t1"), "{to}");
        assert!(!parsed_to.uri.to_string().contains("tag"), "{to}");
    }
    let trying = response_for(&invite, 100, "Trying", Some("x"));
    assert_eq!(
        trying.headers.to().unwrap().tag(),
        None,
        "100 Trying gets no tag"
    );
}

#[test]
fn sip_proxy_helpers() {
    let mut r = request(&simple("MESSAGE", "Max-Forwards: 1\n").replace("Max-Forwards: 70\n", ""));
    assert_eq!(decrement_max_forwards(&mut r).unwrap(), Some(0));
    assert_eq!(decrement_max_forwards(&mut r).unwrap(), None, "483 at zero");
    r.headers.push_front(
        HeaderName::from_static(name::VIA),
        "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKproxy",
    );
    assert_eq!(r.headers.top_via().unwrap().host, "10.0.0.1");
    assert_eq!(
        r.headers.remove_first(name::VIA).as_deref(),
        Some("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKproxy")
    );
    assert!(matches!(r.uri, Uri::Sip(ref u) if u.host == "scope"));
}

#[test]
fn sip_bounds_are_enforced() {
    let flood: String = (0..150).map(|i| format!("X-H{i}: v\n")).collect();
    let err =
        parse_message(simple("OPTIONS", &flood).replace('\n', "\r\n").as_bytes()).unwrap_err();
    assert_eq!(err.status_code(), 400);
    let big = format!("X-Big: {}\n", "a".repeat(70_000));
    let err = parse_message(simple("OPTIONS", &big).as_bytes()).unwrap_err();
    assert_eq!(err.status_code(), 413);
    let reply = crate::sip::error_response(simple("OPTIONS", &big).as_bytes(), &err).unwrap();
    assert_eq!(reply.status, 413);
    assert!(crate::sip::error_response(b"\x00\x01garbage", &err).is_none());
}

#[test]
fn sip_list_headers_and_route_helpers() {
    let r = request(&simple(
        "OPTIONS",
        "Supported: timer, 100rel\nSupported: path\nRoute: <sip:10.0.0.1;lr>, <sip:10.0.0.2>\nContact: <sip:a@b>;expires=90\n",
    ));
    assert_eq!(
        r.headers.list("Supported").unwrap(),
        ["timer", "100rel", "path"]
    );
    let routes = r.headers.routes().unwrap();
    assert!(routes[0].is_loose_route() && !routes[1].is_loose_route());
    let Contact::Addr(c) = &r.headers.contacts().unwrap()[0] else {
        panic!()
    };
    assert_eq!(c.expires(), Some(90));
}

#[test]
fn sip_received_and_rport_stamping() {
    let mut r = request(&simple("OPTIONS", ""));
    crate::sip::stamp_received(&mut r, "203.0.113.9:40000".parse().unwrap()).unwrap();
    let via = r.headers.top_via().unwrap();
    assert_eq!(via.params.get("received"), Some(Some("203.0.113.9")));
    assert_eq!(via.response_target(5060), ("203.0.113.9".to_owned(), 40000));
    assert_eq!(r.headers.vias().unwrap().len(), 1);
    let mut same = request(&simple("OPTIONS", "").replace(";rport", ""));
    crate::sip::stamp_received(&mut same, "192.0.2.1:5060".parse().unwrap()).unwrap();
    assert_eq!(same.headers.top_via().unwrap().params.get("received"), None);
    assert_eq!(
        same.headers.top_via().unwrap().response_target(5060),
        ("192.0.2.1".to_owned(), 5060)
    );
}

#[test]
fn sip_header_values_survive_folding_lists_and_bad_utf8() {
    let mut bytes = simple(
        "REGISTER",
        "Contact: <sip:a@192.0.2.1> , \"B, b\" <sip:b@192.0.2.2>\nX-Note: caf\n  au lait\n",
    )
    .replace('\n', "\r\n")
    .into_bytes();
    let at = bytes.windows(4).position(|w| w == b"caf\r").unwrap() + 3;
    bytes.insert(at, 0xe9);
    let Message::Request(mut r) = parse_message(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(r.headers.get("X-Note"), Some("caf\u{fffd} au lait"));
    assert_eq!(
        r.headers.get_all(name::CONTACT).collect::<Vec<_>>(),
        ["<sip:a@192.0.2.1>", "\"B, b\" <sip:b@192.0.2.2>"]
    );
    // A response shares the request's values; a removed value keeps its text.
    let ok = response_for(&r, 200, "OK", Some("t"));
    assert_eq!(ok.headers.get(name::CALL_ID), r.headers.get(name::CALL_ID));
    assert_eq!(
        r.headers.remove_first(name::CONTACT).as_deref(),
        Some("<sip:a@192.0.2.1>")
    );
    assert_eq!(r.headers.contacts().unwrap().len(), 1);
}
