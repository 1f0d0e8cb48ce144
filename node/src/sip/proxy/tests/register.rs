//! REGISTER through the DHT outputs.

use super::*;

fn register(user: &str, contact: &str, call_id: &str, cseq: u32, extra: &str) -> String {
    format!(
        "REGISTER sip:scope SIP/2.0\nVia: SIP/2.0/UDP {contact};branch=z9hG4bKr{call_id}{cseq};rport\n\
         Max-Forwards: 70\nFrom: <sip:{user}@scope>;tag=f\nTo: <sip:{user}@scope>\n\
         Call-ID: {call_id}\nCSeq: {cseq} REGISTER\nContact: <sip:{user}@{contact}>{extra}\n\
         Content-Length: 0\n\n"
    )
}

fn contacts(resp: &Response) -> Vec<String> {
    resp.headers
        .get_all(name::CONTACT)
        .map(str::to_owned)
        .collect()
}

#[test]
fn register_add_refresh_remove() {
    let mut h = Harness::new();
    h.send(BOB1, &register("bob", BOB1, "c1", 1, ";expires=300"));
    // A first registration is planned on "no bindings yet" and stored on that condition,
    // with no read first.
    let outs = h.outputs();
    assert!(
        matches!(&outs[..], [Output::Store { key, expect: Some(view), ops, .. }]
        if *key == key_of("bob") && view.is_empty()
            && matches!(&ops[..], [BindingOp::Put { ttl: 300, .. }]))
    );
    assert!(h.sent().is_empty(), "no answer before the DHT replies");
    h.answer(outs.into_iter().next().unwrap());
    let ok = response_to(&h.sent(), BOB1, 200);
    assert_eq!(contacts(&ok), [format!("<sip:bob@{BOB1}>;expires=300")]);
    assert_eq!(h.dht[&key_of("bob")].len(), 1);

    h.now += Duration::from_secs(100);
    h.send(BOB1, &register("bob", BOB1, "c1", 2, ";expires=600"));
    // The refresh is planned on the binding this registrar stored.
    let outs = h.outputs();
    assert!(
        matches!(&outs[..], [Output::Store { expect: Some(view), ops, .. }]
        if view.len() == 1 && matches!(&ops[..], [BindingOp::Remove(_), BindingOp::Put { .. }]))
    );
    outs.into_iter().for_each(|o| h.answer(o));
    let ok = response_to(&h.sent(), BOB1, 200);
    assert_eq!(contacts(&ok), [format!("<sip:bob@{BOB1}>;expires=600")]);
    assert_eq!(h.dht[&key_of("bob")].len(), 1, "refresh replaces");

    h.send(BOB1, &register("bob", BOB1, "c1", 3, ";expires=0"));
    h.serve_dht();
    let ok = response_to(&h.sent(), BOB1, 200);
    assert!(contacts(&ok).is_empty());
    assert!(h.dht[&key_of("bob")].is_empty());
    let m = h.proxy.metrics();
    assert_eq!(m.requests["REGISTER"], 3);
    assert_eq!(m.register_lookup.count, 0, "every view held: no reads");
    assert_eq!(m.register_store.count, 3);
    assert_eq!(h.proxy.take_dht_timings().len(), 3);
    h.assert_idle_after_timers();
}

#[test]
fn register_errors_and_dht_failures() {
    let mut h = Harness::new();
    h.send(BOB1, &register("bob", BOB1, "c1", 1, ";expires=10"));
    h.serve_dht();
    let brief = response_to(&h.sent(), BOB1, 423);
    assert_eq!(brief.headers.get("Min-Expires"), Some("60"));
    // The DHT never answers: 503 at the deadline, and a late answer is ignored.
    h.send(BOB1, &register("bob", BOB1, "c2", 1, ""));
    let Some(Output::Store { id, .. }) = h.outputs().pop() else {
        panic!("store expected")
    };
    let sent = h.advance(Duration::from_secs(6));
    assert_eq!(statuses_to(&sent, BOB1), [503]);
    // The device is told to come back in a few seconds, not at once.
    let unavailable = response_to(&sent, BOB1, 503);
    let after: u32 = unavailable
        .headers
        .get("Retry-After")
        .unwrap()
        .parse()
        .unwrap();
    assert!((5..=15).contains(&after), "Retry-After {after}");
    h.proxy.handle_store_done(h.now, id, Ok(Stored::Applied));
    assert!(h.outputs().is_empty() && h.sent().is_empty());
    // A store failure is a 503 too, after a read as well as on a guess.
    h.send(BOB1, &register("bob", BOB1, "c3", 1, ""));
    let Some(Output::Store { id, .. }) = h.outputs().pop() else {
        panic!("store expected")
    };
    // A stale answer without the stored bindings (too many for one answer): read them.
    h.proxy
        .handle_store_done(h.now, id, Ok(Stored::Stale(None)));
    let lookup = h.outputs().pop().unwrap();
    assert!(matches!(lookup, Output::Lookup { .. }));
    h.answer(lookup);
    let Some(Output::Store {
        id, expect: None, ..
    }) = h.outputs().pop()
    else {
        panic!("store expected")
    };
    h.proxy
        .handle_store_done(h.now, id, Err(DhtError::Failed("full".into())));
    assert_eq!(statuses_to(&h.sent(), BOB1), [503]);
    assert_eq!(h.proxy.metrics().dht_failures, 2);
    assert_eq!(h.proxy.metrics().register_stale_views, 1);
    h.assert_idle_after_timers();
}

#[test]
fn many_concurrent_registers_with_interleaved_answers() {
    let mut h = Harness::new();
    let n = 60;
    let source = |i: usize| format!("192.0.2.{}:5060", 100 + i);
    for i in 0..n {
        h.send(
            &source(i),
            &register(&format!("u{i}"), &source(i), &format!("c{i}"), 1, ""),
        );
    }
    // Each is stored at once, on the guess that the AOR has no bindings yet.
    let stores = h.outputs();
    assert_eq!(stores.len(), n);
    assert_eq!(h.proxy.dht_pending(), n);
    // Answer the odd ones first.
    let (odd, even): (Vec<_>, Vec<_>) = stores
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 1);
    for (_, o) in odd.into_iter().chain(even) {
        h.now += Duration::from_millis(3);
        h.answer(o);
    }
    let sent = h.sent();
    for i in 0..n {
        let ok = response_to(&sent, &source(i), 200);
        assert_eq!(
            contacts(&ok),
            [format!("<sip:u{i}@{}>;expires=3600", source(i))]
        );
        assert_eq!(h.dht[&key_of(&format!("u{i}"))].len(), 1);
    }
    assert_eq!(h.proxy.metrics().register_store.count, n as u64);
    assert!(h.proxy.metrics().register_store.max >= Duration::from_millis(3));
    h.assert_idle_after_timers();
}

#[test]
fn a_stale_view_plans_again_on_the_bindings_the_answer_carried() {
    let mut h = Harness::new();
    // Bob's phone registered through another super-node: this one has no view of it.
    h.send(BOB1, &register("bob", BOB1, "c1", 1, ""));
    h.serve_dht();
    let _ = h.sent();
    let phone = h.dht[&key_of("bob")].clone();
    let mut other = Harness::new();
    other.dht.insert(key_of("bob"), phone);
    // Bob's laptop registers here: planned on "no bindings", found stale; the stale answer
    // carries the phone's binding, so the plan is made again on it and stored with no read.
    other.send(BOB2, &register("bob", BOB2, "c2", 1, ""));
    let outs = other.outputs();
    assert!(matches!(&outs[..], [Output::Store { expect: Some(v), .. }] if v.is_empty()));
    outs.into_iter().for_each(|o| other.answer(o));
    let outs = other.outputs();
    assert!(
        matches!(&outs[..], [Output::Store { expect: None, ops, .. }]
        if matches!(&ops[..], [BindingOp::Put { .. }])),
        "{outs:?}"
    );
    outs.into_iter().for_each(|o| other.answer(o));
    let ok = response_to(&other.sent(), BOB2, 200);
    assert_eq!(contacts(&ok).len(), 2, "both devices listed");
    assert_eq!(other.proxy.metrics().register_stale_views, 1);
    assert_eq!(other.proxy.metrics().register_lookup.count, 0, "no read");
    // The phone repeating its CSeq here is refused on this node's view (out of order); a
    // refusal made on a view is checked by a read before it is answered.
    other.send(BOB1, &register("bob", BOB1, "c1", 1, ""));
    let outs = other.outputs();
    assert!(matches!(&outs[..], [Output::Lookup { .. }]), "{outs:?}");
    outs.into_iter().for_each(|o| other.answer(o));
    let _ = response_to(&other.sent(), BOB1, 500);
    other.assert_idle_after_timers();
}

#[test]
fn register_storm_sheds_udp_while_the_dht_is_behind() {
    let mut h = Harness::new();
    h.proxy.handle_location_backlog(Duration::from_millis(250));
    let text = register("bob", BOB1, "storm", 1, ";expires=300");
    h.send(BOB1, &text);
    // Dropped unanswered: no DHT work, no response, no transaction left to absorb the
    // retransmission.
    assert!(h.outputs().is_empty());
    assert!(h.sent().is_empty());
    assert_eq!(h.proxy.transactions_active(), 0);
    assert_eq!(h.proxy.metrics().shed, 1);

    // Over TCP there is no retransmission to count on: the REGISTER is served.
    let tcp = register("carol", BOB1, "storm-tcp", 1, ";expires=300").replace('\n', "\r\n");
    h.proxy
        .handle_bytes(h.now, tcp.as_bytes(), addr(BOB1), Link::Tcp(None))
        .unwrap();
    assert_eq!(h.outputs().len(), 1, "a TCP REGISTER is never shed");
    assert_eq!(h.proxy.metrics().shed, 1);

    // Once the backlog drains, the phone's retransmission of the same datagram is served.
    h.proxy.handle_location_backlog(Duration::from_millis(20));
    h.now += Duration::from_millis(500);
    h.send(BOB1, &text);
    h.serve_dht();
    let ok = response_to(&h.sent(), BOB1, 200);
    assert_eq!(contacts(&ok), [format!("<sip:bob@{BOB1}>;expires=300")]);
    assert_eq!(h.proxy.metrics().shed, 1);
    assert_eq!(h.proxy.metrics().requests["REGISTER"], 3);

    // A retransmission of a REGISTER already taken in still reaches its transaction while
    // shedding (here: answered again from the completed transaction), and is not counted.
    h.proxy.handle_location_backlog(Duration::from_millis(250));
    h.send(BOB1, &text);
    let again = response_to(&h.sent(), BOB1, 200);
    assert_eq!(
        again.headers.get(name::CALL_ID),
        ok.headers.get(name::CALL_ID)
    );
    assert_eq!(h.proxy.metrics().shed, 1);
    // A REGISTER after keep-alive CRLFs is recognised as one.
    h.send(
        BOB1,
        &format!("\n\n{}", register("dave", BOB1, "storm-crlf", 1, "")),
    );
    assert!(h.outputs().is_empty());
    assert_eq!(h.proxy.metrics().shed, 2);
}
