//! Response tests: the encoded shapes as Python's `xmlrpc.client` reads them, and the client-side
//! decoding of every typed result.

use super::{b, call, s};
use crate::gateway::error::code;
use crate::gateway::opendht::*;
use crate::gateway::scope_methods::*;
use crate::gateway::test_support::assert_python_loads;
use crate::gateway::xmlrpc::{self, Value};
use crate::gateway::*;

#[test]
fn responses_have_the_shapes_python_expects() {
    let detailed = |v: &[u8], ttl| DetailedValue {
        value: v.to_vec(),
        ttl_remaining: ttl,
        hash_alg: "SHA".into(),
        secret_hash: vec![9; 20],
    };
    let cases = [
        (Response::Status(Status::OverCapacity), "1".to_owned()),
        (Response::Get(GetResult { values: vec![b"red".to_vec(), b"blue".to_vec()], placemark: vec![1; 77] }), "[[B(b'red'), B(b'blue')], B(b'\\x01' * 77)]".to_owned()),
        (Response::Get(GetResult::default()), "[[], B(b'')]".to_owned()),
        (Response::GetDetails(GetDetailsResult { values: vec![detailed(b"v", 59)], placemark: vec![] }), "[[[B(b'v'), 59, 'SHA', B(b'\\x09' * 20)]], B(b'')]".to_owned()),
        (Response::Watch(WatchResult { cursor: "c2".into(), changes: vec![
            Change { key: b"k".to_vec(), kind: ChangeKind::Put { value: b"v".to_vec() } },
            Change { key: b"k".to_vec(), kind: ChangeKind::Rm { value_hash: vec![4; 20] } },
        ] }), "{'cursor': 'c2', 'changes': [{'key': B(b'k'), 'kind': 'put', 'value': B(b'v')}, {'key': B(b'k'), 'kind': 'rm', 'value_hash': B(b'\\x04' * 20)}]}".to_owned()),
        (Response::NodeStatus(NodeStatus { node_id: vec![1; 20], address: "127.0.0.1:3630".into(), version: "0.1".into(), uptime_s: 5, leaf_set_size: 8, routing_table_size: 12, stored_values: 1 << 33 }),
            "{'node_id': B(b'\\x01' * 20), 'address': '127.0.0.1:3630', 'version': '0.1', 'uptime_s': 5, 'leaf_set_size': 8, 'routing_table_size': 12, 'stored_values': 1 << 33}".to_owned()),
        (Response::BlobHash(vec![2; 20]), "B(b'\\x02' * 20)".to_owned()),
        (Response::Fault(Fault::new(code::NOT_FOUND, "blob not found")), "Fault(3, 'blob not found')".to_owned()),
        (Response::Multicall(vec![Response::Status(Status::Success), Response::Fault(Fault::new(-32601, "no such handler: x"))]),
            "[[0], {'faultCode': -32601, 'faultString': 'no such handler: x'}]".to_owned()),
    ];
    for (response, expected) in cases {
        assert_python_loads(&encode_response(&response), &expected);
    }
}

#[test]
fn client_side_decodes_every_typed_result() {
    let cases = [
        ("rm", Response::Status(Status::TryAgain)),
        (
            "get",
            Response::Get(GetResult {
                values: vec![b"v".to_vec()],
                placemark: vec![5; 77],
            }),
        ),
        (
            "get_details",
            Response::GetDetails(GetDetailsResult {
                values: vec![DetailedValue {
                    value: vec![1],
                    ttl_remaining: 7,
                    hash_alg: String::new(),
                    secret_hash: vec![],
                }],
                placemark: vec![],
            }),
        ),
        (
            "scope.status",
            Response::NodeStatus(NodeStatus {
                node_id: vec![1; 20],
                stored_values: 1 << 40,
                ..NodeStatus::default()
            }),
        ),
        (
            "scope.route",
            Response::Route(RouteResult {
                node_id: vec![2; 20],
                address: "10.0.0.1:3630".into(),
            }),
        ),
        ("scope.put_blob", Response::BlobHash(vec![3; 20])),
        ("scope.get_blob", Response::Blob(vec![4; 1000])),
        (
            "scope.watch",
            Response::Watch(WatchResult {
                cursor: "7".into(),
                changes: vec![Change {
                    key: vec![1],
                    kind: ChangeKind::Rm {
                        value_hash: vec![2],
                    },
                }],
            }),
        ),
        (
            "system.methodSignature",
            Response::Signature(vec![vec!["int".into(), "base64".into()]]),
        ),
        ("get", Response::Fault(Fault::new(code::TRY_AGAIN, "busy"))),
    ];
    for (method, response) in cases {
        let body = encode_response(&response);
        let decoded = client::decode_response(method, &body, xmlrpc::XmlLimits::default()).unwrap();
        assert_eq!(decoded, response, "{method}");
    }
    let wrong = encode_response(&Response::Status(Status::Success));
    let err = client::decode_response("get", &wrong, xmlrpc::XmlLimits::default()).unwrap_err();
    assert_eq!(err.code, code::INVALID_XMLRPC);
    let request = call("get", vec![b(b"k"), Value::Int(1), b(b""), s("a")]).unwrap();
    assert_eq!(
        decode_request(&client::encode_request(&request), &Limits::default()).unwrap(),
        request
    );
}
