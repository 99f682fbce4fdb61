//! Where the first JSON object in a text ends, by brackets and strings alone.
//!
//! Small models often keep writing after a call's object closes: vLLM's
//! tool parsers then pass that tail on inside the arguments, and a call
//! written as text runs on into more text. Cutting at the object's end
//! (and then reading that part as JSON) keeps what the model meant.

/// The end (exclusive, a byte offset into `text`) of the object that starts
/// at `text`'s first non-blank character, or `None` when that is not `{` or
/// the object does not close within `text`.
pub fn object_end(text: &str) -> Option<usize> {
    let start = text.find(|c: char| !c.is_ascii_whitespace())?;
    let bytes = text.as_bytes();
    if bytes[start] != b'{' {
        return None;
    }
    // The closers expected, innermost last: `]` cannot close a `{`.
    let mut open: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes[start..].iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' => open.push(b'}'),
            b'[' => open.push(b']'),
            b'}' | b']' => {
                if open.pop() != Some(byte) {
                    return None;
                }
                if open.is_empty() {
                    return Some(start + offset + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `arguments` as the server sent them when they are JSON, else their first
/// complete object when that is JSON (the tail after it dropped), else as
/// sent: the host sees what the model meant, or exactly what came.
pub fn repaired_arguments(arguments: String) -> String {
    if arguments.trim().is_empty() || super::is_valid(&arguments) {
        return arguments;
    }
    match object_end(&arguments) {
        Some(end) if super::is_valid(&arguments[..end]) => {
            let mut arguments = arguments;
            arguments.truncate(end);
            arguments.drain(..arguments.len() - arguments.trim_start().len());
            arguments
        }
        _ => arguments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_where_the_object_closes() {
        let text = r#"  {"a": {"b": [1, "}"]}, "c": "\"}"} tail {"#;
        let end = object_end(text).expect("the object closes");
        assert_eq!(&text[..end], r#"  {"a": {"b": [1, "}"]}, "c": "\"}"}"#);
    }

    #[test]
    fn none_when_not_an_object_or_not_closed() {
        assert_eq!(object_end(""), None);
        assert_eq!(object_end("  [1]"), None);
        assert_eq!(object_end("text {}"), None);
        assert_eq!(object_end(r#"{"a": "}"#), None);
        assert_eq!(object_end(r#"{"a": 1]]"#), None);
    }

    #[test]
    fn repairs_only_what_is_not_json() {
        assert_eq!(
            repaired_arguments(r#"{"city": "Paris"}"#.into()),
            r#"{"city": "Paris"}"#
        );
        assert_eq!(
            repaired_arguments(" {\"city\": \"Paris\"}\n{\"name\": \"get_time\", \"argu".into()),
            r#"{"city": "Paris"}"#
        );
        assert_eq!(repaired_arguments(String::new()), "");
        // Nothing to cut at: left as sent, for the host to judge.
        assert_eq!(
            repaired_arguments(r#"{"city": "Par"#.into()),
            r#"{"city": "Par"#
        );
        assert_eq!(repaired_arguments("not json".into()), "not json");
    }
}
