//! Proxy scenarios in virtual time, with a fake DHT held in a map.

mod call;
mod fuzz;
mod register;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::sip::registrar::{Aor, BindingOp};
use crate::sip::{
    HeaderName, Message, Method, Request, Response, Uri, name, parse_message, response_for,
};

const PROXY: &str = "10.0.0.1:5060";
const ALICE: &str = "192.0.2.10:5060";
const BOB1: &str = "192.0.2.20:5060";
const BOB2: &str = "192.0.2.21:5060";
const UNIX: u64 = 1_700_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// An arbitrary origin for virtual time; only offsets from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need some Instant to add virtual time to"
)]
fn origin() -> Instant {
    Instant::now()
}

fn key_of(user: &str) -> [u8; 20] {
    let uri = Uri::parse(&format!("sip:{user}@scope")).unwrap();
    Aor::from_uri(&uri, &RegistrarConfig::default())
        .unwrap()
        .dht_key()
}

/// One proxy, a clock, a fake DHT and what the proxy sent.
struct Harness {
    proxy: Proxy,
    now: Instant,
    dht: HashMap<[u8; 20], Vec<Binding>>,
}

impl Harness {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut ProxyConfig)) -> Self {
        let mut config = ProxyConfig::new(addr(PROXY));
        tweak(&mut config);
        let now = origin();
        Self {
            proxy: Proxy::new(config, now, UNIX),
            now,
            dht: HashMap::new(),
        }
    }

    /// Stores a binding for `user` directly in the fake DHT.
    fn bind(&mut self, user: &str, contact: &str) {
        self.dht.entry(key_of(user)).or_default().push(Binding {
            contact: contact.to_owned(),
            expires_at: UNIX + 3600,
            call_id: format!("seed-{contact}"),
            cseq: 1,
            instance: None,
            reg_id: None,
        });
    }

    fn send(&mut self, from: &str, text: &str) {
        let text = text.replace('\n', "\r\n");
        self.proxy
            .handle_bytes(self.now, text.as_bytes(), addr(from), Link::Udp)
            .unwrap();
    }

    fn send_msg(&mut self, from: &str, msg: &Message) {
        self.proxy
            .handle_bytes(self.now, &msg.to_bytes(), addr(from), Link::Udp)
            .unwrap();
    }

    /// Everything sent since the last call, parsed.
    fn sent(&mut self) -> Vec<(SocketAddr, Message)> {
        let mut out = Vec::new();
        // Salvaged 400s echo broken headers and need not parse; scenarios would miss them.
        while let Some(t) = self.proxy.poll_transmit() {
            out.extend(parse_message(&t.contents).ok().map(|m| (t.destination, m)));
        }
        out
    }

    fn outputs(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.proxy.poll_output()).collect()
    }

    /// Answers a DHT request from the fake DHT.
    fn answer(&mut self, output: Output) {
        match output {
            Output::Lookup { id, key } => {
                let b = self.dht.get(&key).cloned().unwrap_or_default();
                self.proxy.handle_lookup(self.now, id, Ok(b));
            }
            Output::Store {
                id,
                key,
                expect,
                ops,
            } => {
                let stored = self.dht.entry(key).or_default();
                if let Some(mut expect) = expect {
                    let mut now = stored.clone();
                    let order = |a: &Binding, b: &Binding| a.encode().ok().cmp(&b.encode().ok());
                    now.sort_by(order);
                    expect.sort_by(order);
                    if now != expect {
                        // As the DHT does: the stale answer brings back what is stored.
                        let live = Stored::Stale(Some(now));
                        return self.proxy.handle_store_done(self.now, id, Ok(live));
                    }
                }
                for op in ops {
                    match op {
                        BindingOp::Put { binding, .. } => stored.push(binding),
                        BindingOp::Remove(b) => stored.retain(|x| *x != b),
                    }
                }
                self.proxy
                    .handle_store_done(self.now, id, Ok(Stored::Applied));
            }
        }
    }

    /// Answers DHT requests until none is left.
    fn serve_dht(&mut self) {
        for _ in 0..100 {
            let outs = self.outputs();
            if outs.is_empty() {
                return;
            }
            outs.into_iter().for_each(|o| self.answer(o));
        }
    }

    /// Advances virtual time by `d`, firing every timer on the way.
    fn advance(&mut self, d: Duration) -> Vec<(SocketAddr, Message)> {
        let until = self.now + d;
        let mut sent = Vec::new();
        for _ in 0..10_000 {
            match self.proxy.poll_timeout() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.proxy.handle_timeout(self.now);
                    sent.extend(self.sent());
                }
                _ => break,
            }
        }
        self.now = until;
        sent
    }

    /// Runs every timer out and checks that nothing is left behind.
    fn assert_idle_after_timers(&mut self) {
        self.advance(Duration::from_secs(600));
        assert_eq!(self.proxy.transactions_active(), 0, "transactions left");
        assert_eq!(self.proxy.forks_active(), 0, "forks left");
        assert_eq!(self.proxy.dht_pending(), 0, "DHT requests left");
        assert_eq!(self.proxy.poll_timeout(), None);
    }
}

/// An out-of-dialog request from Alice to `target`.
fn from_alice(method: &str, target: &str, branch: &str, call_id: &str, extra: &str) -> String {
    format!(
        "{method} {target} SIP/2.0\nVia: SIP/2.0/UDP {ALICE};branch=z9hG4bK{branch};rport\n\
         Max-Forwards: 70\nFrom: <sip:alice@scope>;tag=a1\nTo: <sip:bob@scope>\n\
         Call-ID: {call_id}\nCSeq: 1 {method}\nContact: <sip:alice@{ALICE}>\n{extra}\
         Content-Length: 0\n\n"
    )
}

/// What a user agent answers to a request it received: copies Record-Route, adds Contact.
fn uas_response(req: &Request, status: u16, reason: &str, contact: &str) -> Message {
    let mut resp = response_for(req, status, reason, Some("b1"));
    for rr in req.headers.get_all(name::RECORD_ROUTE) {
        resp.headers
            .push(HeaderName::from_static(name::RECORD_ROUTE), rr);
    }
    resp.headers.push(
        HeaderName::from_static(name::CONTACT),
        format!("<sip:bob@{contact}>"),
    );
    Message::Response(resp)
}

fn only_request(sent: &[(SocketAddr, Message)], to: &str, method: Method) -> Request {
    let found: Vec<&Request> = sent
        .iter()
        .filter(|(a, _)| *a == addr(to))
        .filter_map(|(_, m)| match m {
            Message::Request(r) if r.method == method => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one {method:?} to {to} in {sent:#?}");
    found[0].clone()
}

fn statuses_to(sent: &[(SocketAddr, Message)], to: &str) -> Vec<u16> {
    sent.iter()
        .filter(|(a, _)| *a == addr(to))
        .filter_map(|(_, m)| match m {
            Message::Response(r) => Some(r.status),
            Message::Request(_) => None,
        })
        .collect()
}

fn response_to(sent: &[(SocketAddr, Message)], to: &str, status: u16) -> Response {
    sent.iter()
        .find_map(|(a, m)| match m {
            Message::Response(r) if *a == addr(to) && r.status == status => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {status} to {to} in {sent:#?}"))
}
