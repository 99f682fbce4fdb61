//! Text from a server inside a message: quoted or escaped so that it can
//! be neither mistaken for the message around it nor act on a terminal
//! (hosts may write the plugin's messages and warnings out as they are).
//! Written out rather than `{:?}`, for the reason `http_error` gives:
//! `str`'s `Debug` brings Unicode tables into the component.

/// `text` in double quotes, with quotes, backslashes and control
/// characters escaped as Rust writes them.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    push_escaped(&mut out, text, true);
    out.push('"');
    out
}

/// `text` with its control characters (and backslashes) escaped as Rust
/// writes them: for ids and names shown between backticks.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text, false);
    out
}

/// One character as [`escaped`] writes it.
pub fn escaped_char(c: char) -> String {
    escaped(c.encode_utf8(&mut [0; 4]))
}

/// At most `max_chars` characters of `text`, with `...` after a cut: for a
/// value repeated in a message, which a server may have made any length.
pub fn truncated(text: &str, max_chars: usize) -> String {
    let mut cut: String = text.chars().take(max_chars).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

fn push_escaped(out: &mut String, text: &str, in_quotes: bool) {
    for c in text.chars() {
        match c {
            '"' if in_quotes => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_would_blur_the_message() {
        assert_eq!(quoted("plain \u{e9}"), "\"plain \u{e9}\"");
        assert_eq!(
            quoted("say \"hi\"\\\n\r\t\u{7}"),
            r#""say \"hi\"\\\n\r\t\u{7}""#
        );
        assert_eq!(escaped("m\u{1b}[31m \"x\""), "m\\u{1b}[31m \"x\"");
        assert_eq!(escaped_char('\u{7}'), "\\u{7}");
        assert_eq!(truncated("abcdef", 3), "abc...");
        assert_eq!(truncated("abc", 3), "abc");
    }
}
