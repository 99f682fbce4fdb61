//! A small HTTP/1.1 server side: reading requests (head, then a
//! `Content-Length` or chunked body) and writing response heads. Everything
//! is bounded: head size, header count, body size, chunk-size lines,
//! trailers.

use std::io;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header lines in a head, and most trailer lines after a chunked body.
const MAX_HEADERS: usize = 128;
/// Largest request body.
pub const MAX_BODY: usize = 1024 * 1024;
/// Longest chunk-size or trailer line of a chunked body.
const MAX_LINE: usize = 4096;
/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// The methods the server tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other,
}

/// One request, its body read whole.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// The target without its query string.
    pub path: String,
    /// `HTTP/1.0`: no chunked replies, and close unless asked to keep alive.
    pub http10: bool,
    /// Whether the connection stays open after the reply.
    pub keep_alive: bool,
    pub body: Vec<u8>,
}

/// Why no request came.
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed or closed mid-request: just end the connection.
    Io(io::Error),
    /// The request is refused with this status (then the connection closes).
    Reject { status: u16, message: &'static str },
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

fn reject(status: u16, message: &'static str) -> ReadError {
    ReadError::Reject { status, message }
}

/// Reads requests off one connection, keeping what arrived past one
/// request for the next.
#[derive(Debug, Default)]
pub struct Reader {
    buf: Vec<u8>,
}

impl Reader {
    /// The next request, or `None` when the peer closed the connection
    /// cleanly between requests.
    pub async fn next(&mut self, stream: &mut TcpStream) -> Result<Option<Request>, ReadError> {
        // Where the search for the empty line resumes: bytes before it were
        // searched already (a head sent byte by byte is not rescanned).
        let mut searched: usize = 0;
        let head_end = loop {
            let from = searched.saturating_sub(3);
            if let Some(end) = find(self.buf.get(from..).unwrap_or_default(), b"\r\n\r\n") {
                break from + end + 4;
            }
            searched = self.buf.len();
            if self.buf.len() >= MAX_HEAD {
                return Err(reject(431, "Request header fields too large."));
            }
            if self.fill(stream).await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
        };
        if head_end > MAX_HEAD {
            return Err(reject(431, "Request header fields too large."));
        }
        let head = parse_head(self.buf.get(..head_end).unwrap_or_default())?;
        self.buf.drain(..head_end);
        if head.expect_continue {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = match head.body {
            BodyLength::None => Vec::new(),
            BodyLength::Fixed(len) => {
                while self.buf.len() < len {
                    if self.fill(stream).await? == 0 {
                        return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                self.buf.drain(..len).collect()
            }
            BodyLength::Chunked => {
                let mut decoder = Chunked::default();
                loop {
                    let used = decoder.advance(&self.buf)?;
                    self.buf.drain(..used);
                    if decoder.done {
                        break decoder.body;
                    }
                    if self.fill(stream).await? == 0 {
                        return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
            }
        };
        Ok(Some(Request {
            method: head.method,
            path: head.path,
            http10: head.http10,
            keep_alive: head.keep_alive,
            body,
        }))
    }

    /// Reads more bytes onto the buffer; 0 at end of stream.
    async fn fill(&mut self, stream: &mut TcpStream) -> io::Result<usize> {
        self.buf.reserve(READ_SIZE);
        stream.read_buf(&mut self.buf).await
    }
}

/// How the body of a request is delimited.
#[derive(Debug, PartialEq, Eq)]
enum BodyLength {
    None,
    Fixed(usize),
    Chunked,
}

/// What the server needs from a request head.
#[derive(Debug)]
struct Head {
    method: Method,
    path: String,
    http10: bool,
    keep_alive: bool,
    expect_continue: bool,
    body: BodyLength,
}

/// Parses a request line and headers (`head` ends with the empty line).
fn parse_head(head: &[u8]) -> Result<Head, ReadError> {
    let bad = || reject(400, "Invalid HTTP request received.");
    let text = std::str::from_utf8(head).map_err(|_| bad())?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().ok_or_else(bad)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let method = match method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => Method::Other,
        _ => return Err(bad()),
    };
    if !target.starts_with('/') {
        return Err(bad());
    }
    let path = target
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(reject(505, "HTTP version not supported.")),
    };
    let mut keep_alive = !http10;
    let mut expect_continue = false;
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut count = 0;
    for line in lines.take_while(|line| !line.is_empty()) {
        count += 1;
        if count > MAX_HEADERS {
            return Err(reject(431, "Request header fields too large."));
        }
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad());
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            let len = digits(value).ok_or_else(bad)?;
            if content_length.is_some_and(|seen| seen != len) {
                return Err(bad());
            }
            content_length = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only `chunked` alone: anything else could not be decoded.
            if !value.eq_ignore_ascii_case("chunked") || chunked {
                return Err(reject(501, "Unsupported transfer encoding."));
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if !value.eq_ignore_ascii_case("100-continue") {
                return Err(reject(417, "Expectation failed."));
            }
            expect_continue = true;
        }
    }
    let body = match (chunked, content_length) {
        // Both at once is how requests are smuggled: refuse it.
        (true, Some(_)) => return Err(bad()),
        (true, None) => BodyLength::Chunked,
        (false, Some(len)) if len > MAX_BODY => {
            return Err(reject(413, "Request body too large."));
        }
        (false, Some(0) | None) => BodyLength::None,
        (false, Some(len)) => BodyLength::Fixed(len),
    };
    if body == BodyLength::None {
        expect_continue = false;
    }
    Ok(Head {
        method,
        path,
        http10,
        keep_alive,
        expect_continue,
        body,
    })
}

/// A decimal `Content-Length`, with no sign and at most 19 digits.
fn digits(value: &str) -> Option<usize> {
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// An incremental decoder of a chunked body.
#[derive(Debug, Default)]
struct Chunked {
    state: ChunkState,
    body: Vec<u8>,
    trailers: usize,
    done: bool,
}

#[derive(Debug, Default, Clone, Copy)]
enum ChunkState {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(usize),
    /// Expecting the CRLF that ends a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailers,
}

impl Chunked {
    /// Decodes as much of `input` as it can; returns the bytes used (the
    /// rest, an incomplete line, is offered again with more bytes after it).
    fn advance(&mut self, input: &[u8]) -> Result<usize, ReadError> {
        let bad = || reject(400, "Invalid chunked body.");
        let mut used = 0;
        while !self.done {
            let rest = input.get(used..).unwrap_or_default();
            match self.state {
                ChunkState::Size | ChunkState::Trailers => {
                    let Some(end) = find(rest, b"\r\n") else {
                        if rest.len() > MAX_LINE {
                            return Err(bad());
                        }
                        return Ok(used);
                    };
                    if end > MAX_LINE {
                        return Err(bad());
                    }
                    let line = rest.get(..end).unwrap_or_default();
                    used += end + 2;
                    if let ChunkState::Trailers = self.state {
                        self.trailers += 1;
                        if line.is_empty() {
                            self.done = true;
                        } else if self.trailers > MAX_HEADERS {
                            return Err(bad());
                        }
                        continue;
                    }
                    let size = chunk_size(line).ok_or_else(bad)?;
                    if size > MAX_BODY.saturating_sub(self.body.len()) {
                        return Err(reject(413, "Request body too large."));
                    }
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok(used);
                    }
                    let take = left.min(rest.len());
                    self.body
                        .extend_from_slice(rest.get(..take).unwrap_or_default());
                    used += take;
                    self.state = if take == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - take)
                    };
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(used);
                    }
                    if !rest.starts_with(b"\r\n") {
                        return Err(bad());
                    }
                    used += 2;
                    self.state = ChunkState::Size;
                }
            }
        }
        Ok(used)
    }
}

/// The size of a chunk-size line: hex digits, then maybe `;extensions`.
fn chunk_size(line: &[u8]) -> Option<usize> {
    let hex = line.split(|&b| b == b';').next()?;
    let hex = std::str::from_utf8(hex).ok()?.trim_matches([' ', '\t']);
    if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(hex, 16).ok()
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The reason phrase of the statuses the server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// How the connection header of a reply reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// HTTP/1.1 keep-alive: no header.
    Default,
    /// `connection: close`.
    Close,
    /// HTTP/1.0 that asked to be kept alive: `connection: keep-alive`.
    KeepAlive10,
}

impl Persist {
    /// The header a reply to `request` carries; `keep` says whether the
    /// connection stays open.
    pub fn for_request(request: &Request, keep: bool) -> Self {
        match (keep, request.http10) {
            (false, _) => Self::Close,
            (true, false) => Self::Default,
            (true, true) => Self::KeepAlive10,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Self::Default => "",
            Self::Close => "connection: close\r\n",
            Self::KeepAlive10 => "connection: keep-alive\r\n",
        }
    }
}

/// Appends a whole reply (head and body) with `content_type` (none for an
/// empty body, like vLLM's `/health`).
pub fn full_response(
    out: &mut Vec<u8>,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    persist: Persist,
) {
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {}\r\nserver: uvicorn\r\n{}content-length: {}\r\n{}\r\n",
            reason(status),
            content_type.map_or_else(String::new, |t| format!("content-type: {t}\r\n")),
            body.len(),
            persist.header()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
}

/// Appends the head of a streamed reply; chunked unless `chunked` is false
/// (HTTP/1.0, where the body ends when the connection closes).
pub fn stream_head(out: &mut Vec<u8>, chunked: bool, persist: Persist) {
    out.extend_from_slice(
        b"HTTP/1.1 200 OK\r\nserver: uvicorn\r\ncontent-type: text/event-stream; charset=utf-8\r\n",
    );
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(persist.header().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `data` as one chunk (size line, data, CRLF).
pub fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Room [`begin_chunk`] keeps for a chunk-size line (8 hex digits and CRLF).
const SIZE_ROOM: usize = 10;

/// Starts a chunk at the end of `out`: keeps room for its size line, which
/// [`end_chunk`] fills in once the data is appended. Returns where it starts.
pub fn begin_chunk(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[b'0'; SIZE_ROOM]);
    start
}

/// Ends the chunk begun at `start`: writes its size line right before the
/// data and appends the closing CRLF. Returns where the framed chunk now
/// starts (the unused room before it is to be skipped when writing).
pub fn end_chunk(out: &mut Vec<u8>, start: usize) -> usize {
    let data_len = out.len().saturating_sub(start + SIZE_ROOM);
    let line = format!("{data_len:x}\r\n");
    let begin = start + SIZE_ROOM - line.len().min(SIZE_ROOM);
    if let Some(room) = out.get_mut(begin..start + SIZE_ROOM) {
        room.copy_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    begin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, u16> {
        parse_head(text.as_bytes()).map_err(|e| match e {
            ReadError::Reject { status, .. } => status,
            ReadError::Io(_) => 0,
        })
    }

    #[test]
    fn heads() {
        let h = head("POST /v1/chat/completions?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
            .expect("ok");
        assert_eq!(h.method, Method::Post);
        assert_eq!(h.path, "/v1/chat/completions");
        assert!(h.keep_alive);
        assert_eq!(h.body, BodyLength::Fixed(5));
        let h = head("GET / HTTP/1.1\r\nCONNECTION: Close\r\n\r\n").expect("ok");
        assert!(!h.keep_alive);
        let h = head("GET / HTTP/1.0\r\n\r\n").expect("ok");
        assert!(!h.keep_alive && h.http10);
        let h = head("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n").expect("ok");
        assert!(h.keep_alive);
        let h = head("POST / HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n").expect("ok");
        assert_eq!(h.body, BodyLength::Chunked);
        assert_eq!(
            head("POST / HTTP/1.1\r\ncontent-length: 2000000\r\n\r\n").err(),
            Some(413)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n").err(),
            Some(400)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n").err(),
            Some(400)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n")
                .err(),
            Some(400)
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n").err(),
            Some(501)
        );
        assert_eq!(head("GET / HTTP/2\r\n\r\n").err(), Some(505));
        assert_eq!(head("GET  / HTTP/1.1\r\n\r\n").err(), Some(400));
        assert_eq!(head("GET http://x/ HTTP/1.1\r\n\r\n").err(), Some(400));
        assert_eq!(head("GET / HTTP/1.1\r\nno colon\r\n\r\n").err(), Some(400));
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "a: b\r\n".repeat(200));
        assert_eq!(head(&many).err(), Some(431));
    }

    fn dechunk(pieces: &[&[u8]]) -> Result<Vec<u8>, u16> {
        let mut decoder = Chunked::default();
        let mut pending = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            let used = decoder.advance(&pending).map_err(|e| match e {
                ReadError::Reject { status, .. } => status,
                ReadError::Io(_) => 0,
            })?;
            pending.drain(..used);
        }
        if decoder.done {
            Ok(decoder.body)
        } else {
            Err(0)
        }
    }

    #[test]
    fn chunked_bodies() {
        let whole: &[u8] = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n";
        assert_eq!(dechunk(&[whole]), Ok(b"hello world".to_vec()));
        // Byte by byte, as a slow client sends it.
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(dechunk(&bytes), Ok(b"hello world".to_vec()));
        assert_eq!(dechunk(&[b"0\r\n\r\n"]), Ok(Vec::new()));
        assert_eq!(dechunk(&[b"5\r\nhello"]), Err(0));
        assert_eq!(dechunk(&[b"zz\r\n"]), Err(400));
        assert_eq!(dechunk(&[b"5\r\nhelloXX"]), Err(400));
        assert_eq!(dechunk(&[b"200000\r\n"]), Err(413));
        assert_eq!(dechunk(&[&[b'1'; 5000]]), Err(400));
    }

    #[test]
    fn chunk_framing() {
        let mut out = b"HEAD".to_vec();
        let start = begin_chunk(&mut out);
        out.extend_from_slice(&[b'x'; 300]);
        let begin = end_chunk(&mut out, start);
        let framed = out.get(begin..).expect("in range");
        assert!(framed.starts_with(b"12c\r\nxxx"));
        assert!(framed.ends_with(b"x\r\n"));
        assert_eq!(framed.len(), 5 + 300 + 2);
    }
}
