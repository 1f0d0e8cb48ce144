//! Method-layer tests: Python-made requests, every bad input of the spec, multicall and
//! introspection (response shapes are in `tests/responses.rs`).

use super::error::code;
use super::opendht::*;
use super::scope_methods::*;
use super::test_support::{assert_python_loads, python_dumps};
use super::xmlrpc::{Value, encode_call};
use super::*;

mod proptests;
mod responses;

fn decode_py(params: &str, method: &str) -> Result<Request, DecodeError> {
    decode_request(&python_dumps(params, method), &Limits::default())
}

fn fault_of(result: Result<Request, DecodeError>) -> (i32, String) {
    let fault = result.unwrap_err().to_fault();
    (fault.code, fault.message)
}

pub(super) fn call(method: &str, params: Vec<Value>) -> Result<Request, DecodeError> {
    decode_request(&encode_call(method, &params), &Limits::default())
}

pub(super) fn b(bytes: &[u8]) -> Value {
    Value::Base64(bytes.to_vec())
}

pub(super) fn s(text: &str) -> Value {
    Value::String(text.into())
}

#[test]
fn python_put_decodes() {
    let request = decode_py("(B(b'k' * 20), B(b'v' * 1024), 3600, 'put.py')", "put").unwrap();
    let want = Put {
        key: Key::new(vec![b'k'; 20]).unwrap(),
        value: vec![b'v'; 1024],
        ttl: Ttl::from_wire(3600).unwrap(),
        application: "put.py".into(),
    };
    assert_eq!(request, Request::Put(want));
}

#[test]
fn python_put_removable_get_details_and_rm_decode() {
    let Request::PutRemovable(put) = decode_py(
        "(B(b'key'), B(b'red'), 'SHA', B(b'h' * 20), 10**9, 'app')",
        "put_removable",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        (put.secret_hash.len(), put.ttl.secs()),
        (20, MAX_TTL_SEC),
        "TTL clamped to a week"
    );
    assert_eq!(put.key.to_id()[..17], [0; 17], "short keys are left-padded");
    let Request::GetDetails(get) =
        decode_py("(B(b'key'), 10, B(b''), 'get.py')", "get_details").unwrap()
    else {
        panic!()
    };
    assert_eq!((get.maxvals, get.placemark.len()), (10, 0));
    let Request::Rm(rm) = decode_py(
        "(B(b'key'), B(b'x' * 20), 'SHA', B(b'secret'), 3600, 'rm.py')",
        "rm",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        hex::encode(rm.secret_hash()),
        "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
    );
}

#[test]
fn oversized_arguments_fault_with_bamboos_text() {
    let cases = [
        (
            "(B(b'k' * 21), B(b'v'), 60, 'a')",
            "put",
            "key is longer than 20 bytes",
        ),
        (
            "(B(b'k'), B(b'v' * 1025), 60, 'a')",
            "put",
            "value is longer than 1024 bytes",
        ),
        (
            "(B(b'k'), B(b'v'), 'SHA', B(b'h' * 21), 60, 'a')",
            "put_removable",
            "secret hash is longer than 20 bytes",
        ),
        (
            "(B(b'k'), B(b'v'), 'MD5', B(b'h'), 60, 'a')",
            "put_removable",
            "unknown secret hash algorithm: \"MD5\"",
        ),
        (
            "(B(b'k'), B(b'h' * 21), 'SHA', B(b's'), 60, 'a')",
            "rm",
            "value_hash is longer than 20 bytes",
        ),
        (
            "(B(b'k'), B(b'h'), 'SHA', B(b's' * 41), 60, 'a')",
            "rm",
            "secret is longer than 40 bytes",
        ),
        (
            "(B(b'k'), B(b'h'), 'SHA1', B(b's'), 60, 'a')",
            "rm",
            "unknown secret hash algorithm: \"SHA1\"",
        ),
        (
            "(B(b'k'), 10, B(b'p' * 78), 'a')",
            "get",
            "placemark is longer than 77 bytes",
        ),
        (
            "(B(b'k'), 10, B(b'p' * 78), 'a')",
            "get_details",
            "placemark is longer than 77 bytes",
        ),
        (
            "(B(b'k' * 21),)",
            "scope.route",
            "key is longer than 20 bytes",
        ),
    ];
    for (params, method, text) in cases {
        assert_eq!(
            fault_of(decode_py(params, method)),
            (code::INVALID_PARAMS, text.to_owned()),
            "{method}{params}"
        );
    }
}

#[test]
fn limits_are_inclusive() {
    let ok = [
        (
            "(B(b'k' * 20), B(b'v' * 1024), 'SHA', B(b'h' * 20), 604800, 'a')",
            "put_removable",
        ),
        ("(B(b''), B(b'h' * 20), 'SHA', B(b's' * 40), 1, '')", "rm"),
        ("(B(b'k'), 65535, B(b'p' * 77), 'a')", "get"),
    ];
    for (params, method) in ok {
        assert!(decode_py(params, method).is_ok(), "{method}{params}");
    }
}

#[test]
fn ttl_and_maxvals_rules() {
    for ttl in ["0", "-1", "-2147483648"] {
        let (c, text) = fault_of(decode_py(&format!("(B(b'k'), B(b'v'), {ttl}, 'a')"), "put"));
        assert_eq!(
            (c, text),
            (
                code::INVALID_PARAMS,
                format!("ttl_sec must be positive, got {ttl}")
            )
        );
    }
    assert_eq!(
        fault_of(decode_py("(B(b'k'), 0, B(b''), 'a')", "get")).1,
        "maxvals must be positive, got 0"
    );
    let Request::Get(get) = decode_py("(B(b'k'), 100000, B(b''), 'a')", "get").unwrap() else {
        panic!()
    };
    assert_eq!(get.maxvals, 65535);
}

#[test]
fn wrong_arity_types_and_methods() {
    let (c, text) = fault_of(decode_py("(B(b'k'), B(b'v'), 60)", "put"));
    assert_eq!(
        (c, text.as_str()),
        (code::INVALID_PARAMS, "put takes 4 parameters, got 3")
    );
    let (c, text) = fault_of(decode_py("('k', B(b'v'), 60, 'a')", "put"));
    assert_eq!(
        (c, text.as_str()),
        (
            code::INVALID_PARAMS,
            "put: parameter 1 (key) must be base64, got string"
        )
    );
    let (_, text) = fault_of(decode_py("(B(b'k'), B(b'v'), '60', 'a')", "put"));
    assert_eq!(text, "put: parameter 3 (ttl_sec) must be int, got string");
    let (_, text) = fault_of(decode_py("(B(b'k'), 10, B(b''), None)", "get"));
    assert_eq!(
        text,
        "get: parameter 4 (application) must be string, got nil"
    );
    let (c, text) = fault_of(decode_py("()", "no_such"));
    assert_eq!(
        (c, text.as_str()),
        (code::METHOD_NOT_FOUND, "no such handler: no_such")
    );
    let (c, text) = fault_of(decode_py("('nope',)", "system.methodHelp"));
    assert_eq!(
        (c, text.as_str()),
        (code::INVALID_PARAMS, "no such method: nope")
    );
}

#[test]
fn malformed_bodies_and_size_limit() {
    assert_eq!(
        fault_of(decode_request(b"<methodCall>", &Limits::default())).0,
        code::PARSE_ERROR
    );
    let small = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    let err = decode_request(&python_dumps("()", "scope.status"), &small).unwrap_err();
    assert_eq!(err.http_status(), 413);
    assert!(matches!(err, DecodeError::BodyTooLarge { limit: 10, .. }));
}

#[test]
fn scope_methods_decode_and_validate() {
    let Request::Watch(watch) =
        decode_py("([B(b'a'), B(b'b' * 20)], '', 9999)", "scope.watch").unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (watch.keys.len(), watch.timeout_s),
        (2, MAX_WATCH_TIMEOUT_S)
    );
    let bad = [
        (
            "([], '', 5)",
            "scope.watch",
            "scope.watch: keys must not be empty",
        ),
        (
            "([B(b'a')] * 65, '', 5)",
            "scope.watch",
            "keys has more than 64 entries",
        ),
        (
            "([B(b'a' * 21)], '', 5)",
            "scope.watch",
            "key is longer than 20 bytes",
        ),
        (
            "([B(b'a')], '', -1)",
            "scope.watch",
            "timeout_s must be non-negative, got -1",
        ),
        (
            "([B(b'a')], 'c' * 257, 1)",
            "scope.watch",
            "cursor is longer than 256 bytes",
        ),
        (
            "(B(b'h' * 19),)",
            "scope.get_blob",
            "hash must be 20 bytes, got 19",
        ),
        (
            "(B(b'd'), 0, 'a')",
            "scope.put_blob",
            "ttl_sec must be positive, got 0",
        ),
    ];
    for (params, method, text) in bad {
        assert_eq!(
            fault_of(decode_py(params, method)),
            (code::INVALID_PARAMS, text.to_owned()),
            "{method}{params}"
        );
    }
    let big = Value::Base64(vec![0; MAX_BLOB_BYTES + 1]);
    let (_, text) = fault_of(call("scope.put_blob", vec![big, Value::Int(60), s("a")]));
    assert_eq!(text, "blob is longer than 8388608 bytes");
}

#[test]
fn typed_requests_round_trip_through_the_client_encoder() {
    let requests = [
        call("put", vec![b(b"k"), b(b"v"), Value::Int(9), s("a")]),
        call(
            "put_removable",
            vec![
                b(b"k"),
                b(b"v"),
                s("SHA"),
                b(&[7; 20]),
                Value::Int(9),
                s("a"),
            ],
        ),
        call(
            "get_details",
            vec![b(b"k"), Value::Int(3), b(b"pm"), s("a")],
        ),
        call(
            "rm",
            vec![
                b(b"k"),
                b(&[1; 20]),
                s("SHA"),
                b(b"sec"),
                Value::Int(9),
                s("a"),
            ],
        ),
        call("scope.status", vec![]),
        call("scope.route", vec![b(b"k")]),
        call("scope.put_blob", vec![b(b"data"), Value::Int(5), s("a")]),
        call("scope.get_blob", vec![b(&[3; 20])]),
        call(
            "scope.watch",
            vec![Value::Array(vec![b(b"k")]), s("c1"), Value::Int(30)],
        ),
        call("system.listMethods", vec![]),
        call("system.methodSignature", vec![s("get")]),
        call("system.multicall", vec![Value::Array(vec![])]),
    ];
    for request in requests {
        let request = request.unwrap();
        let wire = request.to_call();
        assert_eq!(call(&wire.method, wire.params.clone()).unwrap(), request);
    }
}

#[test]
fn every_listed_method_is_dispatched_and_documented() {
    for info in system::METHODS {
        assert!(!info.help.is_empty());
        let (c, text) = fault_of(call(info.name, vec![Value::Nil; 9]));
        assert_eq!(c, code::INVALID_PARAMS, "{}: {text}", info.name);
        let help = call("system.methodHelp", vec![s(info.name)])
            .unwrap()
            .local_response()
            .unwrap();
        assert!(
            matches!(help, Response::Help(text) if text.starts_with(info.name)),
            "{}",
            info.name
        );
    }
    let list = call("system.listMethods", vec![])
        .unwrap()
        .local_response()
        .unwrap();
    assert_python_loads(
        &encode_response(&list),
        &python_list(system::METHODS.iter().map(|m| m.name)),
    );
}

fn python_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    format!(
        "[{}]",
        items
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[test]
fn multicall_decodes_each_entry_on_its_own() {
    let body = python_dumps(
        "([{'methodName': 'get', 'params': [B(b'k'), 5, B(b''), 'a']}, \
           {'methodName': 'nope', 'params': []}, \
           {'methodName': 'system.multicall', 'params': [[]]}, \
           {'methodName': 'put', 'params': [B(b'k' * 21), B(b''), 1, 'a']}, \
           'junk'],)",
        "system.multicall",
    );
    let Request::Multicall(entries) = decode_request(&body, &Limits::default()).unwrap() else {
        panic!()
    };
    assert!(matches!(entries[0], Ok(Request::Get(_))));
    let codes: Vec<i32> = entries[1..]
        .iter()
        .map(|e| e.as_ref().unwrap_err().code)
        .collect();
    assert_eq!(
        codes,
        [
            code::METHOD_NOT_FOUND,
            code::INVALID_PARAMS,
            code::INVALID_PARAMS,
            code::INVALID_PARAMS
        ]
    );
    assert_eq!(
        entries[3].as_ref().unwrap_err().message,
        "key is longer than 20 bytes"
    );
    let limits = Limits {
        max_multicall: 2,
        ..Limits::default()
    };
    let err = decode_request(&body, &limits).unwrap_err().to_fault();
    assert_eq!(err.message, "system.multicall has more than 2 entries");
}
