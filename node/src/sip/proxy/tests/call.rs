//! Calls and other proxied requests.

use super::*;

/// Alice's INVITE to bob, answered from the fake DHT; returns what the proxy sent.
fn invite_bob(h: &mut Harness, branch: &str) -> Vec<(SocketAddr, Message)> {
    h.send(
        ALICE,
        &from_alice("INVITE", "sip:bob@scope", branch, "call1", ""),
    );
    let trying = h.sent();
    assert_eq!(statuses_to(&trying, ALICE), [100], "100 Trying at once");
    h.serve_dht();
    h.sent()
}

#[test]
fn invite_ring_answer_ack_bye_through_the_proxy() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    let sent = invite_bob(&mut h, "i1");
    let inv = only_request(&sent, BOB1, Method::Invite);
    assert_eq!(inv.uri.to_string(), format!("sip:bob@{BOB1}"));
    let vias = inv.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].sent_by(), PROXY);
    assert!(vias[0].rfc3261_branch().is_some());
    assert_eq!(vias[1].params.get("received"), None, "same IP as sent-by");
    assert_eq!(vias[1].params.get("rport"), Some(Some("5060")));
    assert_eq!(
        inv.headers.get(name::RECORD_ROUTE),
        Some(format!("<sip:{PROXY};lr>").as_str())
    );
    assert_eq!(inv.headers.max_forwards().unwrap(), Some(69));

    h.send_msg(BOB1, &uas_response(&inv, 180, "Ringing", BOB1));
    let ringing = response_to(&h.sent(), ALICE, 180);
    assert_eq!(ringing.headers.vias().unwrap().len(), 1, "our Via removed");
    h.send_msg(BOB1, &uas_response(&inv, 200, "OK", BOB1));
    let ok = response_to(&h.sent(), ALICE, 200);
    assert_eq!(
        ok.headers.get(name::RECORD_ROUTE),
        Some(format!("<sip:{PROXY};lr>").as_str())
    );

    // ACK and BYE follow the Record-Route: Route names us, Request-URI is Bob's contact.
    let in_dialog = |method: &str, branch: &str, cseq: u32| {
        format!(
            "{method} sip:bob@{BOB1} SIP/2.0\nVia: SIP/2.0/UDP {ALICE};branch=z9hG4bK{branch}\n\
             Route: <sip:{PROXY};lr>\nMax-Forwards: 70\nFrom: <sip:alice@scope>;tag=a1\n\
             To: <sip:bob@scope>;tag=b1\nCall-ID: call1\nCSeq: {cseq} {method}\nContent-Length: 0\n\n"
        )
    };
    h.send(ALICE, &in_dialog("ACK", "ack1", 1));
    let ack = only_request(&h.sent(), BOB1, Method::Ack);
    assert_eq!(ack.headers.get(name::ROUTE), None, "own Route popped");
    assert_eq!(ack.headers.vias().unwrap().len(), 2);
    h.send(ALICE, &in_dialog("BYE", "bye1", 2));
    let bye = only_request(&h.sent(), BOB1, Method::Bye);
    assert_eq!(
        bye.headers.get(name::RECORD_ROUTE),
        None,
        "no Record-Route in dialog"
    );
    h.send_msg(BOB1, &uas_response(&bye, 200, "OK", BOB1));
    assert_eq!(statuses_to(&h.sent(), ALICE), [200]);
    let m = h.proxy.metrics();
    assert_eq!(m.invite_lookup.count, 1);
    assert_eq!(m.requests["ACK"], 1);
    assert_eq!(m.responses_received[1], 2, "two 2xx received");
    h.assert_idle_after_timers();
}

#[test]
fn forking_to_two_contacts_cancels_the_loser() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    h.bind("bob", &format!("sip:bob@{BOB2};transport=tcp"));
    let sent = invite_bob(&mut h, "f1");
    let inv1 = only_request(&sent, BOB1, Method::Invite);
    let inv2 = only_request(&sent, BOB2, Method::Invite);
    assert_ne!(
        inv1.headers.top_via().unwrap().branch(),
        inv2.headers.top_via().unwrap().branch()
    );
    assert_eq!(inv2.headers.top_via().unwrap().transport, "TCP");
    h.send_msg(BOB1, &uas_response(&inv1, 180, "Ringing", BOB1));
    h.send_msg(BOB2, &uas_response(&inv2, 180, "Ringing", BOB2));
    assert_eq!(statuses_to(&h.sent(), ALICE), [180, 180]);
    h.send_msg(BOB2, &uas_response(&inv2, 200, "OK", BOB2));
    let sent = h.sent();
    assert_eq!(statuses_to(&sent, ALICE), [200]);
    let cancel = only_request(&sent, BOB1, Method::Cancel);
    assert_eq!(
        cancel.headers.top_via(),
        inv1.headers.top_via(),
        "same branch"
    );
    // Bob1 confirms the CANCEL and ends the INVITE with 487, which the proxy ACKs itself.
    h.send_msg(BOB1, &uas_response(&cancel, 200, "OK", BOB1));
    h.send_msg(BOB1, &uas_response(&inv1, 487, "Request Terminated", BOB1));
    let sent = h.sent();
    only_request(&sent, BOB1, Method::Ack);
    assert!(
        statuses_to(&sent, ALICE).is_empty(),
        "487 not relayed after 200"
    );
    h.assert_idle_after_timers();
}

#[test]
fn cancel_before_answer_gives_487_and_cancels_downstream() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    let inv = only_request(&invite_bob(&mut h, "c1"), BOB1, Method::Invite);
    h.send_msg(BOB1, &uas_response(&inv, 180, "Ringing", BOB1));
    h.sent();
    let cancel = from_alice("CANCEL", "sip:bob@scope", "c1", "call1", "");
    h.send(ALICE, &cancel);
    let sent = h.sent();
    let to_alice = statuses_to(&sent, ALICE);
    assert!(
        to_alice.contains(&200) && to_alice.contains(&487),
        "{to_alice:?}"
    );
    only_request(&sent, BOB1, Method::Cancel);
    // Alice ACKs the 487 hop by hop; Bob's own 487 ends the branch.
    h.send(
        ALICE,
        &from_alice("ACK", "sip:bob@scope", "c1", "call1", ""),
    );
    h.send_msg(BOB1, &uas_response(&inv, 487, "Request Terminated", BOB1));
    let sent = h.sent();
    assert!(statuses_to(&sent, ALICE).is_empty());
    h.assert_idle_after_timers();
}

#[test]
fn cancel_during_lookup_and_unknown_cancel() {
    let mut h = Harness::new();
    h.send(
        ALICE,
        &from_alice("INVITE", "sip:bob@scope", "l1", "call2", ""),
    );
    h.sent();
    h.send(
        ALICE,
        &from_alice("CANCEL", "sip:bob@scope", "l1", "call2", ""),
    );
    let to_alice = statuses_to(&h.sent(), ALICE);
    assert!(to_alice.contains(&487), "{to_alice:?}");
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    h.serve_dht();
    assert!(h.sent().is_empty(), "no INVITE after the CANCEL");
    h.send(
        ALICE,
        &from_alice("CANCEL", "sip:bob@scope", "zz", "call3", ""),
    );
    assert_eq!(statuses_to(&h.sent(), ALICE), [481]);
    h.assert_idle_after_timers();
}

#[test]
fn unknown_user_gets_404() {
    let mut h = Harness::new();
    let sent = invite_bob(&mut h, "u1");
    assert_eq!(statuses_to(&sent, ALICE), [404]);
    h.send(
        ALICE,
        &from_alice("ACK", "sip:bob@scope", "u1", "call1", ""),
    );
    h.send(
        ALICE,
        &from_alice("INVITE", "sip:carol@example.com", "u2", "call9", ""),
    );
    assert_eq!(
        statuses_to(&h.sent(), ALICE),
        [100, 404],
        "foreign host name"
    );
    h.assert_idle_after_timers();
}

#[test]
fn in_dialog_request_to_an_aor_without_route_gets_404_without_a_lookup() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    let bye = format!(
        "BYE sip:bob@scope SIP/2.0\nVia: SIP/2.0/UDP {ALICE};branch=z9hG4bKnr1\n\
         Max-Forwards: 70\nFrom: <sip:alice@scope>;tag=a1\nTo: <sip:bob@scope>;tag=b1\n\
         Call-ID: gone1\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    h.send(ALICE, &bye);
    assert_eq!(statuses_to(&h.sent(), ALICE), [404]);
    assert!(
        h.outputs().is_empty(),
        "no DHT lookup for a dialog we never routed"
    );
    h.assert_idle_after_timers();
}

#[test]
fn silent_contact_gives_408_and_unanswered_ringing_480() {
    let mut h = Harness::with(|c| c.transaction.timer_c = Duration::from_secs(60));
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    invite_bob(&mut h, "s1");
    let sent = h.advance(Duration::from_secs(33));
    let to_alice = statuses_to(&sent, ALICE);
    assert!(
        !to_alice.is_empty() && to_alice.iter().all(|s| *s == 408),
        "{to_alice:?} (Timer G resends)"
    );
    h.send(
        ALICE,
        &from_alice("ACK", "sip:bob@scope", "s1", "call1", ""),
    );

    let inv = only_request(&invite_bob(&mut h, "s2"), BOB1, Method::Invite);
    h.send_msg(BOB1, &uas_response(&inv, 180, "Ringing", BOB1));
    h.sent();
    let sent = h.advance(Duration::from_secs(61));
    assert_eq!(statuses_to(&sent, ALICE)[0], 480);
    let cancels = sent.iter().filter(|(a, m)| {
        *a == addr(BOB1) && matches!(m, Message::Request(r) if r.method == Method::Cancel)
    });
    assert!(cancels.count() >= 1, "Timer C cancels the ringing branch");
    h.assert_idle_after_timers();
}

#[test]
fn max_forwards_zero_gets_483_but_options_200() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    let invite = from_alice("INVITE", "sip:bob@scope", "m1", "call1", "")
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    h.send(ALICE, &invite);
    assert_eq!(statuses_to(&h.sent(), ALICE), [100, 483]);
    let options = from_alice("OPTIONS", "sip:bob@scope", "m2", "call2", "")
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    h.send(ALICE, &options);
    assert_eq!(statuses_to(&h.sent(), ALICE), [200]);
    assert!(h.outputs().is_empty(), "no lookup for a 483 or a local 200");
    h.assert_idle_after_timers();
}

#[test]
fn options_to_the_proxy_itself() {
    let mut h = Harness::new();
    for target in ["sip:scope", &format!("sip:{PROXY}")] {
        h.send(ALICE, &from_alice("OPTIONS", target, "o1", target, ""));
        let ok = response_to(&h.sent(), ALICE, 200);
        assert!(ok.headers.get("Allow").unwrap().contains("INVITE"));
        assert!(ok.headers.get("Accept").is_some());
    }
    h.assert_idle_after_timers();
}

#[test]
fn message_is_delivered() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    let msg = from_alice(
        "MESSAGE",
        "sip:bob@scope",
        "x1",
        "im1",
        "Content-Type: text/plain\n",
    )
    .replace("Content-Length: 0\n\n", "Content-Length: 5\n\nhello");
    h.send(ALICE, &msg);
    assert!(h.sent().is_empty(), "no 100 for non-INVITE");
    h.serve_dht();
    let fwd = only_request(&h.sent(), BOB1, Method::Message);
    assert_eq!(fwd.body, b"hello");
    assert_eq!(fwd.headers.get(name::RECORD_ROUTE), None);
    h.send_msg(BOB1, &uas_response(&fwd, 200, "OK", BOB1));
    assert_eq!(statuses_to(&h.sent(), ALICE), [200]);
    // A second MESSAGE within the cache TTL needs no lookup.
    h.send(
        ALICE,
        &msg.replace("z9hG4bKx1", "z9hG4bKx2")
            .replace("CSeq: 1", "CSeq: 2"),
    );
    assert!(h.outputs().is_empty());
    only_request(&h.sent(), BOB1, Method::Message);
    assert_eq!(h.proxy.metrics().cache_hits, 1);
    h.assert_idle_after_timers();
}

#[test]
fn tcp_inputs_are_answered_on_their_connection() {
    let mut h = Harness::new();
    let text = from_alice("OPTIONS", "sip:scope", "t1", "tcp1", "").replace('\n', "\r\n");
    let conn = ConnectionId(42);
    h.proxy
        .handle_bytes(h.now, text.as_bytes(), addr(ALICE), Link::Tcp(Some(conn)))
        .unwrap();
    let t = h.proxy.poll_transmit().unwrap();
    assert_eq!(t.link, Link::Tcp(Some(conn)));
    h.proxy.handle_connection_closed(conn);
    assert!(
        h.proxy
            .handle_bytes(h.now, b"garbage\r\n\r\n", addr(ALICE), Link::Udp)
            .is_err()
    );
    assert_eq!(h.proxy.metrics().parse_errors, 1);
}

#[test]
fn uris_naming_another_live_super_node_count_as_the_overlay() {
    const PEER: &str = "10.0.0.2:5070";
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));
    let invite = |h: &mut Harness, branch: &str| {
        let target = format!("sip:bob@{PEER}");
        h.send(ALICE, &from_alice("INVITE", &target, branch, branch, ""));
        h.serve_dht();
        h.sent()
    };
    // Not known as a super-node: the INVITE goes to that address as it is.
    only_request(&invite(&mut h, "p1"), PEER, Method::Invite);
    assert_eq!(h.proxy.super_nodes(), [addr(PROXY)]);

    // Known: bob at the other super-node is bob in the overlay, found through the DHT (also
    // when that node is gone), and a phone may register there through this node too.
    let unspecified = addr("0.0.0.0:5060");
    h.proxy
        .handle_super_nodes(&[addr(PEER), addr(PROXY), unspecified, addr(PEER)]);
    assert_eq!(h.proxy.super_nodes(), [addr(PROXY), addr(PEER)]);
    let inv = only_request(&invite(&mut h, "p2"), BOB1, Method::Invite);
    assert_eq!(inv.uri.to_string(), format!("sip:bob@{BOB1}"));
    let register = format!(
        "REGISTER sip:{PROXY} SIP/2.0\nVia: SIP/2.0/UDP {BOB2};branch=z9hG4bKpr1\n\
         Max-Forwards: 70\nFrom: <sip:carol@{PEER}>;tag=f\nTo: <sip:carol@{PEER}>\n\
         Call-ID: peer-reg\nCSeq: 1 REGISTER\nContact: <sip:carol@{BOB2}>\n\
         Content-Length: 0\n\n"
    );
    h.send(BOB2, &register);
    h.serve_dht();
    response_to(&h.sent(), BOB2, 200);
    assert_eq!(
        h.dht[&key_of("carol")].len(),
        1,
        "stored as carol in the overlay"
    );
    // The other super-node itself (no user) answers its own OPTIONS.
    let options = format!("sip:{PEER}");
    h.send(ALICE, &from_alice("OPTIONS", &options, "o2", "o2", ""));
    only_request(&h.sent(), PEER, Method::Options);

    // Gone from the service list: its address is a plain address again.
    h.proxy.handle_super_nodes(&[]);
    only_request(&invite(&mut h, "p3"), PEER, Method::Invite);
    assert_eq!(h.proxy.super_nodes(), [addr(PROXY)]);
}

#[test]
fn a_phone_on_the_proxys_host_at_another_port_is_not_the_overlay() {
    // The proxy listens on 10.0.0.1:5060, so `sip:10.0.0.1` (no port) names it; a phone on the
    // same host at port 5062 is a phone, and requests in its dialogs go to it.
    const LOCAL_PHONE: &str = "10.0.0.1:5062";
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{LOCAL_PHONE}"));
    let inv = only_request(&invite_bob(&mut h, "lp1"), LOCAL_PHONE, Method::Invite);
    h.send_msg(LOCAL_PHONE, &uas_response(&inv, 200, "OK", LOCAL_PHONE));
    response_to(&h.sent(), ALICE, 200);
    let bye = format!(
        "BYE sip:bob@{LOCAL_PHONE} SIP/2.0\nVia: SIP/2.0/UDP {ALICE};branch=z9hG4bKlpbye\n\
         Route: <sip:{PROXY};lr>\nMax-Forwards: 70\nFrom: <sip:alice@scope>;tag=a1\n\
         To: <sip:bob@scope>;tag=b1\nCall-ID: call1\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    h.send(ALICE, &bye);
    only_request(&h.sent(), LOCAL_PHONE, Method::Bye);
}

/// An in-dialog request from `from` (sent to `via`, Route naming the proxy) to `target`.
fn in_dialog(method: &str, target: &str, from: &str, branch: &str, cseq: u32) -> String {
    format!(
        "{method} {target} SIP/2.0\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{branch}\n\
         Route: <sip:{PROXY};lr>\nMax-Forwards: 70\nFrom: <sip:alice@scope>;tag=a1\n\
         To: <sip:bob@scope>;tag=b1\nCall-ID: dlg1\nCSeq: {cseq} {method}\n\
         Event: presence\nSubscription-State: active\nContent-Length: 0\n\n"
    )
}

#[test]
fn subscribe_notify_and_in_dialog_reinvite_update_info_are_routed() {
    let mut h = Harness::new();
    h.bind("bob", &format!("sip:bob@{BOB1}"));

    // SUBSCRIBE is looked up and record-routed like INVITE, with no 100 Trying.
    let subscribe = from_alice(
        "SUBSCRIBE",
        "sip:bob@scope",
        "sub1",
        "dlg1",
        "Event: presence\nExpires: 600\n",
    );
    h.send(ALICE, &subscribe);
    assert!(h.sent().is_empty(), "no 100 for non-INVITE");
    h.serve_dht();
    let sub = only_request(&h.sent(), BOB1, Method::Subscribe);
    assert_eq!(sub.uri.to_string(), format!("sip:bob@{BOB1}"));
    assert_eq!(
        sub.headers.get(name::RECORD_ROUTE),
        Some(format!("<sip:{PROXY};lr>").as_str()),
        "a SUBSCRIBE makes a dialog: record-routed"
    );
    h.send_msg(BOB1, &uas_response(&sub, 200, "OK", BOB1));
    assert_eq!(statuses_to(&h.sent(), ALICE), [200]);

    // Bob's NOTIFY comes back along the Record-Route to Alice's contact.
    let notify = in_dialog("NOTIFY", &format!("sip:alice@{ALICE}"), BOB1, "n1", 1);
    h.send(BOB1, &notify);
    let fwd = only_request(&h.sent(), ALICE, Method::Notify);
    assert_eq!(fwd.headers.get(name::ROUTE), None, "own Route popped");
    assert_eq!(fwd.headers.vias().unwrap().len(), 2);
    h.send_msg(ALICE, &uas_response(&fwd, 200, "OK", ALICE));
    assert_eq!(statuses_to(&h.sent(), BOB1), [200]);

    // re-INVITE, UPDATE and INFO inside a dialog follow the Route, with no lookup.
    for (i, method) in [(2, "INVITE"), (3, "UPDATE"), (4, "INFO")] {
        let req = in_dialog(method, &format!("sip:bob@{BOB1}"), ALICE, method, i);
        h.send(ALICE, &req);
        assert!(
            h.outputs().is_empty(),
            "{method}: no lookup inside a dialog"
        );
        let sent = h.sent();
        let fwd = sent
            .iter()
            .find_map(|(a, m)| match m {
                Message::Request(r) if *a == addr(BOB1) && r.method.as_str() == method => {
                    Some(r.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{method} not forwarded: {sent:#?}"));
        h.send_msg(BOB1, &uas_response(&fwd, 200, "OK", BOB1));
        let statuses = statuses_to(&h.sent(), ALICE);
        assert_eq!(statuses.last(), Some(&200), "{method}: {statuses:?}");
    }
    h.assert_idle_after_timers();
}
