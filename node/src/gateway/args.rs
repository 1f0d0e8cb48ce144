//! Positional-parameter extraction with arity and type checks.
//!
//! Every method decoder starts with [`Args::new`] (checks the count) and then takes each
//! parameter by position with the typed getter, so that every wrong type produces the same
//! -32602 fault naming the method, the position, the parameter and both types.

use super::error::ParamError;
use super::xmlrpc::Value;

/// The parameters of one call, consumed by position.
pub(crate) struct Args {
    method: &'static str,
    params: Vec<Value>,
}

impl Args {
    /// Checks that exactly `arity` parameters were sent.
    pub(crate) fn new(
        method: &'static str,
        params: Vec<Value>,
        arity: usize,
    ) -> Result<Args, ParamError> {
        if params.len() != arity {
            return Err(ParamError::Arity {
                method,
                expected: arity,
                got: params.len(),
            });
        }
        Ok(Args { method, params })
    }

    /// Takes parameter `index` (0-based) out of the list, leaving `nil` behind.
    fn take(&mut self, index: usize) -> Value {
        self.params
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or(Value::Nil)
    }

    fn wrong_type(
        &self,
        index: usize,
        name: &'static str,
        expected: &'static str,
        got: &Value,
    ) -> ParamError {
        ParamError::Type {
            method: self.method,
            position: index + 1,
            name,
            expected,
            got: got.type_name(),
        }
    }

    /// A `<base64>` parameter.
    pub(crate) fn bytes(
        &mut self,
        index: usize,
        name: &'static str,
    ) -> Result<Vec<u8>, ParamError> {
        match self.take(index) {
            Value::Base64(bytes) => Ok(bytes),
            other => Err(self.wrong_type(index, name, "base64", &other)),
        }
    }

    /// A `<string>` parameter (untagged text counts as a string).
    pub(crate) fn string(
        &mut self,
        index: usize,
        name: &'static str,
    ) -> Result<String, ParamError> {
        match self.take(index) {
            Value::String(text) => Ok(text),
            other => Err(self.wrong_type(index, name, "string", &other)),
        }
    }

    /// An `<int>`/`<i4>` parameter (an `<i8>` that fits is accepted too).
    pub(crate) fn int(&mut self, index: usize, name: &'static str) -> Result<i32, ParamError> {
        let value = self.take(index);
        value
            .as_i32()
            .ok_or_else(|| self.wrong_type(index, name, "int", &value))
    }

    /// An `<array>` parameter.
    pub(crate) fn array(
        &mut self,
        index: usize,
        name: &'static str,
    ) -> Result<Vec<Value>, ParamError> {
        match self.take(index) {
            Value::Array(items) => Ok(items),
            other => Err(self.wrong_type(index, name, "array", &other)),
        }
    }
}
