//! The typed request: one variant per method, decoded from a parsed call.

use super::args::Args;
use super::error::{Fault, ParamError, no_such_method};
use super::multicall;
use super::opendht::{Get, Put, PutRemovable, Rm};
use super::response::Response;
use super::scope_methods::{GetBlob, PutBlob, Route, Watch};
use super::system::{self, METHODS, MethodInfo};
use super::xmlrpc::{MethodCall, Value};

/// A validated call, ready for the caller to execute against the DHT.
///
/// Every variant's fields are already within the spec's limits. [`Request::local_response`]
/// answers the introspection methods without the DHT; for [`Request::Multicall`] the caller
/// executes each successfully decoded entry and keeps the faults of the others in place.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `put`.
    Put(Put),
    /// `put_removable`.
    PutRemovable(PutRemovable),
    /// `get`.
    Get(Get),
    /// `get_details` (same arguments as `get`).
    GetDetails(Get),
    /// `rm`.
    Rm(Rm),
    /// `scope.status`.
    Status,
    /// `scope.route`.
    Route(Route),
    /// `scope.put_blob`.
    PutBlob(PutBlob),
    /// `scope.get_blob`.
    GetBlob(GetBlob),
    /// `scope.watch`.
    Watch(Watch),
    /// `system.listMethods`.
    ListMethods,
    /// `system.methodHelp(name)`, with the method already looked up.
    MethodHelp(&'static MethodInfo),
    /// `system.methodSignature(name)`, with the method already looked up.
    MethodSignature(&'static MethodInfo),
    /// `system.multicall`: each entry decoded on its own, so one bad entry faults alone.
    Multicall(Vec<Result<Request, Fault>>),
}

/// Decodes a parsed call into a [`Request`]: -32601 for an unknown method, -32602 for wrong
/// arity, types or limits. `max_multicall` bounds the entries of `system.multicall`.
pub fn decode_call(call: MethodCall, max_multicall: usize) -> Result<Request, Fault> {
    let Some(info) = system::find(&call.method) else {
        return Err(no_such_method(&call.method));
    };
    decode_known(info, call.params, max_multicall).map_err(Fault::from)
}

/// Decodes the parameters of a method known to exist.
fn decode_known(
    info: &'static MethodInfo,
    params: Vec<Value>,
    max_multicall: usize,
) -> Result<Request, ParamError> {
    let arity = info.signature.len().saturating_sub(1);
    let args = Args::new(info.name, params, arity)?;
    let request = match info.name {
        "put" => Request::Put(Put::decode(args)?),
        "put_removable" => Request::PutRemovable(PutRemovable::decode(args)?),
        "get" => Request::Get(Get::decode(args)?),
        "get_details" => Request::GetDetails(Get::decode(args)?),
        "rm" => Request::Rm(Rm::decode(args)?),
        "scope.status" => Request::Status,
        "scope.route" => Request::Route(Route::decode(args)?),
        "scope.put_blob" => Request::PutBlob(PutBlob::decode(args)?),
        "scope.get_blob" => Request::GetBlob(GetBlob::decode(args)?),
        "scope.watch" => Request::Watch(Watch::decode(args)?),
        "system.listMethods" => Request::ListMethods,
        "system.methodHelp" => Request::MethodHelp(method_argument(args)?),
        "system.methodSignature" => Request::MethodSignature(method_argument(args)?),
        _ => Request::Multicall(multicall::decode(args, max_multicall)?),
    };
    Ok(request)
}

/// The single `name` argument of the introspection methods, looked up in the table.
fn method_argument(mut args: Args) -> Result<&'static MethodInfo, ParamError> {
    let name = args.string(0, "name")?;
    system::find(&name)
        .ok_or_else(|| ParamError::Invalid(format!("no such method: {}", truncate(&name))))
}

fn truncate(text: &str) -> String {
    text.chars().take(128).collect()
}

impl Request {
    /// The method name this request was (or will be) called as.
    #[must_use]
    pub fn method_name(&self) -> &'static str {
        match self {
            Request::Put(_) => "put",
            Request::PutRemovable(_) => "put_removable",
            Request::Get(_) => "get",
            Request::GetDetails(_) => "get_details",
            Request::Rm(_) => "rm",
            Request::Status => "scope.status",
            Request::Route(_) => "scope.route",
            Request::PutBlob(_) => "scope.put_blob",
            Request::GetBlob(_) => "scope.get_blob",
            Request::Watch(_) => "scope.watch",
            Request::ListMethods => "system.listMethods",
            Request::MethodHelp(_) => "system.methodHelp",
            Request::MethodSignature(_) => "system.methodSignature",
            Request::Multicall(_) => "system.multicall",
        }
    }

    /// The answer to the methods that need no DHT (`system.listMethods`, `methodHelp`,
    /// `methodSignature`); `None` for all the others, which the caller executes.
    #[must_use]
    pub fn local_response(&self) -> Option<Response> {
        match self {
            Request::ListMethods => Some(Response::Methods(
                METHODS.iter().map(|m| m.name.to_owned()).collect(),
            )),
            Request::MethodHelp(info) => Some(Response::Help(info.help.to_owned())),
            Request::MethodSignature(info) => Some(Response::Signature(vec![
                info.signature.iter().map(|t| (*t).to_owned()).collect(),
            ])),
            _ => None,
        }
    }

    /// The call as the client library sends it. Faulted multicall entries are dropped.
    #[must_use]
    pub fn to_call(&self) -> MethodCall {
        MethodCall {
            method: self.method_name().to_owned(),
            params: self.to_params(),
        }
    }

    fn to_params(&self) -> Vec<Value> {
        let string = |s: &str| Value::String(s.to_owned());
        match self {
            Request::Put(put) => put.to_params(),
            Request::PutRemovable(put) => put.to_params(),
            Request::Get(get) | Request::GetDetails(get) => get.to_params(),
            Request::Rm(rm) => rm.to_params(),
            Request::Status | Request::ListMethods => Vec::new(),
            Request::Route(route) => vec![Value::Base64(route.key.as_bytes().to_vec())],
            Request::PutBlob(blob) => {
                let ttl = Value::from_i64(i64::from(blob.ttl.secs()));
                vec![
                    Value::Base64(blob.data.clone()),
                    ttl,
                    string(&blob.application),
                ]
            }
            Request::GetBlob(blob) => vec![Value::Base64(blob.hash.clone())],
            Request::Watch(watch) => {
                let keys = watch
                    .keys
                    .iter()
                    .map(|k| Value::Base64(k.as_bytes().to_vec()))
                    .collect();
                vec![
                    Value::Array(keys),
                    string(&watch.cursor),
                    Value::from_i64(i64::from(watch.timeout_s)),
                ]
            }
            Request::MethodHelp(info) | Request::MethodSignature(info) => vec![string(info.name)],
            Request::Multicall(calls) => vec![multicall::calls_to_value(calls)],
        }
    }
}
