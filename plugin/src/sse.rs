//! An incremental Server-Sent Events decoder.
//!
//! Bytes arrive in whatever pieces the network makes: an event, a line, a
//! `\r\n` pair or a multi-byte character may be split anywhere. Lines are only
//! decoded once whole, so none of that matters to the caller.

use crate::wit::ProviderError;

/// The longest line accepted, so that a server cannot grow our memory
/// without bound by never sending a newline.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// The event's `data` (several `data:` lines joined with `\n`).
    Data(String),
    /// The `data: [DONE]` sentinel that ends an OpenAI-style stream.
    Done,
}

/// Decoder state between calls.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    /// How far `buf` has been searched for a line end without finding one.
    scanned: usize,
    data: String,
    has_data: bool,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next bytes; every event they complete is pushed to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseItem>) -> Result<(), ProviderError> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            let from = start.max(self.scanned);
            let Some(offset) = self.buf[from..]
                .iter()
                .position(|b| *b == b'\n' || *b == b'\r')
            else {
                self.scanned = self.buf.len();
                break;
            };
            let end = from + offset;
            let terminator = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    // A lone `\r` at the end may be the first half of `\r\n`.
                    None => {
                        self.scanned = end;
                        break;
                    }
                }
            } else {
                1
            };
            let line = std::str::from_utf8(&self.buf[start..end]).map_err(|_| {
                ProviderError::InvalidResponse(
                    "the stream carried bytes that are not UTF-8 text".into(),
                )
            })?;
            Self::line(&mut self.data, &mut self.has_data, line, out);
            start = end + terminator;
            self.scanned = start;
        }
        if start > 0 {
            self.buf.drain(..start);
            self.scanned -= start;
        }
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(ProviderError::InvalidResponse(format!(
                "a stream line is longer than {MAX_LINE_BYTES} bytes (the limit)"
            )));
        }
        Ok(())
    }

    /// The stream ended: a last line without its newline, and a last event
    /// without its blank line, still count.
    pub fn finish(&mut self, out: &mut Vec<SseItem>) -> Result<(), ProviderError> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let text = std::str::from_utf8(&rest).map_err(|_| {
                ProviderError::InvalidResponse(
                    "the stream ended inside a character that is not UTF-8 text".into(),
                )
            })?;
            let text = text.strip_suffix('\r').unwrap_or(text);
            Self::line(&mut self.data, &mut self.has_data, text, out);
        }
        self.scanned = 0;
        Self::line(&mut self.data, &mut self.has_data, "", out);
        Ok(())
    }

    fn line(data: &mut String, has_data: &mut bool, line: &str, out: &mut Vec<SseItem>) {
        if line.is_empty() {
            if *has_data {
                if data == "[DONE]" {
                    out.push(SseItem::Done);
                    data.clear();
                } else {
                    out.push(SseItem::Data(std::mem::take(data)));
                }
                *has_data = false;
            }
            return;
        }
        if line.starts_with(':') {
            return; // a comment, e.g. a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            if *has_data {
                data.push('\n');
            }
            data.push_str(value);
            *has_data = true;
        }
        // `event`, `id` and `retry` carry nothing an OpenAI-style stream uses.
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
