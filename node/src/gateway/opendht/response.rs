//! Typed OpenDHT responses and their XML-RPC shapes.

use crate::gateway::xmlrpc::Value;

/// The status of `put`, `put_removable` and `rm` (Bamboo's `bamboo_stat`), sent as `<int>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0: stored (or removed).
    Success,
    /// 1: refused by the storage / fair-share rules.
    OverCapacity,
    /// 2: transient failure, try again.
    TryAgain,
}

impl Status {
    /// The wire code: 0, 1 or 2.
    #[must_use]
    pub fn code(self) -> i32 {
        match self {
            Status::Success => 0,
            Status::OverCapacity => 1,
            Status::TryAgain => 2,
        }
    }

    /// The status for a wire code, for the client side.
    #[must_use]
    pub fn from_code(code: i32) -> Option<Status> {
        match code {
            0 => Some(Status::Success),
            1 => Some(Status::OverCapacity),
            2 => Some(Status::TryAgain),
            _ => None,
        }
    }

    /// `<int>` status.
    #[must_use]
    pub fn to_value(self) -> Value {
        Value::Int(self.code())
    }
}

/// The result of `get`: one page of values and the placemark for the next (empty: no more).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetResult {
    /// The values of this page.
    pub values: Vec<Vec<u8>>,
    /// Opaque; empty when there are no more values.
    pub placemark: Vec<u8>,
}

impl GetResult {
    /// `[[value: base64, ...], placemark: base64]`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let values = self
            .values
            .iter()
            .map(|v| Value::Base64(v.clone()))
            .collect();
        Value::Array(vec![
            Value::Array(values),
            Value::Base64(self.placemark.clone()),
        ])
    }
}

/// One value of a `get_details` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailedValue {
    /// The value.
    pub value: Vec<u8>,
    /// Whole seconds left before it expires.
    pub ttl_remaining: u32,
    /// `"SHA"` for removable values, `""` for the others.
    pub hash_alg: String,
    /// SHA-1 of the secret for removable values, empty for the others.
    pub secret_hash: Vec<u8>,
}

/// The result of `get_details`: one page of detailed values and the placemark for the next.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetDetailsResult {
    /// The values of this page with their details.
    pub values: Vec<DetailedValue>,
    /// Opaque; empty when there are no more values.
    pub placemark: Vec<u8>,
}

impl GetDetailsResult {
    /// `[[[value: base64, ttl_remaining: int, hash_alg: string, secret_hash: base64], ...],
    /// placemark: base64]`.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let values = self.values.iter().map(DetailedValue::to_value).collect();
        Value::Array(vec![
            Value::Array(values),
            Value::Base64(self.placemark.clone()),
        ])
    }
}

impl DetailedValue {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            Value::Base64(self.value.clone()),
            Value::from_i64(i64::from(self.ttl_remaining)),
            Value::String(self.hash_alg.clone()),
            Value::Base64(self.secret_hash.clone()),
        ])
    }
}
