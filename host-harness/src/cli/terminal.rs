//! Text a server or a plugin controls, made safe for a terminal.
//!
//! Model ids, names, error messages, doctor details and a model's own output
//! all come from the other side of the wire. A control character in them
//! (`ESC[2J`, `ESC]0;title BEL`, a carriage return, a newline inside an id)
//! would clear the screen, retitle the window, overwrite what was printed or
//! add a row to a table, so each is shown as an escape (`\u{1b}`) instead.
//! `--json` output needs none of this: JSON escapes them itself.

use std::borrow::Cow;

/// `text` as one line: every control character escaped, line breaks and
/// tabs included (for ids, table cells, error messages, doctor details).
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// `text` as lines: control characters escaped except the newline and the
/// tab, which only lay text out (for a model's reply, command output).
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !keep(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                other => out.extend(other.escape_unicode()),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_moves_the_cursor_or_changes_the_terminal() {
        assert_eq!(line("m\u{1b}[31mRED"), "m\\u{1b}[31mRED");
        assert_eq!(line("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(
            line("t\u{1b}]0;x\u{7}\u{9b}\u{7f}"),
            "t\\u{1b}]0;x\\u{7}\\u{9b}\\u{7f}"
        );
        assert_eq!(
            text("two\nlines\tand \u{1b}[2J\r"),
            "two\nlines\tand \\u{1b}[2J\\r"
        );
        assert!(matches!(line("Qwen/Qwen3-0.6B é"), Cow::Borrowed(_)));
    }
}
