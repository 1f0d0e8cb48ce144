//! Property tests: no input makes the decoder panic, and every value survives a round trip.

use proptest::prelude::*;

use crate::gateway::xmlrpc::{DateTime, MethodCall, Value, XmlLimits, encode_call, parse_call};
use crate::gateway::{DecodeError, Limits, decode_request};

/// Bodies a real client sends, as seeds for mutation.
fn seeds() -> Vec<Vec<u8>> {
    let b = |x: &[u8]| Value::Base64(x.to_vec());
    let s = |x: &str| Value::String(x.to_owned());
    vec![
        encode_call("put", &[b(b"key"), b(b"value"), Value::Int(60), s("app")]),
        encode_call("get_details", &[b(b"key"), Value::Int(10), b(b""), s("app")]),
        encode_call("rm", &[b(b"k"), b(&[1; 20]), s("SHA"), b(b"secret"), Value::Int(60), s("a")]),
        encode_call(
            "system.multicall",
            &[Value::Array(vec![Value::Struct(vec![
                ("methodName".into(), s("scope.watch")),
                ("params".into(), Value::Array(vec![Value::Array(vec![b(b"k")]), s(""), Value::Int(1)])),
            ])])],
        ),
        b"<?xml version='1.0'?>\n<methodCall>\n<methodName>get</methodName>\n<params>\n<param>\n<value><base64>\naw==\n</base64></value>\n</param>\n</params>\n</methodCall>\n".to_vec(),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        Just(b"<".to_vec()),
        Just(b"</value>".to_vec()),
        Just(b"<value><array><data>".to_vec()),
        Just(b"&amp;".to_vec()),
        Just(b"&x;".to_vec()),
        Just(b"<!DOCTYPE x>".to_vec()),
        Just(b"<![CDATA[".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), snippet).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), 0usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(body: &mut Vec<u8>, m: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match m {
        Mutation::Replace(i, b) if !body.is_empty() => {
            let i = i % body.len();
            body[i] = *b;
        }
        Mutation::Replace(..) => {}
        Mutation::Insert(i, s) => {
            let i = at(*i, body.len());
            body.splice(i..i, s.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = at(*i, body.len());
            let end = (i + n).min(body.len());
            body.drain(i..end);
        }
        Mutation::Truncate(i) => body.truncate(at(*i, body.len())),
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::I8),
        any::<bool>().prop_map(Value::Bool),
        "[^\u{0}]{0,16}".prop_map(Value::String),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |d| !d.is_nan())
            .prop_map(Value::Double),
        (0u16..=9999, 1u8..=12, 1u8..=31, 0u8..24, 0u8..60, 0u8..=60).prop_map(
            |(year, month, day, hour, minute, second)| {
                Value::DateTime(DateTime {
                    year,
                    month,
                    day,
                    hour,
                    minute,
                    second,
                })
            }
        ),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Value::Base64),
        Just(Value::Nil),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("[^\u{0}]{0,8}", inner), 0..6).prop_map(Value::Struct),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_request(&body, &Limits::default());
    }

    #[test]
    fn mutated_bodies_give_a_request_or_a_fault(seed in 0usize..5, ms in proptest::collection::vec(mutation(), 1..6)) {
        let mut body = seeds()[seed].clone();
        ms.iter().for_each(|m| apply(&mut body, m));
        match decode_request(&body, &Limits::default()) {
            Ok(_) => {}
            Err(DecodeError::Fault(fault)) => prop_assert!(fault.code < 0, "{fault:?}"),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn values_round_trip(params in proptest::collection::vec(value(), 0..4)) {
        let body = encode_call("m", &params);
        let parsed = parse_call(&body, XmlLimits::default());
        prop_assert_eq!(parsed, Ok(MethodCall { method: "m".into(), params }));
    }
}
