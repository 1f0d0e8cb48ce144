//! The XML-RPC grammar: `methodCall`, `methodResponse` and values, as a recursive-descent parser
//! over the bounded token stream.
//!
//! Recursion happens only through `value` → `array`/`struct` → `value`, and every level consumes
//! an opening tag that the token stream has already counted against the depth limit, so the stack
//! depth is bounded by [`XmlLimits::max_depth`].

use base64::Engine as _;

use super::tokens::{Tok, Tokens};
use super::{DateTime, Fault, ParseError, Value, XmlLimits};

/// A parsed `methodCall`: the method name and its positional parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// `methodName`, with surrounding whitespace removed.
    pub method: String,
    /// The values of the `<param>` elements, in order.
    pub params: Vec<Value>,
}

/// A parsed `methodResponse`: either the single result value or a fault.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// `<params><param><value>…` : the call succeeded with this result.
    Success(Value),
    /// `<fault>`: the call failed.
    Fault(Fault),
}

/// Parses a `methodCall` document under `limits`. Never panics; every refusal is a
/// [`ParseError`] that converts into the right fault.
pub fn parse_call(body: &[u8], limits: XmlLimits) -> Result<MethodCall, ParseError> {
    let mut p = Parser::new(body, limits)?;
    p.open("methodCall")?;
    p.open("methodName")?;
    let method = p.text_until_close("methodName")?.trim().to_owned();
    if method.is_empty() {
        return Err(ParseError::Invalid("empty methodName".into()));
    }
    let mut params = Vec::new();
    match p.next_non_ws()? {
        Tok::Open(name) if name == "params" => {
            params = p.params()?;
            p.close("methodCall")?;
        }
        Tok::Close(name) if name == "methodCall" => {}
        other => return Err(unexpected(&other, "<params> or </methodCall>")),
    }
    p.end()?;
    Ok(MethodCall { method, params })
}

/// Parses a `methodResponse` document (what the client library receives) under `limits`.
pub fn parse_response(body: &[u8], limits: XmlLimits) -> Result<MethodResponse, ParseError> {
    let mut p = Parser::new(body, limits)?;
    p.open("methodResponse")?;
    let response = match p.next_non_ws()? {
        Tok::Open(name) if name == "params" => {
            p.open("param")?;
            let value = p.tagged_value()?;
            p.close("param")?;
            p.close("params")?;
            MethodResponse::Success(value)
        }
        Tok::Open(name) if name == "fault" => {
            let value = p.tagged_value()?;
            p.close("fault")?;
            MethodResponse::Fault(fault_from_value(&value)?)
        }
        other => return Err(unexpected(&other, "<params> or <fault>")),
    };
    p.close("methodResponse")?;
    p.end()?;
    Ok(response)
}

/// Reads `{faultCode: int, faultString: string}`.
fn fault_from_value(value: &Value) -> Result<Fault, ParseError> {
    let code = value.member("faultCode").and_then(Value::as_i32);
    let message = value.member("faultString").and_then(Value::as_str);
    match (code, message) {
        (Some(code), Some(message)) => Ok(Fault::new(code, message)),
        _ => Err(ParseError::Invalid(
            "fault needs faultCode (int) and faultString (string)".into(),
        )),
    }
}

/// A diagnosis for a token that the grammar did not expect.
fn unexpected(tok: &Tok, wanted: &str) -> ParseError {
    if *tok == Tok::Eof {
        // A document that ends early is not well formed, whatever the grammar wanted.
        return ParseError::Malformed(format!("unexpected end of document, expected {wanted}"));
    }
    let found = match tok {
        Tok::Open(name) => format!("<{name}>"),
        Tok::Close(name) => format!("</{name}>"),
        Tok::Text(_) => "text".to_owned(),
        Tok::Eof => String::new(),
    };
    ParseError::Invalid(format!("expected {wanted}, found {found}"))
}

/// The grammar state: just the token stream.
struct Parser<'a> {
    toks: Tokens<'a>,
}

impl<'a> Parser<'a> {
    fn new(body: &'a [u8], limits: XmlLimits) -> Result<Parser<'a>, ParseError> {
        let text = std::str::from_utf8(body)
            .map_err(|e| ParseError::Malformed(format!("not UTF-8: {e}")))?;
        Ok(Parser {
            toks: Tokens::new(text, limits),
        })
    }

    /// The next token that is not whitespace-only text. Non-blank text between elements is an error.
    fn next_non_ws(&mut self) -> Result<Tok, ParseError> {
        loop {
            match self.toks.next()? {
                Tok::Text(t) if t.trim().is_empty() => continue,
                Tok::Text(_) => {
                    return Err(ParseError::Invalid(
                        "unexpected text between elements".into(),
                    ));
                }
                tok => return Ok(tok),
            }
        }
    }

    fn open(&mut self, name: &str) -> Result<(), ParseError> {
        match self.next_non_ws()? {
            Tok::Open(n) if n == name => Ok(()),
            other => Err(unexpected(&other, &format!("<{name}>"))),
        }
    }

    fn close(&mut self, name: &str) -> Result<(), ParseError> {
        match self.next_non_ws()? {
            Tok::Close(n) if n == name => Ok(()),
            other => Err(unexpected(&other, &format!("</{name}>"))),
        }
    }

    /// Only whitespace, comments and PIs may follow the root element.
    fn end(&mut self) -> Result<(), ParseError> {
        match self.next_non_ws()? {
            Tok::Eof => Ok(()),
            other => Err(unexpected(&other, "end of document")),
        }
    }

    /// The character data of a leaf element, up to and including its closing tag.
    fn text_until_close(&mut self, name: &str) -> Result<String, ParseError> {
        let mut text = String::new();
        loop {
            match self.toks.next()? {
                Tok::Text(t) => text.push_str(&t),
                Tok::Close(n) if n == name => return Ok(text),
                other => return Err(unexpected(&other, &format!("text or </{name}>"))),
            }
        }
    }

    /// `<param><value>…</value></param>`* up to `</params>` (the `<params>` is consumed).
    fn params(&mut self) -> Result<Vec<Value>, ParseError> {
        let mut params = Vec::new();
        loop {
            match self.next_non_ws()? {
                Tok::Open(n) if n == "param" => {
                    params.push(self.tagged_value()?);
                    self.close("param")?;
                }
                Tok::Close(n) if n == "params" => return Ok(params),
                other => return Err(unexpected(&other, "<param> or </params>")),
            }
        }
    }

    /// `<value>…</value>`, including the opening tag.
    fn tagged_value(&mut self) -> Result<Value, ParseError> {
        self.open("value")?;
        self.value_body()
    }

    /// The inside of `<value>` up to `</value>`: untagged text is a string, otherwise exactly one
    /// typed element surrounded by optional whitespace.
    fn value_body(&mut self) -> Result<Value, ParseError> {
        let mut text = String::new();
        loop {
            match self.toks.next()? {
                Tok::Text(t) => text.push_str(&t),
                Tok::Close(n) if n == "value" => return Ok(Value::String(text)),
                Tok::Open(tag) if text.trim().is_empty() => {
                    let value = self.typed(&tag)?;
                    self.close("value")?;
                    return Ok(value);
                }
                other => return Err(unexpected(&other, "a value")),
            }
        }
    }

    /// The typed element `<tag>` whose opening tag was just consumed, through its closing tag.
    fn typed(&mut self, tag: &str) -> Result<Value, ParseError> {
        match tag {
            "array" => self.array(),
            "struct" => self.structure(),
            "nil" | "ex:nil" => match self.text_until_close(tag)?.trim() {
                "" => Ok(Value::Nil),
                text => Err(ParseError::bad_scalar(tag, text)),
            },
            _ => {
                let text = self.text_until_close(tag)?;
                scalar(tag, text)
            }
        }
    }

    /// `<data><value>…</value>*</data></array>` (the `<array>` is consumed).
    fn array(&mut self) -> Result<Value, ParseError> {
        self.open("data")?;
        let mut items = Vec::new();
        loop {
            match self.next_non_ws()? {
                Tok::Open(n) if n == "value" => items.push(self.value_body()?),
                Tok::Close(n) if n == "data" => break,
                other => return Err(unexpected(&other, "<value> or </data>")),
            }
        }
        self.close("array")?;
        Ok(Value::Array(items))
    }

    /// `<member><name>…</name><value>…</value></member>*</struct>` (the `<struct>` is consumed).
    fn structure(&mut self) -> Result<Value, ParseError> {
        let mut members = Vec::new();
        loop {
            match self.next_non_ws()? {
                Tok::Open(n) if n == "member" => {
                    self.open("name")?;
                    let name = self.text_until_close("name")?;
                    let value = self.tagged_value()?;
                    self.close("member")?;
                    members.push((name, value));
                }
                Tok::Close(n) if n == "struct" => return Ok(Value::Struct(members)),
                other => return Err(unexpected(&other, "<member> or </struct>")),
            }
        }
    }
}

/// Converts the text of a scalar element. Numbers, booleans, dates and base64 ignore
/// surrounding whitespace (Python's parser does too); strings keep it.
fn scalar(tag: &str, text: String) -> Result<Value, ParseError> {
    let trimmed = text.trim();
    let bad = || ParseError::bad_scalar(tag, &text);
    let value = match tag {
        "string" => Value::String(text),
        "int" | "i4" => Value::Int(trimmed.parse().map_err(|_| bad())?),
        "i8" => Value::I8(trimmed.parse().map_err(|_| bad())?),
        "boolean" => match trimmed {
            "0" => Value::Bool(false),
            "1" => Value::Bool(true),
            _ => return Err(bad()),
        },
        "double" => Value::Double(parse_double(trimmed).ok_or_else(bad)?),
        "dateTime.iso8601" => Value::DateTime(DateTime::parse(trimmed).ok_or_else(bad)?),
        "base64" => Value::Base64(decode_base64(trimmed).ok_or_else(bad)?),
        _ => {
            return Err(ParseError::Invalid(format!(
                "unknown value type <{}>",
                tag.chars().take(64).collect::<String>()
            )));
        }
    };
    Ok(value)
}

/// A double: decimal notation, plus exponents and `inf`/`nan`, which some encoders (Python's
/// among them) emit although the spec does not allow them.
fn parse_double(text: &str) -> Option<f64> {
    if text.is_empty() || text.len() > 512 {
        return None;
    }
    text.parse().ok()
}

/// Standard-alphabet base64 with any ASCII whitespace removed (Python wraps lines at 76 columns)
/// and with or without padding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    super::encode::BASE64_LENIENT.decode(compact).ok()
}
