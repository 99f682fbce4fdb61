//! JSON5 read into `serde_json::Value`, refusing what JSON cannot hold.
//!
//! JSON5 allows `NaN`, `Infinity` and `-Infinity`; `serde_json::Value` has
//! no such numbers and would turn them into `null`, so `timeoutSeconds: NaN`
//! would silently become the default. The text is first read into a tree
//! that keeps every number as written, then converted, and a non-finite
//! number is an error naming its path (`models.providers.vllm.timeoutSeconds`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON5 value with its numbers as parsed.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Text(String),
    List(Vec<Node>),
    Object(BTreeMap<String, Node>),
}

/// Why a config text could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Not JSON5.
    Syntax(json5::Error),
    /// A number JSON cannot hold, at this path.
    NonFinite {
        /// Where: `models.providers.vllm.timeoutSeconds`, `a.b[2]`.
        path: String,
        /// As JSON5 writes it: `NaN`, `Infinity`, `-Infinity`.
        written: &'static str,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(e) => write!(f, "{e}"),
            Self::NonFinite { path, written } => write!(
                f,
                "{path} is {written}, which is not a number a setting can have: write a finite \
                 number, or remove it for the default"
            ),
        }
    }
}

/// Parses JSON5 text into a `serde_json::Value`.
pub fn parse(text: &str) -> Result<Value, ReadError> {
    let node: Node = json5::from_str(text).map_err(ReadError::Syntax)?;
    let mut path = String::new();
    convert(node, &mut path)
}

fn convert(node: Node, path: &mut String) -> Result<Value, ReadError> {
    Ok(match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Signed(n) => Value::from(n),
        Node::Unsigned(n) => Value::from(n),
        Node::Float(x) => match Number::from_f64(x) {
            Some(n) => Value::Number(n),
            None => {
                let written = if x.is_nan() {
                    "NaN"
                } else if x > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                return Err(ReadError::NonFinite {
                    path: if path.is_empty() {
                        "the top level".to_owned()
                    } else {
                        path.clone()
                    },
                    written,
                });
            }
        },
        Node::Text(s) => Value::String(s),
        Node::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                out.push(convert(item, path)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        Node::Object(members) => {
            let mut out = Map::new();
            for (key, item) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key);
                let value = convert(item, path)?;
                path.truncate(len);
                out.insert(key, value);
            }
            Value::Object(out)
        }
    })
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON5 value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Signed(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Unsigned(n))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Node, E> {
        Ok(Node::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::Text(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::Text(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            // A repeated key: the last one wins, as JSON.parse has it.
            members.insert(key, value);
        }
        Ok(Node::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn non_finite(text: &str) -> (String, &'static str) {
        match parse(text) {
            Err(ReadError::NonFinite { path, written }) => (path, written),
            other => panic!("expected a non-finite error for {text}, got {other:?}"),
        }
    }

    #[test]
    fn non_finite_numbers_are_errors_with_their_path() {
        assert_eq!(
            non_finite("{models: {providers: {vllm: {timeoutSeconds: NaN}}}}"),
            ("models.providers.vllm.timeoutSeconds".to_owned(), "NaN")
        );
        assert_eq!(
            non_finite("{a: {models: [{id: 'x'}, {contextWindow: Infinity}]}}"),
            ("a.models[1].contextWindow".to_owned(), "Infinity")
        );
        assert_eq!(non_finite("{t: -Infinity}"), ("t".to_owned(), "-Infinity"));
    }

    #[test]
    fn ordinary_json5_reads_as_json() {
        let value = parse("{a: 1, b: -2, c: 0.5, d: [true, null, 'x'], e: 0x10, a: 3,}")
            .expect("valid JSON5");
        assert_eq!(
            value,
            serde_json::json!({"a": 3, "b": -2, "c": 0.5, "d": [true, null, "x"], "e": 16})
        );
    }
}
