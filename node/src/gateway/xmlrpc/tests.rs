//! Codec tests: round trips, Python interoperability, malformed and hostile input.

use super::*;
use crate::gateway::test_support::{assert_python_loads, python_dumps};

fn limits() -> XmlLimits {
    XmlLimits::default()
}

fn all_types() -> Vec<Value> {
    vec![
        Value::Int(-42),
        Value::Int(i32::MAX),
        Value::I8(1 << 40),
        Value::Bool(true),
        Value::Bool(false),
        Value::String("a <b> & \"c\" 'd' \r\n\t é 🦀".into()),
        Value::String(String::new()),
        Value::String("  padded  ".into()),
        Value::Double(-1.25e-7),
        Value::Double(1e300),
        Value::DateTime(DateTime::parse("20050704T01:02:03").unwrap()),
        Value::Base64(vec![0, 1, 2, 255, 254]),
        Value::Base64(Vec::new()),
        Value::Array(vec![Value::Int(1), Value::Array(vec![]), Value::Nil]),
        Value::Struct(vec![
            ("a&b".into(), Value::Int(2)),
            ("".into(), Value::Struct(vec![])),
        ]),
        Value::Nil,
    ]
}

fn parse(body: &str) -> Result<MethodCall, ParseError> {
    parse_call(body.as_bytes(), limits())
}

fn call_with(value_xml: &str) -> String {
    format!(
        "<methodCall><methodName>m</methodName><params><param>{value_xml}</param></params></methodCall>"
    )
}

#[test]
fn every_value_type_round_trips_as_call_and_response() {
    let params = all_types();
    let call = parse_call(&encode_call("scope.test", &params), limits()).unwrap();
    assert_eq!(
        call,
        MethodCall {
            method: "scope.test".into(),
            params: params.clone()
        }
    );
    for value in params {
        let back = parse_response(&encode_response(&value), limits()).unwrap();
        assert_eq!(back, MethodResponse::Success(value));
    }
}

#[test]
fn fault_round_trips() {
    let fault = Fault::new(-32602, "key is longer than 20 bytes");
    assert_eq!(
        parse_response(&encode_fault(&fault), limits()).unwrap(),
        MethodResponse::Fault(fault)
    );
}

#[test]
fn call_without_params_and_with_empty_params() {
    for body in [
        "<methodCall><methodName> m </methodName></methodCall>",
        "<methodCall><methodName>m</methodName><params/></methodCall>",
    ] {
        assert_eq!(
            parse(body).unwrap(),
            MethodCall {
                method: "m".into(),
                params: vec![]
            }
        );
    }
}

#[test]
fn lenient_forms_are_read() {
    let cases = [
        (
            "<value>plain text </value>",
            Value::String("plain text ".into()),
        ),
        ("<value></value>", Value::String(String::new())),
        ("<value> <i4> 7 </i4> </value>", Value::Int(7)),
        ("<value><ex:nil/></value>", Value::Nil),
        (
            "<value><string><![CDATA[<x>]]>&amp;&#65;&#x42;</string></value>",
            Value::String("<x>&AB".into()),
        ),
        (
            "<value><base64>YW\nJj</base64></value>",
            Value::Base64(b"abc".to_vec()),
        ),
        (
            "<value><base64>YQ</base64></value>",
            Value::Base64(b"a".to_vec()),
        ),
        ("<value><!-- c --><int>1</int></value>", Value::Int(1)),
        (
            "<value><dateTime.iso8601>2005-07-04T01:02:03</dateTime.iso8601></value>",
            Value::DateTime(DateTime::parse("20050704T01:02:03").unwrap()),
        ),
    ];
    for (xml, want) in cases {
        assert_eq!(parse(&call_with(xml)).unwrap().params, vec![want], "{xml}");
    }
}

#[test]
fn bad_scalars_are_invalid_xmlrpc() {
    for xml in [
        "<value><int>x</int></value>",
        "<value><int>2147483648</int></value>",
        "<value><boolean>2</boolean></value>",
        "<value><double>1.2.3</double></value>",
        "<value><base64>!!!</base64></value>",
        "<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>",
        "<value><nil>x</nil></value>",
        "<value><blob>x</blob></value>",
        "<value><int><int>1</int></int></value>",
        "<value>text<int>1</int></value>",
    ] {
        let err = parse(&call_with(xml)).unwrap_err();
        assert_eq!(Fault::from(err).code, -32600, "{xml}");
    }
}

#[test]
fn malformed_xml_is_a_parse_error() {
    for body in [
        "",
        "   ",
        "<methodCall>",
        "<methodCall><methodName>m</methodName></methodCall",
        "<methodCall><methodName>m</wrong></methodCall>",
        "<methodCall><methodName>m</methodName></methodCall><methodCall/>",
        "<methodCall><methodName>a &bogus; b</methodName></methodCall>",
        "<methodCall><methodName>&#0;</methodName></methodCall>",
        "<methodCall><methodName>a & b</methodName></methodCall>",
    ] {
        let code = Fault::from(parse(body).unwrap_err()).code;
        assert!(code == -32700 || code == -32600, "{body}: {code}");
    }
    let not_utf8 = parse_call(
        b"<methodCall><methodName>\xff</methodName></methodCall>",
        limits(),
    );
    assert_eq!(Fault::from(not_utf8.unwrap_err()).code, -32700);
    for body in [
        "<methodCall><methodName>a &bogus; b</methodName></methodCall>",
        "<methodCall>",
    ] {
        assert_eq!(Fault::from(parse(body).unwrap_err()).code, -32700, "{body}");
    }
}

#[test]
fn wrong_document_shape_is_invalid_xmlrpc() {
    for body in [
        "<foo/>",
        "<methodCall><params/></methodCall>",
        "<methodCall><methodName></methodName></methodCall>",
        "<methodCall><methodName>m</methodName><params><value><int>1</int></value></params></methodCall>",
        "<methodCall><methodName>m</methodName>junk<params/></methodCall>",
        "<methodResponse><params/></methodResponse>",
    ] {
        assert_eq!(Fault::from(parse(body).unwrap_err()).code, -32600, "{body}");
    }
}

#[test]
fn doctype_and_entities_are_refused() {
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>\
                  <methodCall><methodName>&lol2;</methodName></methodCall>";
    let external = "<!DOCTYPE m SYSTEM \"file:///etc/passwd\"><methodCall><methodName>m</methodName></methodCall>";
    for body in [laughs, external] {
        let fault = Fault::from(parse(body).unwrap_err());
        assert_eq!(fault.code, -32700);
        assert_eq!(
            fault.message,
            "DOCTYPE and entity declarations are not allowed"
        );
    }
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!(
        "{}<value><int>1</int></value>{}",
        "<value><array><data>".repeat(20),
        "</data></array></value>".repeat(20)
    );
    let fault = Fault::from(parse(&call_with(&deep)).unwrap_err());
    assert_eq!(
        (fault.code, fault.message.as_str()),
        (-32700, "XML nesting is deeper than 32 levels")
    );
    let shallow = format!(
        "{}<value><int>1</int></value>{}",
        "<value><array><data>".repeat(8),
        "</data></array></value>".repeat(8)
    );
    assert!(parse(&call_with(&shallow)).is_ok());
}

#[test]
fn element_count_is_bounded() {
    let many = format!(
        "<value><array><data>{}</data></array></value>",
        "<value><int>1</int></value>".repeat(600)
    );
    let small = XmlLimits {
        max_depth: 32,
        max_elements: 1000,
    };
    let err = parse_call(call_with(&many).as_bytes(), small).unwrap_err();
    assert_eq!(err, ParseError::TooManyElements(1000));
    assert!(parse_call(call_with(&many).as_bytes(), limits()).is_ok());
}

#[test]
fn only_utf8_encodings_are_accepted() {
    let latin = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName></methodCall>";
    assert_eq!(Fault::from(parse(latin).unwrap_err()).code, -32701);
    let utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>m</methodName></methodCall>";
    assert!(parse(utf8).is_ok());
}

#[test]
fn python_dumps_of_every_type_parses() {
    let body = python_dumps(
        "(B(b'k\\x00\\xff'), 5, -7, 'a<&>\\u00e9', True, 1.5, None, [1, {'a': 2, 'b': []}], \
         x.DateTime(datetime.datetime(2005, 7, 4, 1, 2, 3)), B(bytes(range(256)) * 4), '')",
        "put",
    );
    let call = parse_call(&body, limits()).unwrap();
    assert_eq!(call.method, "put");
    let want = vec![
        Value::Base64(b"k\x00\xff".to_vec()),
        Value::Int(5),
        Value::Int(-7),
        Value::String("a<&>é".into()),
        Value::Bool(true),
        Value::Double(1.5),
        Value::Nil,
        Value::Array(vec![
            Value::Int(1),
            Value::Struct(vec![
                ("a".into(), Value::Int(2)),
                ("b".into(), Value::Array(vec![])),
            ]),
        ]),
        Value::DateTime(DateTime::parse("20050704T01:02:03").unwrap()),
        Value::Base64((0..=255u8).collect::<Vec<_>>().repeat(4)),
        Value::String(String::new()),
    ];
    assert_eq!(call.params, want);
}

#[test]
fn python_loads_our_responses() {
    let cases: [(Value, &str); 8] = [
        (Value::Int(0), "0"),
        (Value::I8(1 << 40), "1 << 40"),
        (Value::String("a <b> & \r\n é".into()), "'a <b> & \\r\\n é'"),
        (Value::Base64(vec![0, 255]), "B(b'\\x00\\xff')"),
        (Value::Double(0.1), "0.1"),
        (Value::Bool(false), "False"),
        (
            Value::DateTime(DateTime::parse("20050704T01:02:03").unwrap()),
            "x.DateTime('20050704T01:02:03')",
        ),
        (
            Value::Array(vec![
                Value::Nil,
                Value::Struct(vec![("k".into(), Value::Array(vec![]))]),
            ]),
            "[None, {'k': []}]",
        ),
    ];
    for (value, expected) in cases {
        assert_python_loads(&encode_response(&value), expected);
    }
    assert_python_loads(
        &encode_fault(&Fault::new(-32601, "no such handler: x")),
        "Fault(-32601, 'no such handler: x')",
    );
}
