//! Splitting `<think>...</think>` out of content, for servers that run no
//! reasoning parser and leave the tags in the text.
//!
//! Streamed content may cut a tag anywhere (`<thi` + `nk>`), so a tail that
//! could still become a tag is held back until the next piece decides it.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// Which side of the split a piece of text belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Visible answer text.
    Text(String),
    /// Reasoning text from inside the tags.
    Reasoning(String),
}

/// Splitter state between pieces of content.
#[derive(Debug, Default)]
pub struct ThinkSplitter {
    inside: bool,
    held: String,
}

impl ThinkSplitter {
    /// A splitter outside any `<think>` block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `text` would be pushed whole, to the side [`Self::inside`]
    /// says: nothing is held and it holds no `<` that could start a tag.
    pub fn passes_through(&self, text: &str) -> bool {
        self.held.is_empty() && memchr::memchr(b'<', text.as_bytes()).is_none()
    }

    /// Whether the text pushed next is inside a `<think>` block.
    pub fn inside(&self) -> bool {
        self.inside
    }

    /// Split the next piece of content.
    pub fn push(&mut self, text: &str, out: &mut Vec<Piece>) {
        let joined;
        let mut view = if self.held.is_empty() {
            text
        } else {
            joined = std::mem::take(&mut self.held) + text;
            joined.as_str()
        };
        loop {
            let tag = if self.inside { CLOSE } else { OPEN };
            if let Some(index) = view.find(tag) {
                self.emit(&view[..index], out);
                self.inside = !self.inside;
                view = &view[index + tag.len()..];
                continue;
            }
            let keep = partial_tag_suffix(view, tag);
            let (now, later) = view.split_at(view.len() - keep);
            self.emit(now, out);
            self.held.push_str(later);
            break;
        }
    }

    /// The content ended: whatever was held back is plain text (or
    /// reasoning, inside an unclosed block).
    pub fn finish(&mut self, out: &mut Vec<Piece>) {
        let held = std::mem::take(&mut self.held);
        self.emit(&held, out);
    }

    fn emit(&self, text: &str, out: &mut Vec<Piece>) {
        if text.is_empty() {
            return;
        }
        let piece = if self.inside {
            Piece::Reasoning(text.to_owned())
        } else {
            Piece::Text(text.to_owned())
        };
        out.push(piece);
    }
}

/// Split a complete text at once: (text, reasoning).
pub fn split_complete(content: &str) -> (String, String) {
    let mut splitter = ThinkSplitter::new();
    let mut pieces = Vec::new();
    splitter.push(content, &mut pieces);
    splitter.finish(&mut pieces);
    let (mut text, mut reasoning) = (String::new(), String::new());
    for piece in pieces {
        match piece {
            Piece::Text(t) => text.push_str(&t),
            Piece::Reasoning(r) => reasoning.push_str(&r),
        }
    }
    (text, reasoning)
}

/// The length of the longest suffix of `text` that is a proper prefix of `tag`.
fn partial_tag_suffix(text: &str, tag: &str) -> usize {
    (1..tag.len().min(text.len() + 1))
        .rev()
        .find(|len| text.is_char_boundary(text.len() - len) && text.ends_with(&tag[..*len]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(pieces: Vec<Piece>) -> (String, String) {
        let (mut text, mut reasoning) = (String::new(), String::new());
        for piece in pieces {
            match piece {
                Piece::Text(t) => text.push_str(&t),
                Piece::Reasoning(r) => reasoning.push_str(&r),
            }
        }
        (text, reasoning)
    }

    #[test]
    fn splits_whole_content() {
        assert_eq!(
            split_complete("<think>\nweigh it\n</think>\n\nThe answer."),
            ("\n\nThe answer.".into(), "\nweigh it\n".into())
        );
        assert_eq!(
            split_complete("no tags <b>"),
            ("no tags <b>".into(), String::new())
        );
        assert_eq!(
            split_complete("<think>unclosed"),
            (String::new(), "unclosed".into())
        );
    }

    #[test]
    fn tags_split_at_every_point_give_the_same_result() {
        let content = "<think>a\u{e9}b</think>answer <thin and more";
        let expected = split_complete(content);
        assert_eq!(expected.1, "a\u{e9}b");
        assert_eq!(expected.0, "answer <thin and more");
        let boundaries: Vec<usize> = (0..=content.len())
            .filter(|i| content.is_char_boundary(*i))
            .collect();
        for &a in &boundaries {
            for &b in boundaries.iter().filter(|b| **b >= a) {
                let mut splitter = ThinkSplitter::new();
                let mut out = Vec::new();
                for part in [&content[..a], &content[a..b], &content[b..]] {
                    splitter.push(part, &mut out);
                }
                splitter.finish(&mut out);
                assert_eq!(merged(out), expected, "split at {a},{b}");
            }
        }
    }

    #[test]
    fn a_held_partial_tag_is_released_when_it_is_not_a_tag() {
        let mut splitter = ThinkSplitter::new();
        let mut out = Vec::new();
        splitter.push("x <thi", &mut out);
        assert_eq!(out, vec![Piece::Text("x ".into())]);
        splitter.push("ng", &mut out);
        assert_eq!(merged(out).0, "x <thing");
    }
}
