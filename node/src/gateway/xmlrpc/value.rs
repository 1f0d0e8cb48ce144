//! The XML-RPC value model.
//!
//! One enum covers every type of the XML-RPC specification plus the two common extensions
//! (`<i8>` and `<nil/>`), so that the parser and the encoder share a single representation and
//! the method layer can check argument types by matching on it.

use std::fmt;

/// One XML-RPC value, as carried inside `<value>`.
///
/// Structs keep their members in document order (a `Vec`, not a map) so that an encoded
/// response is byte-for-byte predictable; [`Value::member`] looks a member up by name.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` or `<i4>`: a signed 32-bit integer, the only integer type of the base spec.
    Int(i32),
    /// `<i8>`: a signed 64-bit integer (Apache and Python extension), for counters that can
    /// outgrow 32 bits.
    I8(i64),
    /// `<boolean>`: `0` or `1` on the wire.
    Bool(bool),
    /// `<string>` or untagged text inside `<value>`.
    String(String),
    /// `<double>`: a 64-bit float.
    Double(f64),
    /// `<dateTime.iso8601>`: a calendar time without time zone, as the spec defines it.
    DateTime(DateTime),
    /// `<base64>`: a byte string; every OpenDHT key, value, hash and secret travels as this.
    Base64(Vec<u8>),
    /// `<array><data>…</data></array>`.
    Array(Vec<Value>),
    /// `<struct>` with named members, in document order.
    Struct(Vec<(String, Value)>),
    /// `<nil/>`: the common extension for "no value" (Python's `allow_none`).
    Nil,
}

impl Default for Value {
    /// `nil`, so that a parameter can be moved out of a list with `std::mem::take`.
    fn default() -> Self {
        Value::Nil
    }
}

impl Value {
    /// The XML-RPC type name, used in fault texts that tell a client which type was expected.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::I8(_) => "i8",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Base64(_) => "base64",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
            Value::Nil => "nil",
        }
    }

    /// An integer as the narrowest wire type: `<int>` when it fits in 32 bits (so that old
    /// clients without `<i8>` support can read it), `<i8>` otherwise.
    #[must_use]
    pub fn from_i64(n: i64) -> Value {
        match i32::try_from(n) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::I8(n),
        }
    }

    /// The value as a 32-bit integer, accepting `<i8>` when it fits, because clients differ in
    /// which integer tag they emit.
    #[must_use]
    pub fn as_i32(&self) -> Option<i32> {
        match self {
            Value::Int(n) => Some(*n),
            Value::I8(n) => i32::try_from(*n).ok(),
            _ => None,
        }
    }

    /// The value as a 64-bit integer (either integer tag).
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(i64::from(*n)),
            Value::I8(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, if this is a string value.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a base64 value.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Base64(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The member called `name`, if this is a struct holding one. When a name repeats, the last
    /// one wins, as in Python's `xmlrpc.client` (which builds a dict).
    #[must_use]
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A `dateTime.iso8601` value: the spec's `YYYYMMDDTHH:MM:SS`, with no time zone.
///
/// Kept as fields (not as a `SystemTime`) because the wire format carries no zone and the
/// gateway never needs to compare these with the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, 0 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 60 (60 allows a leap second).
    pub second: u8,
}

impl DateTime {
    /// Parses `YYYYMMDDTHH:MM:SS` (what Python and Apache send) or the extended
    /// `YYYY-MM-DDTHH:MM:SS`; surrounding whitespace is ignored. `None` if malformed.
    #[must_use]
    pub fn parse(text: &str) -> Option<DateTime> {
        let (date, time) = text.trim().split_once('T')?;
        let digits: Vec<u8> = date
            .bytes()
            .filter(|b| *b != b'-')
            .chain(time.bytes().filter(|b| *b != b':'))
            .collect();
        if digits.len() != 14 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |from: usize, len: usize| {
            digits[from..from + len]
                .iter()
                .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'))
        };
        let small = |from: usize| u8::try_from(num(from, 2)).ok();
        let dt = DateTime {
            year: num(0, 4),
            month: small(4)?,
            day: small(6)?,
            hour: small(8)?,
            minute: small(10)?,
            second: small(12)?,
        };
        dt.is_valid().then_some(dt)
    }

    /// Whether every field is in its calendar range (days are not checked per month: the wire
    /// format does not need it and clients differ).
    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
            && self.year <= 9999
    }
}

impl fmt::Display for DateTime {
    /// Formats as `YYYYMMDDTHH:MM:SS`, the form every XML-RPC implementation reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_parses_both_forms_and_formats_basic() {
        let basic = DateTime::parse("20050704T12:34:56").unwrap();
        assert_eq!(basic.to_string(), "20050704T12:34:56");
        assert_eq!(DateTime::parse(" 2005-07-04T12:34:56 "), Some(basic));
    }

    #[test]
    fn datetime_rejects_garbage() {
        for bad in [
            "",
            "T",
            "2005070412:34:56",
            "20051304T12:34:56",
            "20050704T25:00:00",
            "2005０704T12:34:56",
        ] {
            assert_eq!(DateTime::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_pick_narrowest_tag() {
        assert_eq!(Value::from_i64(5), Value::Int(5));
        assert_eq!(Value::from_i64(1 << 40), Value::I8(1 << 40));
        assert_eq!(Value::I8(7).as_i32(), Some(7));
        assert_eq!(Value::I8(1 << 40).as_i32(), None);
    }

    #[test]
    fn member_lookup_last_wins() {
        let s = Value::Struct(vec![
            ("a".into(), Value::Int(1)),
            ("a".into(), Value::Int(2)),
        ]);
        assert_eq!(s.member("a"), Some(&Value::Int(2)));
        assert_eq!(s.member("b"), None);
    }
}
