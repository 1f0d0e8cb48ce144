//! Encoders for `methodCall`, `methodResponse` and faults.
//!
//! The output is the canonical, fully tagged form (`<string>` rather than untagged text, `<int>`
//! for 32-bit integers, base64 without line breaks) that every XML-RPC implementation reads,
//! including Python's `xmlrpc.client` and the Java, Perl and C clients written for OpenDHT.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{Fault, Value};

/// Encodes with padding; decodes with or without it, tolerating non-zero trailing bits, because
/// hand-written clients differ.
pub(crate) const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

const DECLARATION: &str = "<?xml version=\"1.0\"?>\n";

/// A `methodCall` document for `method` with positional `params`, for the client side.
#[must_use]
pub fn encode_call(method: &str, params: &[Value]) -> Vec<u8> {
    let mut out = String::from(DECLARATION);
    out.push_str("<methodCall><methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName><params>");
    for param in params {
        out.push_str("<param>");
        write_value(&mut out, param);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out.into_bytes()
}

/// A successful `methodResponse` carrying `result`.
#[must_use]
pub fn encode_response(result: &Value) -> Vec<u8> {
    let mut out = String::from(DECLARATION);
    out.push_str("<methodResponse><params><param>");
    write_value(&mut out, result);
    out.push_str("</param></params></methodResponse>\n");
    out.into_bytes()
}

/// A fault `methodResponse` with `faultCode` and `faultString`.
#[must_use]
pub fn encode_fault(fault: &Fault) -> Vec<u8> {
    let mut out = String::from(DECLARATION);
    out.push_str("<methodResponse><fault>");
    write_value(&mut out, &fault_value(fault));
    out.push_str("</fault></methodResponse>\n");
    out.into_bytes()
}

/// The struct form of a fault, also used inside `system.multicall` results.
pub(crate) fn fault_value(fault: &Fault) -> Value {
    Value::Struct(vec![
        ("faultCode".to_owned(), Value::Int(fault.code)),
        (
            "faultString".to_owned(),
            Value::String(fault.message.clone()),
        ),
    ])
}

/// Appends `<value>…</value>` for `value`.
fn write_value(out: &mut String, value: &Value) {
    out.push_str("<value>");
    match value {
        Value::Int(n) => leaf(out, "int", &n.to_string()),
        Value::I8(n) => leaf(out, "i8", &n.to_string()),
        Value::Bool(b) => leaf(out, "boolean", if *b { "1" } else { "0" }),
        Value::String(s) => leaf(out, "string", s),
        Value::Double(d) => leaf(out, "double", &format_double(*d)),
        Value::DateTime(dt) => leaf(out, "dateTime.iso8601", &dt.to_string()),
        Value::Base64(bytes) => leaf(out, "base64", &BASE64_LENIENT.encode(bytes)),
        Value::Array(items) => {
            out.push_str("<array><data>");
            items.iter().for_each(|item| write_value(out, item));
            out.push_str("</data></array>");
        }
        Value::Struct(members) => write_struct(out, members),
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

fn write_struct(out: &mut String, members: &[(String, Value)]) {
    out.push_str("<struct>");
    for (name, value) in members {
        out.push_str("<member><name>");
        escape_into(out, name);
        out.push_str("</name>");
        write_value(out, value);
        out.push_str("</member>");
    }
    out.push_str("</struct>");
}

/// `<tag>text</tag>` with the text escaped.
fn leaf(out: &mut String, tag: &str, text: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Rust's `Display` for `f64` is the shortest text that round-trips and never uses an exponent,
/// which is what the spec asks; infinities and NaN are written as Python writes them.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        }
    } else {
        d.to_string()
    }
}

/// Escapes markup characters, and `\r`, which a conforming XML parser would otherwise turn into
/// `\n`. Control characters that XML 1.0 cannot carry at all are written as character references
/// so that the document stays parseable by lenient readers (this one included).
fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {
                out.push_str(&format!("&#{};", c as u32));
            }
            c => out.push(c),
        }
    }
}
