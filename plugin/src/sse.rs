//! An incremental Server-Sent Events decoder.
//!
//! Bytes arrive in whatever pieces the network makes: an event, a line, a
//! `\r\n` pair or a multi-byte character may be split anywhere. Lines are only
//! decoded once whole, so none of that matters to the caller.
//!
//! The complete lines of each piece are decoded where they lie: only the
//! unfinished line at its end is copied (and kept for the next piece), and
//! an event of one `data:` line is handed on as a slice of the piece.

use crate::wit::ProviderError;
use memchr::{memchr2, memrchr2};

/// The longest line accepted, so that a server cannot grow our memory
/// without bound by never sending a newline.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// The most data one event may gather from its `data:` lines, so that a
/// server cannot grow our memory without bound by never ending an event.
pub const MAX_EVENT_BYTES: usize = MAX_LINE_BYTES;

/// One dispatched event, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// The event's `data` (several `data:` lines joined with `\n`).
    Data(String),
    /// The `data: [DONE]` sentinel that ends an OpenAI-style stream.
    Done,
}

/// One dispatched event, borrowed from the decoder or the bytes fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseEvent<'a> {
    /// The event's `data` (several `data:` lines joined with `\n`).
    Data(&'a str),
    /// The `data: [DONE]` sentinel that ends an OpenAI-style stream.
    Done,
}

impl From<SseEvent<'_>> for SseItem {
    fn from(event: SseEvent<'_>) -> Self {
        match event {
            SseEvent::Data(data) => SseItem::Data(data.to_owned()),
            SseEvent::Done => SseItem::Done,
        }
    }
}

/// Decoder state between calls.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    /// The bytes fed last ended with `\r`: a `\n` first in the next ones
    /// completes that line end and starts no line of its own.
    after_cr: bool,
    event: EventData,
}

/// The event being read.
#[derive(Debug, Default)]
struct EventData {
    /// Its data lines so far, joined; stale while the one line is borrowed.
    data: String,
    has_data: bool,
}

const NOT_UTF8: &str = "the stream carried bytes that are not UTF-8 text";

fn not_utf8(message: &str) -> ProviderError {
    ProviderError::InvalidResponse(message.to_owned())
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next bytes; every event they complete is pushed to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseItem>) -> Result<(), ProviderError> {
        self.feed_with(bytes, &mut |event| {
            out.push(event.into());
            Ok(())
        })
    }

    /// The stream ended: a last line without its newline, and a last event
    /// without its blank line, still count.
    pub fn finish(&mut self, out: &mut Vec<SseItem>) -> Result<(), ProviderError> {
        self.finish_with(&mut |event| {
            out.push(event.into());
            Ok(())
        })
    }

    /// Feed the next bytes; `on_event` gets every event they complete, in
    /// order. Its first error stops the decoding and is returned; so is
    /// the first line that is not UTF-8 text, after the events before it.
    pub fn feed_with<F>(&mut self, bytes: &[u8], on_event: &mut F) -> Result<(), ProviderError>
    where
        F: FnMut(SseEvent<'_>) -> Result<(), ProviderError>,
    {
        let mut rest = bytes;
        if std::mem::take(&mut self.after_cr) && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        if !self.partial.is_empty() {
            let Some(end) = memchr2(b'\n', b'\r', rest) else {
                return self.hold(rest);
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..end]);
            rest = self.after_line_end(rest, end);
            let text = std::str::from_utf8(&line).map_err(|_| not_utf8(NOT_UTF8))?;
            let mut borrowed = None;
            self.event.line(text, &mut borrowed, on_event)?;
            self.event.keep(borrowed);
            line.clear();
            self.partial = line;
        }
        // Whole lines up to the last line end; the rest waits for its end.
        let complete = match memrchr2(b'\n', b'\r', rest) {
            Some(last) => last + 1,
            None => 0,
        };
        let (lines, tail) = rest.split_at(complete);
        if tail.is_empty() && lines.last() == Some(&b'\r') {
            self.after_cr = true;
        }
        let (text, bad) = match std::str::from_utf8(lines) {
            Ok(text) => (text, false),
            Err(e) => {
                // The lines before the one that is not UTF-8 still count.
                let good = memrchr2(b'\n', b'\r', &lines[..e.valid_up_to()]).map_or(0, |i| i + 1);
                let text = std::str::from_utf8(&lines[..good]).map_err(|_| not_utf8(NOT_UTF8))?;
                (text, true)
            }
        };
        self.lines(text, on_event)?;
        if bad {
            return Err(not_utf8(NOT_UTF8));
        }
        self.hold(tail)
    }

    /// The stream ended: a last line without its newline, and a last event
    /// without its blank line, still count.
    pub fn finish_with<F>(&mut self, on_event: &mut F) -> Result<(), ProviderError>
    where
        F: FnMut(SseEvent<'_>) -> Result<(), ProviderError>,
    {
        self.after_cr = false;
        let line = std::mem::take(&mut self.partial);
        let text = std::str::from_utf8(&line)
            .map_err(|_| not_utf8("the stream ended inside a character that is not UTF-8 text"))?;
        if !text.is_empty() {
            let mut borrowed = None;
            self.event.line(text, &mut borrowed, on_event)?;
            self.event.keep(borrowed);
        }
        self.event.line("", &mut None, on_event)
    }

    /// Where the bytes after the line end at `end` of `rest` start.
    fn after_line_end<'r>(&mut self, rest: &'r [u8], end: usize) -> &'r [u8] {
        match (rest[end], rest.get(end + 1)) {
            (b'\r', Some(b'\n')) => &rest[end + 2..],
            (b'\r', None) => {
                self.after_cr = true;
                &rest[end + 1..]
            }
            _ => &rest[end + 1..],
        }
    }

    /// Whole lines, each with its end.
    fn lines<F>(&mut self, text: &str, on_event: &mut F) -> Result<(), ProviderError>
    where
        F: FnMut(SseEvent<'_>) -> Result<(), ProviderError>,
    {
        let bytes = text.as_bytes();
        let mut start = 0;
        // One data line of the event being read, still in `text`.
        let mut borrowed = None;
        while let Some(&first) = bytes.get(start) {
            // The blank line that ends each event needs no search.
            let end = if first == b'\n' || first == b'\r' {
                start
            } else {
                match memchr2(b'\n', b'\r', &bytes[start..]) {
                    Some(offset) => start + offset,
                    None => break,
                }
            };
            let line = &text[start..end];
            start = end + 1;
            if bytes[end] == b'\r' && bytes.get(start) == Some(&b'\n') {
                start += 1;
            }
            self.event.line(line, &mut borrowed, on_event)?;
        }
        self.event.keep(borrowed);
        Ok(())
    }

    /// Keeps the start of a line until its end arrives.
    fn hold(&mut self, bytes: &[u8]) -> Result<(), ProviderError> {
        self.partial.extend_from_slice(bytes);
        if self.partial.len() > MAX_LINE_BYTES {
            return Err(ProviderError::InvalidResponse(format!(
                "a stream line is longer than {MAX_LINE_BYTES} bytes (the limit)"
            )));
        }
        Ok(())
    }
}

impl EventData {
    /// One line, without its end. `borrowed` is the event's one data line
    /// so far when it lies in the same text as `line`.
    fn line<'t, F>(
        &mut self,
        line: &'t str,
        borrowed: &mut Option<&'t str>,
        on_event: &mut F,
    ) -> Result<(), ProviderError>
    where
        F: FnMut(SseEvent<'_>) -> Result<(), ProviderError>,
    {
        if line.is_empty() {
            if !self.has_data {
                return Ok(());
            }
            self.has_data = false;
            let data = borrowed.take().unwrap_or(self.data.as_str());
            let result = on_event(if data == "[DONE]" {
                SseEvent::Done
            } else {
                SseEvent::Data(data)
            });
            self.data.clear();
            return result;
        }
        let value = if line.as_bytes().first_chunk() == Some(b"data:") {
            // Nearly every line: no need to look for the colon.
            let value = &line[5..];
            value.strip_prefix(' ').unwrap_or(value)
        } else {
            if line.starts_with(':') {
                return Ok(()); // a comment, e.g. a keep-alive
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            // `event`, `id` and `retry` carry nothing an OpenAI-style stream
            // uses.
            if field != "data" {
                return Ok(());
            }
            value
        };
        if !self.has_data {
            self.has_data = true;
            *borrowed = Some(value);
            return Ok(());
        }
        if let Some(first) = borrowed.take() {
            self.data.push_str(first);
        }
        if self.data.len() + 1 + value.len() > MAX_EVENT_BYTES {
            return Err(ProviderError::InvalidResponse(format!(
                "a stream event is longer than {MAX_EVENT_BYTES} bytes (the limit)"
            )));
        }
        self.data.push('\n');
        self.data.push_str(value);
        Ok(())
    }

    /// The text a borrowed data line lies in is going away: copy it.
    fn keep(&mut self, borrowed: Option<&str>) {
        if let Some(data) = borrowed {
            self.data.push_str(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(bytes: &[u8], sizes: &[usize]) -> Vec<SseItem> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let mut rest = bytes;
        let mut turn = 0;
        while !rest.is_empty() {
            let size = sizes[turn % sizes.len()].clamp(1, rest.len());
            decoder.feed(&rest[..size], &mut out).expect("valid");
            rest = &rest[size..];
            turn += 1;
        }
        decoder.finish(&mut out).expect("valid");
        out
    }

    const STREAM: &str = "data: {\"a\":\"h\u{e9}llo \u{1f600}\"}\n\n: keep-alive\n\nevent: x\ndata: {\"b\":1}\r\n\r\ndata: line1\ndata:line2\n\rdata: [DONE]\n\n";

    fn expected() -> Vec<SseItem> {
        vec![
            SseItem::Data("{\"a\":\"h\u{e9}llo \u{1f600}\"}".into()),
            SseItem::Data("{\"b\":1}".into()),
            SseItem::Data("line1\nline2".into()),
            SseItem::Done,
        ]
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        assert_eq!(decode_in_pieces(bytes, &[bytes.len()]), expected());
        for first in 1..bytes.len() {
            assert_eq!(
                decode_in_pieces(bytes, &[first, bytes.len()]),
                expected(),
                "split at {first}"
            );
        }
        for sizes in [&[1][..], &[2], &[3, 1, 7], &[5, 13]] {
            assert_eq!(decode_in_pieces(bytes, sizes), expected(), "{sizes:?}");
        }
    }

    #[test]
    fn last_event_without_blank_line_still_counts() {
        assert_eq!(
            decode_in_pieces(b"data: {\"x\":1}", &[4]),
            vec![SseItem::Data("{\"x\":1}".into())]
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let error = decoder
            .feed(b"data: \xff\xfe\n\n", &mut out)
            .expect_err("invalid");
        assert!(matches!(error, ProviderError::InvalidResponse(m) if m.contains("UTF-8")));
    }

    #[test]
    fn events_before_a_bad_line_are_handed_on_first() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let error = decoder
            .feed(b"data: a\n\ndata: \xff\n\ndata: b\n\n", &mut out)
            .expect_err("invalid");
        assert_eq!(out, vec![SseItem::Data("a".into())]);
        assert!(matches!(error, ProviderError::InvalidResponse(m) if m.contains("UTF-8")));
    }

    #[test]
    fn the_first_error_of_the_receiver_stops_the_decoding() {
        let mut decoder = SseDecoder::new();
        let mut seen = Vec::new();
        let result = decoder.feed_with(b"data: a\n\ndata: b\n\n", &mut |event| {
            seen.push(SseItem::from(event));
            Err(ProviderError::InvalidResponse("no".into()))
        });
        assert_eq!(result, Err(ProviderError::InvalidResponse("no".into())));
        assert_eq!(seen, vec![SseItem::Data("a".into())]);
    }

    #[test]
    fn a_one_line_event_in_one_piece_is_lent_not_copied() {
        let bytes = b"data: {\"a\":1}\n\n";
        let mut decoder = SseDecoder::new();
        let mut lent = false;
        decoder
            .feed_with(bytes, &mut |event| {
                if let SseEvent::Data(data) = event {
                    lent = bytes.as_ptr_range().contains(&data.as_ptr());
                }
                Ok(())
            })
            .expect("valid");
        assert!(lent, "the event's data is a slice of the bytes fed");
    }

    #[test]
    fn an_endless_event_hits_the_limit() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let piece = format!("data: {}\n", "a".repeat(1024)).repeat(64);
        let mut result = Ok(());
        for _ in 0..(MAX_EVENT_BYTES / piece.len() + 2) {
            result = decoder.feed(piece.as_bytes(), &mut out);
            if result.is_err() {
                break;
            }
        }
        assert!(out.is_empty());
        assert!(
            matches!(result, Err(ProviderError::InvalidResponse(m)) if m.contains("stream event") && m.contains("limit"))
        );
    }

    #[test]
    fn an_endless_line_hits_the_limit() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let chunk = vec![b'a'; 1024 * 1024];
        let mut result = Ok(());
        for _ in 0..5 {
            result = decoder.feed(&chunk, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(ProviderError::InvalidResponse(m)) if m.contains("limit")));
    }
}
