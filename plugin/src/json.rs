//! The serde_json entry points the plugin uses, so that each generic one is
//! compiled into the component once: every parse goes through the byte-slice
//! reader (`from_str` would compile the whole parser a second time for the
//! `&str` reader) and every value is written by the one `Vec<u8>` writer
//! (`Display` would add a formatter-backed one, compact and pretty).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parse `bytes` as JSON into `T`; the same result and error as
/// `serde_json::from_slice` (and `from_str` on text).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    serde_json::from_slice(bytes)
}

/// Parse JSON text into a value; the same as `serde_json::from_str`.
pub fn value(text: &str) -> serde_json::Result<Value> {
    parse(text.as_bytes())
}

/// A value as compact JSON text: what its `Display` writes.
pub fn text(value: &Value) -> String {
    // Writing a `Value` into a `Vec` cannot fail: its keys are strings and
    // its numbers finite.
    serde_json::to_string(value).unwrap_or_default()
}
