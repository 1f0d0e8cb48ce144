//! The client side of the method layer: typed requests to bytes, response bytes to typed results.
//!
//! The app's client library speaks to super-nodes with the same codec, so that both ends agree on
//! every shape by construction. Results are checked as strictly as requests are on the server:
//! a reply of the wrong shape is an error, not a default.

use super::error::{Fault, code};
use super::opendht::{DetailedValue, GetDetailsResult, GetResult, Status};
use super::request::Request;
use super::response::Response;
use super::scope_methods::{Change, ChangeKind, NodeStatus, RouteResult, WatchResult};
use super::xmlrpc::{MethodResponse, Value, XmlLimits, encode_call, parse_response};

/// The `methodCall` body for `request`.
#[must_use]
pub fn encode_request(request: &Request) -> Vec<u8> {
    let call = request.to_call();
    encode_call(&call.method, &call.params)
}

/// Parses the reply to a call of `method` into its typed form; a server fault comes back as
/// [`Response::Fault`], a reply that cannot be read as an `Err` fault (-32700 / -32600).
/// `system.multicall` is not typed here (its result depends on every entry's method): parse the
/// reply with [`parse_response`] and give each entry to [`response_from_value`].
pub fn decode_response(method: &str, body: &[u8], limits: XmlLimits) -> Result<Response, Fault> {
    match parse_response(body, limits)? {
        MethodResponse::Fault(fault) => Ok(Response::Fault(fault)),
        MethodResponse::Success(value) => response_from_value(method, value),
    }
}

/// The typed result of `method` from its XML-RPC value.
pub fn response_from_value(method: &str, value: Value) -> Result<Response, Fault> {
    let shape = || {
        Fault::new(
            code::INVALID_XMLRPC,
            format!("unexpected result shape for {method}"),
        )
    };
    let response = match method {
        "put" | "put_removable" | "rm" => Response::Status(
            value
                .as_i32()
                .and_then(Status::from_code)
                .ok_or_else(shape)?,
        ),
        "get" => Response::Get(get_result(&value).ok_or_else(shape)?),
        "get_details" => Response::GetDetails(get_details_result(&value).ok_or_else(shape)?),
        "scope.status" => Response::NodeStatus(node_status(&value).ok_or_else(shape)?),
        "scope.route" => Response::Route(route_result(&value).ok_or_else(shape)?),
        "scope.put_blob" => Response::BlobHash(bytes(&value).ok_or_else(shape)?),
        "scope.get_blob" => Response::Blob(bytes(&value).ok_or_else(shape)?),
        "scope.watch" => Response::Watch(watch_result(&value).ok_or_else(shape)?),
        "system.listMethods" => Response::Methods(strings(&value).ok_or_else(shape)?),
        "system.methodHelp" => Response::Help(value.as_str().ok_or_else(shape)?.to_owned()),
        "system.methodSignature" => Response::Signature(signatures(&value).ok_or_else(shape)?),
        _ => {
            return Err(Fault::new(
                code::METHOD_NOT_FOUND,
                format!("no typed result for {method}"),
            ));
        }
    };
    Ok(response)
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    value.as_bytes().map(<[u8]>::to_vec)
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn signatures(value: &Value) -> Option<Vec<Vec<String>>> {
    value.as_array()?.iter().map(strings).collect()
}

fn unsigned<T: TryFrom<i64>>(value: Option<&Value>) -> Option<T> {
    T::try_from(value?.as_i64()?).ok()
}

/// `[items, placemark]`.
fn page(value: &Value) -> Option<(&[Value], Vec<u8>)> {
    match value.as_array()? {
        [items, placemark] => Some((items.as_array()?, bytes(placemark)?)),
        _ => None,
    }
}

fn get_result(value: &Value) -> Option<GetResult> {
    let (items, placemark) = page(value)?;
    Some(GetResult {
        values: items.iter().map(bytes).collect::<Option<_>>()?,
        placemark,
    })
}

fn get_details_result(value: &Value) -> Option<GetDetailsResult> {
    let (items, placemark) = page(value)?;
    let values = items.iter().map(detailed_value).collect::<Option<_>>()?;
    Some(GetDetailsResult { values, placemark })
}

fn detailed_value(value: &Value) -> Option<DetailedValue> {
    match value.as_array()? {
        [v, ttl, alg, hash] => Some(DetailedValue {
            value: bytes(v)?,
            ttl_remaining: unsigned(Some(ttl))?,
            hash_alg: alg.as_str()?.to_owned(),
            secret_hash: bytes(hash)?,
        }),
        _ => None,
    }
}

fn node_status(value: &Value) -> Option<NodeStatus> {
    let text = |name| value.member(name)?.as_str().map(str::to_owned);
    Some(NodeStatus {
        node_id: bytes(value.member("node_id")?)?,
        address: text("address")?,
        version: text("version")?,
        uptime_s: unsigned(value.member("uptime_s"))?,
        leaf_set_size: unsigned(value.member("leaf_set_size"))?,
        routing_table_size: unsigned(value.member("routing_table_size"))?,
        stored_values: unsigned(value.member("stored_values"))?,
    })
}

fn route_result(value: &Value) -> Option<RouteResult> {
    let address = value.member("address")?.as_str()?.to_owned();
    Some(RouteResult {
        node_id: bytes(value.member("node_id")?)?,
        address,
    })
}

fn watch_result(value: &Value) -> Option<WatchResult> {
    let cursor = value.member("cursor")?.as_str()?.to_owned();
    let changes = value
        .member("changes")?
        .as_array()?
        .iter()
        .map(change)
        .collect::<Option<_>>()?;
    Some(WatchResult { cursor, changes })
}

fn change(value: &Value) -> Option<Change> {
    let key = bytes(value.member("key")?)?;
    let kind = match value.member("kind")?.as_str()? {
        "put" => ChangeKind::Put {
            value: bytes(value.member("value")?)?,
        },
        "rm" => ChangeKind::Rm {
            value_hash: bytes(value.member("value_hash")?)?,
        },
        _ => return None,
    };
    Some(Change { key, kind })
}
