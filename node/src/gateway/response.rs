//! The typed response: one variant per result shape, encoded into a `methodResponse`.

use super::error::Fault;
use super::multicall;
use super::opendht::{GetDetailsResult, GetResult, Status};
use super::scope_methods::{NodeStatus, RouteResult, WatchResult};
use super::xmlrpc::{Value, encode_fault, encode_response as encode_value};

/// The result of executing a [`super::Request`], as the caller hands it back for encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// `put`, `put_removable`, `rm`: `<int>` 0, 1 or 2.
    Status(Status),
    /// `get`.
    Get(GetResult),
    /// `get_details`.
    GetDetails(GetDetailsResult),
    /// `scope.status`.
    NodeStatus(NodeStatus),
    /// `scope.route`.
    Route(RouteResult),
    /// `scope.put_blob`: the content hash.
    BlobHash(Vec<u8>),
    /// `scope.get_blob`: the data.
    Blob(Vec<u8>),
    /// `scope.watch`.
    Watch(WatchResult),
    /// `system.listMethods`.
    Methods(Vec<String>),
    /// `system.methodHelp`.
    Help(String),
    /// `system.methodSignature`: a list of signatures, each return type then parameter types.
    Signature(Vec<Vec<String>>),
    /// `system.multicall`: one response (or fault) per entry, in order.
    Multicall(Vec<Response>),
    /// The call failed at run time (or, inside a multicall, failed to decode).
    Fault(Fault),
}

impl Response {
    /// The XML-RPC result value, or the fault to send instead.
    pub fn to_value(&self) -> Result<Value, Fault> {
        let strings =
            |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
        Ok(match self {
            Response::Status(status) => status.to_value(),
            Response::Get(result) => result.to_value(),
            Response::GetDetails(result) => result.to_value(),
            Response::NodeStatus(status) => status.to_value(),
            Response::Route(route) => route.to_value(),
            Response::BlobHash(bytes) | Response::Blob(bytes) => Value::Base64(bytes.clone()),
            Response::Watch(result) => result.to_value(),
            Response::Methods(names) => strings(names),
            Response::Help(text) => Value::String(text.clone()),
            Response::Signature(signatures) => {
                Value::Array(signatures.iter().map(|s| strings(s)).collect())
            }
            Response::Multicall(results) => multicall::results_to_value(results),
            Response::Fault(fault) => return Err(fault.clone()),
        })
    }
}

/// The complete `methodResponse` document for `response` (a fault document for
/// [`Response::Fault`]); the HTTP layer sends it with status 200 and `Content-Type: text/xml`.
#[must_use]
pub fn encode_response(response: &Response) -> Vec<u8> {
    match response.to_value() {
        Ok(value) => encode_value(&value),
        Err(fault) => encode_fault(&fault),
    }
}
