//! SCOPE's own methods (`scope.*`) as typed requests and responses.
//!
//! Wire shapes (all byte strings are `base64`, integers `int` unless they outgrow 32 bits):
//!
//! | method | parameters | result |
//! |---|---|---|
//! | `scope.status` | none | struct `{node_id, address, version, uptime_s, leaf_set_size, routing_table_size, stored_values}` |
//! | `scope.route` | `key` (≤ 20 bytes) | struct `{node_id, address}` of the key's root |
//! | `scope.put_blob` | `data` (≤ 8 MiB), `ttl_sec`, `application` | the blob's content hash (20 bytes) |
//! | `scope.get_blob` | `hash` (20 bytes) | the data, or fault [`code::NOT_FOUND`] |
//! | `scope.watch` | `keys` (array of 1–64 keys), `cursor` (string, `""` = from now), `timeout_s` (0–300, larger clamped) | struct `{cursor, changes: [{key, kind: "put", value} or {key, kind: "rm", value_hash}]}` |
//!
//! `scope.watch` returns as soon as at least one change is pending after `cursor` (or with no
//! changes when `timeout_s` runs out); passing the returned cursor to the next call resumes
//! without missing or repeating a change. Runtime failures of `put_blob`/`get_blob` are faults with
//! the application codes in [`code`].
//!
//! [`code`]: crate::gateway::error::code
//! [`code::NOT_FOUND`]: crate::gateway::error::code::NOT_FOUND

use super::args::Args;
use super::error::ParamError;
use super::opendht::{Key, MAX_KEY_BYTES, Ttl, check_len};
use super::xmlrpc::Value;

/// Largest blob accepted by `scope.put_blob` (images up to 8 MiB).
pub const MAX_BLOB_BYTES: usize = 8 * 1024 * 1024;
/// Length of a blob's content hash (SHA-1).
pub const BLOB_HASH_BYTES: usize = 20;
/// Most keys one `scope.watch` may follow.
pub const MAX_WATCH_KEYS: usize = 64;
/// Longest long-poll, in seconds; longer requests are clamped.
pub const MAX_WATCH_TIMEOUT_S: u32 = 300;
/// Longest cursor accepted, in bytes (cursors are opaque strings the gateway issued).
pub const MAX_CURSOR_BYTES: usize = 256;

/// The result of `scope.status`: what a node reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeStatus {
    /// The node's 160-bit overlay identifier.
    pub node_id: Vec<u8>,
    /// The node's overlay address, `ip:port`.
    pub address: String,
    /// Software version.
    pub version: String,
    /// Seconds since the node started.
    pub uptime_s: u64,
    /// Entries in the leaf set.
    pub leaf_set_size: u32,
    /// Entries in the routing table.
    pub routing_table_size: u32,
    /// Values stored on this node (all replicas).
    pub stored_values: u64,
}

/// `scope.route(key)`: which node is the root of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The key to route.
    pub key: Key,
}

/// The result of `scope.route`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteResult {
    /// The root's overlay identifier.
    pub node_id: Vec<u8>,
    /// The root's address, `ip:port`.
    pub address: String,
}

/// `scope.put_blob(data, ttl_sec, application)`: store content-addressed data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutBlob {
    /// At most [`MAX_BLOB_BYTES`].
    pub data: Vec<u8>,
    /// Clamped to one week.
    pub ttl: Ttl,
    /// Logged only.
    pub application: String,
}

/// `scope.get_blob(hash)`: fetch content by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBlob {
    /// Exactly [`BLOB_HASH_BYTES`].
    pub hash: Vec<u8>,
}

/// `scope.watch(keys, cursor, timeout_s)`: long-poll for puts and removals under some keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// One to [`MAX_WATCH_KEYS`] keys.
    pub keys: Vec<Key>,
    /// Empty for "changes from now on", otherwise a cursor from a previous result.
    pub cursor: String,
    /// Seconds to wait for a change, 0 to [`MAX_WATCH_TIMEOUT_S`]; 0 answers at once.
    pub timeout_s: u32,
}

/// What happened to a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A value was put; `kind: "put"`, `value`.
    Put {
        /// The value put.
        value: Vec<u8>,
    },
    /// A value was removed; `kind: "rm"`, `value_hash` (removals name values by hash).
    Rm {
        /// SHA-1 of the removed value.
        value_hash: Vec<u8>,
    },
}

/// One change in a `scope.watch` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The watched key that changed.
    pub key: Vec<u8>,
    /// What happened.
    pub kind: ChangeKind,
}

/// The result of `scope.watch`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchResult {
    /// Pass this to the next call to resume after the last change returned.
    pub cursor: String,
    /// Changes in the order they happened; empty if the timeout ran out.
    pub changes: Vec<Change>,
}

impl NodeStatus {
    /// The status struct.
    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Struct(vec![
            member("node_id", Value::Base64(self.node_id.clone())),
            member("address", Value::String(self.address.clone())),
            member("version", Value::String(self.version.clone())),
            member("uptime_s", count(self.uptime_s)),
            member("leaf_set_size", count(u64::from(self.leaf_set_size))),
            member(
                "routing_table_size",
                count(u64::from(self.routing_table_size)),
            ),
            member("stored_values", count(self.stored_values)),
        ])
    }
}

impl RouteResult {
    /// `{node_id, address}`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Struct(vec![
            member("node_id", Value::Base64(self.node_id.clone())),
            member("address", Value::String(self.address.clone())),
        ])
    }
}

impl WatchResult {
    /// `{cursor, changes: [...]}`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let changes = self.changes.iter().map(Change::to_value).collect();
        Value::Struct(vec![
            member("cursor", Value::String(self.cursor.clone())),
            member("changes", Value::Array(changes)),
        ])
    }
}

impl Change {
    fn to_value(&self) -> Value {
        let key = member("key", Value::Base64(self.key.clone()));
        let (kind, data) = match &self.kind {
            ChangeKind::Put { value } => ("put", member("value", Value::Base64(value.clone()))),
            ChangeKind::Rm { value_hash } => (
                "rm",
                member("value_hash", Value::Base64(value_hash.clone())),
            ),
        };
        Value::Struct(vec![
            key,
            member("kind", Value::String(kind.to_owned())),
            data,
        ])
    }
}

impl Route {
    pub(crate) fn decode(mut args: Args) -> Result<Route, ParamError> {
        Ok(Route {
            key: Key::new(args.bytes(0, "key")?)?,
        })
    }
}

impl PutBlob {
    pub(crate) fn decode(mut args: Args) -> Result<PutBlob, ParamError> {
        let data = args.bytes(0, "data")?;
        check_len(&data, "blob", MAX_BLOB_BYTES)?;
        let ttl = Ttl::from_wire(args.int(1, "ttl_sec")?)?;
        Ok(PutBlob {
            data,
            ttl,
            application: args.string(2, "application")?,
        })
    }
}

impl GetBlob {
    pub(crate) fn decode(mut args: Args) -> Result<GetBlob, ParamError> {
        let hash = args.bytes(0, "hash")?;
        if hash.len() != BLOB_HASH_BYTES {
            return Err(ParamError::WrongLength {
                what: "hash",
                expected: BLOB_HASH_BYTES,
                got: hash.len(),
            });
        }
        Ok(GetBlob { hash })
    }
}

impl Watch {
    pub(crate) fn decode(mut args: Args) -> Result<Watch, ParamError> {
        let keys = watch_keys(args.array(0, "keys")?)?;
        let cursor = args.string(1, "cursor")?;
        check_len(cursor.as_bytes(), "cursor", MAX_CURSOR_BYTES)?;
        let timeout = args.int(2, "timeout_s")?;
        let timeout_s = u32::try_from(timeout)
            .map_err(|_| ParamError::OutOfRange {
                what: "timeout_s",
                bound: "non-negative",
                got: i64::from(timeout),
            })?
            .min(MAX_WATCH_TIMEOUT_S);
        Ok(Watch {
            keys,
            cursor,
            timeout_s,
        })
    }
}

/// 1 to 64 keys, each base64 of at most 20 bytes.
fn watch_keys(items: Vec<Value>) -> Result<Vec<Key>, ParamError> {
    if items.is_empty() {
        return Err(ParamError::Invalid(
            "scope.watch: keys must not be empty".into(),
        ));
    }
    if items.len() > MAX_WATCH_KEYS {
        return Err(ParamError::TooMany {
            what: "keys",
            limit: MAX_WATCH_KEYS,
        });
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::Base64(bytes) => Key::new(bytes),
            other => Err(ParamError::Invalid(format!(
                "scope.watch: keys must be an array of base64 (at most {MAX_KEY_BYTES} bytes each), found {}",
                other.type_name()
            ))),
        })
        .collect()
}

fn member(name: &str, value: Value) -> (String, Value) {
    (name.to_owned(), value)
}

fn count(n: u64) -> Value {
    Value::from_i64(i64::try_from(n).unwrap_or(i64::MAX))
}
