//! `system.multicall`: several calls in one request (the de-facto convention of Python's
//! `xmlrpc.client.MultiCall` and most servers).
//!
//! Parameter: one array of structs `{methodName: string, params: array}`. Result: an array with,
//! per call in order, either a one-element array holding its result or a fault struct
//! `{faultCode, faultString}`. Each entry is decoded on its own, so one bad entry faults alone;
//! nested multicalls are refused so that the entry bound really bounds the work.

use super::args::Args;
use super::error::{Fault, ParamError, code};
use super::request::{Request, decode_call};
use super::response::Response;
use super::xmlrpc::{MethodCall, Value, encode_fault_value};

/// Default bound on the entries of one `system.multicall`.
pub const DEFAULT_MAX_CALLS: usize = 256;

/// Decodes the entries; the whole call faults only if the parameter is not an array or holds
/// more than `max_calls` entries.
pub(crate) fn decode(
    mut args: Args,
    max_calls: usize,
) -> Result<Vec<Result<Request, Fault>>, ParamError> {
    let entries = args.array(0, "calls")?;
    if entries.len() > max_calls {
        return Err(ParamError::TooMany {
            what: "system.multicall",
            limit: max_calls,
        });
    }
    Ok(entries
        .into_iter()
        .map(|entry| decode_entry(entry, max_calls))
        .collect())
}

/// One `{methodName, params}` entry.
fn decode_entry(entry: Value, max_calls: usize) -> Result<Request, Fault> {
    let Value::Struct(members) = entry else {
        return Err(invalid(
            "system.multicall: each call must be a struct {methodName, params}",
        ));
    };
    let mut method = None;
    let mut params = None;
    for (name, value) in members {
        match (name.as_str(), value) {
            ("methodName", Value::String(s)) => method = Some(s),
            ("params", Value::Array(p)) => params = Some(p),
            _ => {}
        }
    }
    let (Some(method), Some(params)) = (method, params) else {
        return Err(invalid(
            "system.multicall: each call needs methodName (string) and params (array)",
        ));
    };
    if method == "system.multicall" {
        return Err(invalid(
            "system.multicall: recursive system.multicall is not allowed",
        ));
    }
    decode_call(MethodCall { method, params }, max_calls)
}

fn invalid(text: &str) -> Fault {
    Fault::new(code::INVALID_PARAMS, text)
}

/// The multicall result array: `[result]` per success, a fault struct per failure.
pub(crate) fn results_to_value(results: &[Response]) -> Value {
    let items = results
        .iter()
        .map(|result| match result.to_value() {
            Ok(value) => Value::Array(vec![value]),
            Err(fault) => encode_fault_value(&fault),
        })
        .collect();
    Value::Array(items)
}

/// The client-side parameter: one `{methodName, params}` struct per successfully decoded entry.
pub(crate) fn calls_to_value(calls: &[Result<Request, Fault>]) -> Value {
    let entries = calls
        .iter()
        .filter_map(|call| call.as_ref().ok())
        .map(|request| {
            let call = request.to_call();
            Value::Struct(vec![
                ("methodName".to_owned(), Value::String(call.method)),
                ("params".to_owned(), Value::Array(call.params)),
            ])
        })
        .collect();
    Value::Array(entries)
}
