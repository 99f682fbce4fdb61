//! Reading and writing JSON.
//!
//! Reading is the plugin's own [`Reader`], in one of two ways, each for one
//! purpose:
//!
//! - **A reply of a fixed shape** from the server (a streamed chunk, a
//!   completion, their usage, the envelope of the model list) is read
//!   straight into the struct that needs it, with [`fields!`]: strings are
//!   borrowed from the text (the streaming hot path allocates only the
//!   strings it hands on), and one non-generic reader is far smaller in the
//!   component than serde's derived code, which compiles a copy of the
//!   parser per struct. These readers accept and refuse what the serde
//!   structs they replaced did (`mirror::agrees_with_serde!`), and their
//!   errors name the member and the line.
//! - **JSON of a free or varying shape** is a `serde_json::Value` from
//!   [`value`] or [`parse_value`] (the same reader underneath), walked by
//!   hand: the host's config section (every string substituted, then each
//!   setting checked with its own words and path), an error body (tried as
//!   each of vLLM's three shapes), each model card (checked on its own, so
//!   that its error names it), `/version`, and the schemas and arguments a
//!   request carries. None of these is read often enough for a tree to
//!   cost anything, and a tree is what their checks need.
//!
//! Both read what serde_json reads, value for value (see the tests).
//!
//! Writing stays with serde_json, through its one `Vec<u8>` writer.

mod first_object;
mod number;
mod reader;

/// Reads an object as serde's derived `Deserialize` reads a struct: each
/// `"name" => read` reads the value of that field (with `$reader`), a field
/// given twice is an error, and any other member is skipped (but checked).
/// At most 32 fields: one bit each records that it was read.
///
/// A macro, not a function taking closures: the field names become
/// constant comparisons in one loop, with the reading of keys and of
/// skipped values compiled into it, which the streaming hot path needs.
macro_rules! fields {
    ($reader:ident, $expected:expr, { $($name:literal => $read:expr),+ $(,)? }) => {{
        let mut object = $reader.begin_object($expected)?;
        while let Some(key) = object.next_key($reader)? {
            let mut bit = 1u32;
            let result = (|| -> Result<(), $crate::json::Error> {
                $(
                    if key == $name {
                        object.first_time($reader, bit, &key)?;
                        $read;
                        return Ok(());
                    }
                    bit <<= 1;
                )+
                let _ = bit;
                $reader.skip()
            })();
            result.map_err(|e| e.within(&key))?;
        }
    }};
}
pub(crate) use fields;
#[cfg(test)]
pub(crate) mod mirror;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use first_object::{ObjectScanner, object_end, repaired_arguments};
pub(crate) use reader::Reader;

use serde_json::Value;
use std::fmt;

/// Why JSON text could not be read, and where.
///
/// Boxed: a reader's results stay small on the path where nothing fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorAt>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorAt {
    message: String,
    /// The member the error is in, as `choices[0].delta.content`; empty at
    /// the top level.
    path: String,
    line: usize,
    column: usize,
}

impl Error {
    /// `message` about the byte at `pos` of `text`.
    fn at(text: &str, pos: usize, message: String) -> Self {
        let before = text.as_bytes().get(..pos).unwrap_or(text.as_bytes());
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        Self(Box::new(ErrorAt {
            message,
            path: String::new(),
            line: 1 + before.iter().filter(|b| **b == b'\n').count(),
            column: 1 + before.len() - line_start,
        }))
    }

    /// The same error, inside the member `key` of an object.
    pub(crate) fn within(mut self, key: &str) -> Self {
        self.0.path = join(key, &self.0.path);
        self
    }

    /// The same error, inside element `index` of a list.
    fn within_index(mut self, index: usize) -> Self {
        self.0.path = join(&format!("[{index}]"), &self.0.path);
        self
    }
}

/// `outer` then `inner` as one path: `a.b`, `a[0]`.
fn join(outer: &str, inner: &str) -> String {
    if inner.is_empty() || inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ErrorAt {
            message,
            path,
            line,
            column,
        } = &*self.0;
        if path.is_empty() {
            write!(f, "{message} at line {line} column {column}")
        } else {
            write!(f, "{message} in `{path}` at line {line} column {column}")
        }
    }
}

/// The byte-order mark some servers put before UTF-8 text; JSON parsers
/// may ignore it (RFC 8259 §8.1), and this one does.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// `bytes` as text: JSON is UTF-8. A leading byte-order mark is skipped.
pub fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes
            .get(..e.valid_up_to())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default();
        Error::at(valid, valid.len(), "invalid UTF-8".to_owned())
    })
}

/// Reads the one value of `text` with `read`; only whitespace may follow it.
pub(crate) fn read<'a, T>(
    text: &'a str,
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut reader = Reader::new(text);
    let value = read(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

/// JSON text as a value: what `serde_json::from_str::<Value>` gives.
pub fn value(text: &str) -> Result<Value, Error> {
    read(text, Reader::value)
}

/// A JSON body as a value: what `serde_json::from_slice::<Value>` gives.
pub fn parse_value(bytes: &[u8]) -> Result<Value, Error> {
    value(utf8(bytes)?)
}

/// Whether `text` is exactly one JSON value.
pub fn is_valid(text: &str) -> bool {
    read(text, Reader::skip).is_ok()
}

/// A value as compact JSON text: what its `Display` writes.
pub fn text(value: &Value) -> String {
    // Writing a `Value` cannot fail: its keys are strings and its numbers
    // finite.
    serde_json::to_string(value).unwrap_or_default()
}

/// An object as compact JSON.
pub fn object_bytes(object: &serde_json::Map<String, Value>) -> Vec<u8> {
    // As for `text`: writing values cannot fail.
    serde_json::to_vec(object).unwrap_or_default()
}

/// The `f64` that `value` was written as: its shortest decimal text read
/// back, so that 0.7 stays 0.7 and does not become 0.699999988079071.
pub fn f32_as_written(value: f32) -> f64 {
    let shortest = serde_json::to_vec(&value).unwrap_or_default();
    match parse_value(&shortest) {
        Ok(Value::Number(number)) => number.as_f64().unwrap_or(f64::from(value)),
        _ => f64::from(value),
    }
}
