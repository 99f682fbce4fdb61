//! The reader against serde_json, on generated text: the same values from
//! the same text, and an error (never a panic) wherever serde_json has one.
//!
//! The generators are shared with the tests of the struct readers (chunks,
//! completions), which compare them with serde's derived code the same way.
//! Two differences are known and not generated: serde's derived structs
//! also read a JSON list as a struct (field by field, in order), and
//! serde_json's byte reader lets invalid UTF-8 through inside skipped
//! strings; the reader refuses both.

use super::*;
use proptest::prelude::*;
use serde::de::IgnoredAny;

/// JSON as generated: text that may or may not be valid, written piece by
/// piece so that keys can repeat and strings can carry any escape.
#[derive(Debug, Clone)]
pub(crate) enum Json {
    /// Literal text: `null`, `true`, a number, or something invalid.
    Raw(String),
    /// A string, as the text between (and with) its quotes.
    Str(String),
    List(Vec<Json>),
    /// Members, keys as string literals (quotes included).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The text, with `space` between tokens.
    pub(crate) fn render(&self, space: &str) -> String {
        let mut out = String::new();
        self.write(&mut out, space);
        out
    }

    fn write(&self, out: &mut String, space: &str) {
        match self {
            Json::Raw(text) | Json::Str(text) => out.push_str(text),
            Json::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space);
                    item.write(out, space);
                }
                out.push_str(space);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space);
                    out.push_str(key);
                    out.push_str(space);
                    out.push(':');
                    out.push_str(space);
                    value.write(out, space);
                }
                out.push_str(space);
                out.push('}');
            }
        }
    }
}

/// One character of a string literal: as itself or escaped in any of the
/// ways JSON allows, now and then in a way it does not.
fn string_char() -> impl Strategy<Value = String> {
    let plain = prop_oneof![
        4 => "[a-zA-Z0-9 <>/:_.-]",
        1 => "[\u{e9}\u{4e2d}\u{1f600}\u{7f}]",
    ];
    prop_oneof![
        40 => plain,
        10 => prop::sample::select(vec![
            "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
        ])
        .prop_map(str::to_owned),
        10 => any::<u16>()
            .prop_filter("not a surrogate", |c| !(0xD800..=0xDFFF).contains(c))
            .prop_map(|c| format!("\\u{c:04x}")),
        5 => (0xD800u16..0xDC00, 0xDC00u16..0xE000)
            .prop_map(|(high, low)| format!("\\u{high:04X}\\u{low:04x}")),
        // Invalid: a lone surrogate, a bad escape, a raw control character.
        1 => prop::sample::select(vec!["\\ud800", "\\udc00x", "\\ud800\\u0041", "\\x", "\\u12g4", "\u{1}", "\n"])
            .prop_map(str::to_owned),
    ]
}

/// A string literal, quotes included.
pub(crate) fn string_literal() -> impl Strategy<Value = String> {
    prop::collection::vec(string_char(), 0..12).prop_map(|chars| format!("\"{}\"", chars.concat()))
}

/// A string literal that is valid JSON.
fn valid_string_literal() -> impl Strategy<Value = String> {
    string_literal().prop_filter("valid", |s| serde_json::from_str::<String>(s).is_ok())
}

/// A number as text: integers of every size, fractions, exponents, and
/// now and then one that is not a number.
pub(crate) fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "-?(0|[1-9][0-9]{0,3})",
        2 => "-?[1-9][0-9]{15,24}",
        3 => "-?(0|[1-9][0-9]{0,5})\\.[0-9]{1,19}",
        2 => "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,4})?[eE][+-]?[0-9]{1,3}",
        1 => "-?[1-9][0-9]{0,2}[eE]-?[0-9]{10,11}",
        1 => prop::sample::select(vec!["-0", "01", "1.", "-", ".5", "1e", "1e+", "+1", "0x10", "1.5.5"])
            .prop_map(str::to_owned),
    ]
}

/// A value that is not a list or an object.
pub(crate) fn scalar() -> impl Strategy<Value = Json> {
    prop_oneof![
        2 => prop::sample::select(vec!["null", "true", "false"]).prop_map(|s| Json::Raw(s.into())),
        3 => number().prop_map(Json::Raw),
        3 => string_literal().prop_map(Json::Str),
        1 => prop::sample::select(vec!["nul", "tru", "NaN", "-Infinity", "x"]).prop_map(|s| Json::Raw(s.into())),
    ]
}

/// Valid JSON, nested a few levels.
pub(crate) fn valid_json() -> impl Strategy<Value = Json> {
    let scalar = prop_oneof![
        prop::sample::select(vec![
            "null",
            "true",
            "false",
            "0",
            "-12",
            "3.5e-3",
            "123456789012"
        ])
        .prop_map(|s| Json::Raw(s.into())),
        valid_string_literal().prop_map(Json::Str),
    ];
    scalar.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::List),
            prop::collection::vec((valid_string_literal(), inner), 0..4).prop_map(Json::Object),
        ]
    })
}

/// Any JSON, nested a few levels, keys repeating now and then.
pub(crate) fn any_json() -> impl Strategy<Value = Json> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::List),
            prop::collection::vec((key(&["a", "b", "model"]), inner), 0..6).prop_map(Json::Object),
        ]
    })
}

/// A key literal: one of `names` mostly (so that they repeat), written
/// plainly or with an escape, or another key.
pub(crate) fn key(names: &[&'static str]) -> impl Strategy<Value = String> + use<> {
    let names = names.to_vec();
    let name = prop::sample::select(names);
    prop_oneof![
        6 => name.clone().prop_map(|n| format!("\"{n}\"")),
        1 => name.prop_map(|n| {
            // The first letter as a \u escape: the same key to a reader.
            let mut chars = n.chars();
            let first = chars.next().map_or(0, u32::from);
            format!("\"\\u{first:04x}{}\"", chars.as_str())
        }),
        2 => string_literal(),
    ]
}

/// Whitespace between tokens: none (as servers write it) or some.
pub(crate) fn space() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", " ", "\n\t", " \r\n "])
}

/// `text` broken the way a bad network or server breaks it.
pub(crate) fn mutated(text: &str, at: usize, how: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = at % (bytes.len() + 1);
    match how % 4 {
        0 => bytes.truncate(at),
        1 if at < bytes.len() => {
            bytes.remove(at);
        }
        _ => {
            const INSERTS: &[u8] = b"{}[],:\"\\0-e.n ";
            let insert = INSERTS[usize::from(how) % INSERTS.len()];
            bytes.insert(at, insert);
        }
    }
    // A cut inside a multi-byte character is not text at all: not a case
    // for a reader of text.
    String::from_utf8_lossy(&bytes).into_owned()
}

fn same_value(text: &str) -> Result<(), TestCaseError> {
    super::mirror::agree(text, value(text), serde_json::from_str::<Value>(text))?;
    let skipped = is_valid(text);
    let ignored = serde_json::from_str::<IgnoredAny>(text).is_ok();
    prop_assert_eq!(skipped, ignored, "skipping {:?}", text);
    Ok(())
}

super::mirror::agrees_with_serde! {
    cases: 3_000,
    json: any_json(),
    same: same_value,
    read: values_are_read_as_serde_json_reads_them,
    refused: broken_text_is_refused_as_serde_json_refuses_it,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn numbers_are_read_to_the_same_bits(number in number()) {
        same_value(&number)?;
        same_value(&format!("[{number}]"))?;
    }
}

#[test]
fn nesting_is_limited_as_in_serde_json_but_not_when_skipped() {
    for depth in [1, 126, 127, 128, 129, 1000] {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(
            value(&text).is_ok(),
            serde_json::from_str::<Value>(&text).is_ok(),
            "depth {depth}"
        );
        assert!(is_valid(&text), "depth {depth}");
    }
    // Skipping takes no stack: a nesting far deeper than any stack allows.
    let deep = format!("{}1{}", "[{\"a\":".repeat(200_000), "}]".repeat(200_000));
    assert!(is_valid(&deep));
    assert!(value(&deep).is_err());
}

#[test]
fn errors_say_where() {
    let error = value("{\"a\": [1, 2,]}").expect_err("trailing comma");
    assert_eq!(
        error.to_string(),
        "expected value in `a[2]` at line 1 column 13"
    );
    let error = value("{\n  \"a\": tru\n}").expect_err("bad literal");
    assert!(error.to_string().contains("line 2"), "{error}");
    let error = utf8(b"{\"a\": \"\xff\"}").expect_err("not UTF-8");
    assert!(error.to_string().contains("UTF-8"), "{error}");
}

#[test]
fn strings_are_borrowed_unless_escaped() {
    let text = r#"["plain", "esc\naped"]"#;
    let mut reader = Reader::new(text);
    let mut strings = Vec::new();
    reader
        .array("a list", &mut |reader| {
            strings.push(reader.string()?);
            Ok(())
        })
        .expect("a list of strings");
    assert!(matches!(strings[0], std::borrow::Cow::Borrowed("plain")));
    assert!(matches!(&strings[1], std::borrow::Cow::Owned(s) if s == "esc\naped"));
}

#[test]
fn f32_values_are_sent_as_written() {
    assert_eq!(f32_as_written(0.7), 0.7);
    assert_eq!(f32_as_written(1.0), 1.0);
    assert_eq!(f32_as_written(0.1), 0.1);
    assert_eq!(f32_as_written(1e-7), 1e-7);
}
