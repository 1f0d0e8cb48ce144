//! REGISTER scenarios against stored bindings.

use super::*;
use crate::sip::{Message, parse_message};

const NOW: u64 = 1_700_000_000;

fn register(call_id: &str, cseq: u32, extra: &str) -> Request {
    let text = format!(
        "REGISTER sip:scope SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKr{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@scope>;tag=f\r\nTo: <sip:alice@scope>\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn plan(req: &Request, existing: &[Binding]) -> Result<RegisterPlan, RegisterError> {
    plan_register(req, existing, &RegistrarConfig::default(), NOW)
}

fn put_of(p: &RegisterPlan) -> Vec<(&str, u32)> {
    p.ops
        .iter()
        .filter_map(|op| match op {
            BindingOp::Put { binding, ttl } => Some((binding.contact.as_str(), *ttl)),
            BindingOp::Remove(_) => None,
        })
        .collect()
}

#[test]
fn adds_contacts_with_param_header_and_default_expiry() {
    let req = register(
        "c1",
        1,
        "Contact: <sip:alice@192.0.2.9>;expires=120, <sip:alice@198.51.100.1>\r\nExpires: 300\r\n",
    );
    let p = plan(&req, &[]).unwrap();
    assert_eq!(p.aor.as_str(), "sip:alice@scope");
    assert_eq!(
        put_of(&p),
        [
            ("sip:alice@192.0.2.9", 120),
            ("sip:alice@198.51.100.1", 300)
        ]
    );
    let req = register("c1", 1, "Contact: <sip:alice@192.0.2.9>\r\n");
    assert_eq!(
        put_of(&plan(&req, &[]).unwrap()),
        [("sip:alice@192.0.2.9", 3600)]
    );
    let req = register("c1", 1, "Contact: <sip:alice@192.0.2.9>;expires=99999\r\n");
    assert_eq!(
        put_of(&plan(&req, &[]).unwrap())[0].1,
        3600,
        "capped at max"
    );
}

#[test]
fn refresh_replaces_and_query_lists() {
    let first = plan(
        &register("c1", 1, "Contact: <sip:alice@192.0.2.9>\r\n"),
        &[],
    )
    .unwrap();
    let refreshed = plan(
        &register("c1", 2, "Contact: <sip:alice@192.0.2.9>;expires=600\r\n"),
        &first.bindings,
    )
    .unwrap();
    assert!(matches!(
        &refreshed.ops[..],
        [BindingOp::Remove(_), BindingOp::Put { ttl: 600, .. }]
    ));
    assert_eq!(refreshed.bindings.len(), 1);
    let query = plan(&register("other", 9, ""), &refreshed.bindings).unwrap();
    assert!(query.ops.is_empty());
    assert_eq!(query.bindings, refreshed.bindings);
    let stale = plan(
        &register("c1", 2, "Contact: <sip:alice@192.0.2.9>\r\n"),
        &refreshed.bindings,
    );
    assert_eq!(stale, Err(RegisterError::OutOfOrder));
}

#[test]
fn expires_zero_removes_only_own_binding() {
    let first = plan(
        &register("c1", 1, "Contact: <sip:alice@192.0.2.9>\r\n"),
        &[],
    )
    .unwrap();
    let remove = plan(
        &register("c1", 2, "Contact: <sip:alice@192.0.2.9>\r\nExpires: 0\r\n"),
        &first.bindings,
    )
    .unwrap();
    assert!(matches!(&remove.ops[..], [BindingOp::Remove(b)] if b.call_id == "c1"));
    assert!(remove.bindings.is_empty());
    let stranger = plan(
        &register("evil", 5, "Contact: <sip:alice@192.0.2.9>;expires=0\r\n"),
        &first.bindings,
    );
    assert_eq!(stranger, Err(RegisterError::NotOwner));
}

#[test]
fn instance_owns_across_call_ids() {
    let inst = "Contact: <sip:alice@192.0.2.9;ob>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n";
    let first = plan(&register("boot1", 1, inst), &[]).unwrap();
    assert_eq!(first.bindings[0].instance.as_deref(), Some("<urn:uuid:1>"));
    let moved = "Contact: <sip:alice@203.0.113.5;ob>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n";
    let after_reboot = plan(&register("boot2", 1, moved), &first.bindings).unwrap();
    assert!(matches!(
        &after_reboot.ops[..],
        [BindingOp::Remove(_), BindingOp::Put { .. }]
    ));
    assert_eq!(after_reboot.bindings.len(), 1);
    assert_eq!(after_reboot.bindings[0].contact, "sip:alice@203.0.113.5;ob");
}

#[test]
fn wildcard_rules() {
    let a = plan(
        &register("c1", 1, "Contact: <sip:alice@192.0.2.9>\r\n"),
        &[],
    )
    .unwrap();
    let both = plan(
        &register("c2", 1, "Contact: <sip:alice@198.51.100.1>\r\n"),
        &a.bindings,
    )
    .unwrap();
    let wipe = plan(
        &register("c1", 2, "Contact: *\r\nExpires: 0\r\n"),
        &both.bindings,
    )
    .unwrap();
    assert_eq!(wipe.ops.len(), 1);
    assert_eq!(wipe.bindings.len(), 1, "the other device's binding stays");
    for bad in [
        "Contact: *\r\n",
        "Contact: *\r\nExpires: 10\r\n",
        "Contact: *, <sip:a@b>\r\nExpires: 0\r\n",
    ] {
        let err = plan(&register("c1", 3, bad), &both.bindings).unwrap_err();
        assert_eq!(
            (err.clone(), err.status_code()),
            (RegisterError::BadWildcard, 400)
        );
    }
}

#[test]
fn too_brief_gets_423_with_min_expires() {
    let req = register("c1", 1, "Contact: <sip:alice@192.0.2.9>;expires=30\r\n");
    let err = plan(&req, &[]).unwrap_err();
    assert_eq!(
        err,
        RegisterError::IntervalTooBrief {
            requested: 30,
            min: 60
        }
    );
    let resp = register_error_response(&req, &err, "t");
    assert_eq!(
        (resp.status, resp.headers.get("Min-Expires")),
        (423, Some("60"))
    );
}

#[test]
fn foreign_domain_is_refused() {
    let text = register("c1", 1, "").to_bytes();
    let text = String::from_utf8(text)
        .unwrap()
        .replace("To: <sip:alice@scope>", "To: <sip:alice@example.com>");
    let Message::Request(req) = parse_message(text.as_bytes()).unwrap() else {
        unreachable!()
    };
    assert_eq!(plan(&req, &[]), Err(RegisterError::NotOverlay));
}

#[test]
fn ok_lists_live_bindings_once() {
    let a = plan(
        &register("c1", 1, "Contact: <sip:alice@192.0.2.9>;expires=100\r\n"),
        &[],
    )
    .unwrap();
    let b = plan(
        &register("c2", 1, "Contact: <sip:alice@192.0.2.9>;expires=200\r\n"),
        &a.bindings,
    )
    .unwrap();
    assert_eq!(b.bindings.len(), 2, "a new Call-ID adds its own binding");
    let req = register("c2", 1, "");
    let resp = register_ok(&req, &b.bindings, NOW + 50, "tag1");
    let contacts: Vec<_> = resp.headers.get_all("Contact").collect();
    assert_eq!(contacts, ["<sip:alice@192.0.2.9>;expires=150"]);
    assert_eq!(resp.headers.to().unwrap().tag(), Some("tag1"));
    assert_eq!(
        register_ok(&req, &b.bindings, NOW + 500, "t")
            .headers
            .get("Contact"),
        None
    );
}
