//! The method table behind `system.listMethods`, `system.methodHelp` and
//! `system.methodSignature`.
//!
//! One table is the single source of truth for which names exist, so the introspection answers
//! cannot drift from what the dispatcher accepts (a test checks that every listed name decodes).

/// One method's introspection data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method name as called.
    pub name: &'static str,
    /// Return type followed by parameter types, in the `system.methodSignature` convention.
    pub signature: &'static [&'static str],
    /// The text `system.methodHelp` returns.
    pub help: &'static str,
}

const fn info(
    name: &'static str,
    signature: &'static [&'static str],
    help: &'static str,
) -> MethodInfo {
    MethodInfo {
        name,
        signature,
        help,
    }
}

/// Every method the gateway serves.
pub const METHODS: &[MethodInfo] = &[
    info(
        "put",
        &["int", "base64", "base64", "int", "string"],
        "put(key, value, ttl_sec, application) -> status. Stores value (at most 1024 bytes) under key (at most 20 bytes) for ttl_sec seconds (clamped to 604800). The value cannot be removed, only expire. Status 0 = stored, 1 = over capacity, 2 = try again.",
    ),
    info(
        "put_removable",
        &[
            "int", "base64", "base64", "string", "base64", "int", "string",
        ],
        "put_removable(key, value, hash_alg, secret_hash, ttl_sec, application) -> status. Like put, but the value can later be removed with rm by whoever knows the secret; hash_alg must be \"SHA\" and secret_hash is SHA-1(secret) (at most 20 bytes).",
    ),
    info(
        "get",
        &["array", "base64", "int", "base64", "string"],
        "get(key, maxvals, placemark, application) -> [[value, ...], placemark]. Returns up to maxvals values stored under key. Pass an empty placemark first, then the returned one, until it comes back empty.",
    ),
    info(
        "get_details",
        &["array", "base64", "int", "base64", "string"],
        "get_details(key, maxvals, placemark, application) -> [[[value, ttl_remaining, hash_alg, secret_hash], ...], placemark]. Like get, with each value's remaining TTL and secret hash.",
    ),
    info(
        "rm",
        &[
            "int", "base64", "base64", "string", "base64", "int", "string",
        ],
        "rm(key, value_hash, hash_alg, secret, ttl_sec, application) -> status. Removes the value whose SHA-1 is value_hash if it was put with SHA-1(secret); hash_alg must be \"SHA\", secret at most 40 bytes. ttl_sec must be at least the value's remaining TTL. Returns 0 even if nothing matched.",
    ),
    info(
        "scope.status",
        &["struct"],
        "scope.status() -> {node_id, address, version, uptime_s, leaf_set_size, routing_table_size, stored_values}. This node's view of itself.",
    ),
    info(
        "scope.route",
        &["struct", "base64"],
        "scope.route(key) -> {node_id, address}. The node currently responsible (the root) for key.",
    ),
    info(
        "scope.put_blob",
        &["base64", "base64", "int", "string"],
        "scope.put_blob(data, ttl_sec, application) -> hash. Stores up to 8 MiB of content-addressed data and returns its 20-byte hash. Faults 1 (over capacity) and 2 (try again) on failure.",
    ),
    info(
        "scope.get_blob",
        &["base64", "base64"],
        "scope.get_blob(hash) -> data. Fetches a blob stored with scope.put_blob; fault 3 if it is not found.",
    ),
    info(
        "scope.watch",
        &["struct", "array", "string", "int"],
        "scope.watch(keys, cursor, timeout_s) -> {cursor, changes}. Waits up to timeout_s seconds (at most 300) for a put or rm under any of keys (1 to 64), then returns the changes after cursor (\"\" = from now) as [{key, kind: \"put\", value} or {key, kind: \"rm\", value_hash}] and a cursor to resume with.",
    ),
    info(
        "system.listMethods",
        &["array"],
        "system.listMethods() -> [name, ...]. The names of all methods.",
    ),
    info(
        "system.methodHelp",
        &["string", "string"],
        "system.methodHelp(name) -> text. Help for one method.",
    ),
    info(
        "system.methodSignature",
        &["array", "string"],
        "system.methodSignature(name) -> [[return_type, param_type, ...]]. The signature of one method.",
    ),
    info(
        "system.multicall",
        &["array", "array"],
        "system.multicall([{methodName, params}, ...]) -> [[result] or {faultCode, faultString}, ...]. Runs several calls in one request; each fails or succeeds on its own. Nested multicalls are refused.",
    ),
];

/// The table entry for `name`, if the gateway serves it.
#[must_use]
pub fn find(name: &str) -> Option<&'static MethodInfo> {
    METHODS.iter().find(|m| m.name == name)
}
