//! An incremental decoder of `Transfer-Encoding: chunked` (RFC 9112 §7.1).
//!
//! It is fed the bytes of the connection as they arrive, split anywhere (in
//! a chunk-size line, between CR and LF, inside the data), and appends the
//! payload to the caller's buffer. Every piece of framing it buffers is
//! bounded, so a hostile server cannot make it grow.

/// The longest chunk-size line, extensions included.
pub const MAX_SIZE_LINE: usize = 4096;
/// The most trailer bytes after the last chunk.
pub const MAX_TRAILER_BYTES: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a chunk-size line: the size so far, whether a digit was seen,
    /// whether the extensions (after `;` or whitespace) have begun.
    Size { value: u64, digit: bool, ext: bool },
    /// After the CR of a chunk-size line.
    SizeLf { value: u64, digit: bool },
    /// Inside a chunk's data.
    Data { left: u64 },
    /// After a chunk's data: its CRLF.
    DataCr,
    /// After the CR that ends a chunk's data.
    DataLf,
    /// After the last (zero-size) chunk: trailer lines up to an empty one.
    Trailer,
    /// The body is complete; anything after it is ignored.
    Done,
}

/// The decoder of one chunked body.
#[derive(Debug)]
pub struct Chunked {
    state: State,
    /// Bytes of the current size or trailer line.
    line: usize,
    /// Trailer bytes so far.
    trailer: usize,
}

impl Default for Chunked {
    fn default() -> Self {
        Self::new()
    }
}

impl Chunked {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self {
            state: State::Size {
                value: 0,
                digit: false,
                ext: false,
            },
            line: 0,
            trailer: 0,
        }
    }

    /// Whether the last chunk and the trailer have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decode all of `input`, appending the payload to `out`; the error says
    /// what in the framing is wrong.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let mut rest = input;
        while let Some((&byte, after)) = rest.split_first() {
            if let State::Data { left } = self.state {
                // The payload is copied in bulk, not byte by byte.
                let take = usize::try_from(left).map_or(rest.len(), |left| left.min(rest.len()));
                out.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { left }
                };
                continue;
            }
            rest = after;
            self.state = match self.state {
                State::Size { value, digit, ext } => self.size_byte(byte, value, digit, ext)?,
                State::SizeLf { value, digit } if byte == b'\n' => self.end_size(value, digit)?,
                State::SizeLf { .. } => {
                    return Err("a chunk-size line has a CR without LF".into());
                }
                State::DataCr if byte == b'\r' => State::DataLf,
                State::DataCr | State::DataLf if byte == b'\n' => Self::next_size(),
                State::DataCr | State::DataLf => {
                    return Err("a chunk's data is longer than its size".into());
                }
                State::Trailer => self.trailer_byte(byte)?,
                // Data is handled above; nothing after the end is read.
                State::Data { .. } | State::Done => return Ok(()),
            };
        }
        Ok(())
    }

    fn next_size() -> State {
        State::Size {
            value: 0,
            digit: false,
            ext: false,
        }
    }

    fn size_byte(&mut self, byte: u8, value: u64, digit: bool, ext: bool) -> Result<State, String> {
        self.line += 1;
        if self.line > MAX_SIZE_LINE {
            return Err(format!(
                "a chunk-size line is longer than {MAX_SIZE_LINE} bytes"
            ));
        }
        Ok(match byte {
            b'\r' => State::SizeLf { value, digit },
            b'\n' => self.end_size(value, digit)?,
            _ if ext => State::Size { value, digit, ext },
            b';' | b' ' | b'\t' => State::Size {
                value,
                digit,
                ext: true,
            },
            _ => {
                let d = char::from(byte).to_digit(16).ok_or_else(|| {
                    format!(
                        "a chunk size has the byte {:?}, not a hex digit",
                        char::from(byte)
                    )
                })?;
                let value = value
                    .checked_mul(16)
                    .and_then(|v| v.checked_add(u64::from(d)))
                    .ok_or("a chunk size does not fit in 64 bits")?;
                State::Size {
                    value,
                    digit: true,
                    ext,
                }
            }
        })
    }

    fn end_size(&mut self, value: u64, digit: bool) -> Result<State, String> {
        self.line = 0;
        if !digit {
            return Err("a chunk-size line has no size".into());
        }
        Ok(if value == 0 {
            State::Trailer
        } else {
            State::Data { left: value }
        })
    }

    fn trailer_byte(&mut self, byte: u8) -> Result<State, String> {
        match byte {
            b'\r' => {}
            b'\n' if self.line == 0 => return Ok(State::Done),
            b'\n' => self.line = 0,
            _ => {
                self.line += 1;
                self.trailer += 1;
                if self.trailer > MAX_TRAILER_BYTES {
                    return Err(format!(
                        "the trailer is longer than {MAX_TRAILER_BYTES} bytes"
                    ));
                }
            }
        }
        Ok(State::Trailer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `payload` as chunks of `size` bytes, with an extension on every
    /// third chunk and a trailer.
    fn encode(payload: &[u8], size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, chunk) in payload.chunks(size).enumerate() {
            if i % 3 == 2 {
                out.extend_from_slice(format!("{:X};name=value\r\n", chunk.len()).as_bytes());
            } else {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            }
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
        out
    }

    fn decode_in_pieces(wire: &[u8], piece: usize) -> Result<(Vec<u8>, bool), String> {
        let mut decoder = Chunked::new();
        let mut out = Vec::new();
        for bytes in wire.chunks(piece) {
            decoder.feed(bytes, &mut out)?;
        }
        Ok((out, decoder.is_done()))
    }

    #[test]
    fn any_split_of_the_wire_gives_the_same_payload() {
        let payload: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        for size in [1, 7, 16, 255, 4096] {
            let wire = encode(&payload, size);
            for piece in [1, 2, 3, 5, 13, 64, wire.len()] {
                let (out, done) = decode_in_pieces(&wire, piece).expect("valid framing");
                assert_eq!(out, payload, "chunks of {size}, pieces of {piece}");
                assert!(done);
            }
        }
    }

    #[test]
    fn bytes_after_the_end_are_ignored() {
        let mut decoder = Chunked::new();
        let mut out = Vec::new();
        decoder
            .feed(b"2\r\nhi\r\n0\r\n\r\nGARBAGE", &mut out)
            .expect("valid");
        assert_eq!(out, b"hi");
        assert!(decoder.is_done());
    }

    #[test]
    fn an_unfinished_body_is_not_done() {
        let (out, done) = decode_in_pieces(b"5\r\nhel", 2).expect("valid so far");
        assert_eq!(out, b"hel");
        assert!(!done);
        let (_, done) = decode_in_pieces(b"0\r\n", 1).expect("valid so far");
        assert!(!done, "the empty line after the last chunk is missing");
    }

    #[test]
    fn bad_framing_is_refused() {
        for (wire, words) in [
            (&b"zz\r\n"[..], "not a hex digit"),
            (b"\r\n", "no size"),
            (b"3\r\nabcd\r\n", "longer than its size"),
            (b"3\rX", "CR without LF"),
            (b"11111111111111111\r\n", "64 bits"),
        ] {
            let error = decode_in_pieces(wire, 1).expect_err("bad framing");
            assert!(error.contains(words), "{error}");
        }
        let long = format!("1;{}\r\n", "x".repeat(MAX_SIZE_LINE));
        let error = decode_in_pieces(long.as_bytes(), 100).expect_err("too long");
        assert!(error.contains("longer than"), "{error}");
        let trailer = format!("0\r\nX: {}\r\n\r\n", "y".repeat(MAX_TRAILER_BYTES));
        let error = decode_in_pieces(trailer.as_bytes(), 100).expect_err("too long");
        assert!(error.contains("trailer"), "{error}");
    }

    #[test]
    fn leading_zeros_and_bare_lf_are_accepted() {
        let (out, done) = decode_in_pieces(b"0003\nabc\n000\n\n", 1).expect("lenient");
        assert_eq!(out, b"abc");
        assert!(done);
    }
}
