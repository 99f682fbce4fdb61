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
    ObjectScanner::default().scan(text)
}

/// [`object_end`] over a text that grows: each [`ObjectScanner::scan`] reads
/// only what was added since the last, so a text that arrives in many
/// pieces costs its length once, not once per piece.
#[derive(Debug, Default, Clone)]
pub struct ObjectScanner {
    /// The closers expected, innermost last: `]` cannot close a `{`.
    open: Vec<u8>,
    in_string: bool,
    escaped: bool,
    /// Bytes of the text read so far.
    seen: usize,
    /// The text does not start an object, or closes a bracket it never opened.
    failed: bool,
}

impl ObjectScanner {
    /// Reads `text` (the text so far: what an earlier call saw, and more)
    /// from where the last call stopped; the object's end once it closes.
    pub fn scan(&mut self, text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        while !self.failed && self.seen < bytes.len() {
            let byte = bytes[self.seen];
            self.seen += 1;
            if self.in_string {
                match byte {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' if self.open.is_empty() => {}
                b'{' => self.open.push(b'}'),
                _ if self.open.is_empty() => self.failed = true,
                b'[' => self.open.push(b']'),
                b'"' => self.in_string = true,
                b'}' | b']' => {
                    if self.open.pop() != Some(byte) {
                        self.failed = true;
                    } else if self.open.is_empty() {
                        // Done: the scanner reads no further.
                        self.failed = true;
                        return Some(self.seen);
                    }
                }
                _ => {}
            }
        }
        None
    }
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
    fn scanning_a_growing_text_finds_what_one_scan_finds() {
        for text in [
            r#"  {"a": {"b": [1, "}"]}, "c": "\"}"} tail"#,
            r#"{"a": "}"#,
            r#"x {}"#,
            r#"{"a": 1]]"#,
        ] {
            let whole = object_end(text);
            for cut in 0..=text.len() {
                let mut scanner = ObjectScanner::default();
                let first = scanner.scan(&text[..cut]);
                let found = first.or_else(|| scanner.scan(text));
                assert_eq!(found, whole, "{text:?} cut at {cut}");
            }
        }
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
