//! The plugin's `Transport` over blocking `std::net::TcpStream`: plain
//! HTTP/1.1, no TLS.
//!
//! One connection per request, as the component's wasi-http does (wasmtime's
//! default `send-request` opens a fresh connection for every outgoing
//! request and never pools): both clients pay the same connect cost, so
//! they differ only in wasm and the harness. The limits mirror what the
//! component asks of its host (`plugin/src/wasi_http.rs`): connect within
//! `min(T, 10 s)`, the response head within T, no gap between body bytes
//! longer than T, and nothing past the request's total deadline; failures
//! are named as the same `ProviderError` variants with the same words.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vllm_provider::deadline::{self, Deadline, Millis};
use vllm_provider::error;
use vllm_provider::transport::{
    HttpRequest, HttpResponse, Method, ReadResult, ResponseBody, SendError, Transport, Wait,
    total_timeout_message,
};
use vllm_provider::url::HttpUrl;
use vllm_provider::wit::ProviderError;

use crate::chunked::Chunked;

/// How much one read asks the socket for (the component's wasi-http reads
/// ask for as much); it is also the largest response head.
const READ_BYTES: usize = 64 * 1024;
/// The largest response head (status line and headers).
pub const MAX_HEAD_BYTES: usize = READ_BYTES;
/// Interim (1xx) responses skipped before the real one.
const MAX_INTERIM: usize = 8;
/// How far past the moment a wait is for the socket's read timeout may
/// reach: the transport's clock counts whole milliseconds anyway. A timeout
/// that ends before the moment just means one more read.
const TIMEOUT_SLACK: Duration = Duration::from_millis(1);
/// Most socket reads one body read makes without decoding a payload byte.
/// Framing between payload bytes is bounded (a size line, a CRLF, the
/// trailer), so only a server dribbling that framing byte by byte comes
/// near this.
const MAX_READS_WITHOUT_DATA: usize = 64 * 1024;

/// The start of this process's monotonic clock.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The monotonic clock in milliseconds.
pub fn now_ms() -> Millis {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(Millis::MAX)
}

/// The instant at `ms` on the transport's clock.
fn instant_at(ms: Millis) -> Instant {
    let epoch = epoch();
    epoch
        .checked_add(Duration::from_millis(ms))
        // Far enough to be never, on any platform's Instant.
        .unwrap_or_else(|| epoch + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// What a request was, for the words of its errors.
#[derive(Debug, Clone)]
struct Exchange {
    /// `host:port`.
    authority: String,
    /// The whole URL.
    url: String,
    /// `timeoutSeconds` in milliseconds.
    timeout_ms: u64,
}

impl Exchange {
    /// The connection closed (or was reset) before the body's end: the same
    /// words as the component's `ConnectionTerminated` mid-body.
    fn cut_short(&self) -> ProviderError {
        ProviderError::InvalidResponse(format!(
            "the reply from {} broke off mid-reply: the connection was closed, by the server or \
             a proxy in between; send the request again, and read the vLLM server's log if it \
             keeps happening",
            self.url
        ))
    }

    /// The connection closed before the response head.
    fn closed_before_head(&self) -> ProviderError {
        error::connection(&self.authority, "the connection was closed by the server")
    }

    /// Nothing arrived for T mid-body.
    fn stalled(&self) -> ProviderError {
        ProviderError::Timeout(format!(
            "{} stalled mid-reply: nothing arrived for {} (timeoutSeconds, the limit between \
             bytes): the server may be stuck or overloaded; raise timeoutSeconds if it is just \
             slow",
            self.url,
            deadline::seconds(self.timeout_ms)
        ))
    }

    /// No response head within T.
    fn no_head(&self) -> ProviderError {
        ProviderError::Timeout(format!(
            "{} sent no response within {} (timeoutSeconds, the first-byte limit): the server \
             may be overloaded; raise timeoutSeconds if it is just slow",
            self.url,
            deadline::seconds(self.timeout_ms)
        ))
    }

    /// A read that failed for another reason than a timeout.
    fn read_failed(&self, e: &io::Error) -> ProviderError {
        match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => self.cut_short(),
            _ => ProviderError::InvalidResponse(format!(
                "reading from {} failed: {e}",
                self.authority
            )),
        }
    }

    fn invalid(&self, what: &str) -> ProviderError {
        ProviderError::InvalidResponse(format!("the response from {} {what}", self.url))
    }
}

/// Outgoing HTTP/1.1 over plain TCP.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpTransport;

/// How a response body ends.
#[derive(Debug)]
enum Framing {
    /// There is none (204, 304).
    Empty,
    /// `Content-Length`: this many bytes are still to come.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(Chunked),
    /// Neither: the body ends when the server closes the connection.
    Close,
}

/// A response body being read from its connection (closed when dropped).
#[derive(Debug)]
pub struct TcpBody {
    stream: TcpStream,
    /// Bytes read from the socket; `buf[start..end]` are not yet decoded.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    framing: Framing,
    /// The server closed its side.
    eof: bool,
    /// Whether the socket is in non-blocking mode now (switched only when
    /// the kind of wait changes).
    nonblocking: bool,
    /// The socket's read timeout now (changed only when a wait needs a
    /// much different one, see [`TIMEOUT_SLACK`]).
    read_timeout: Option<Duration>,
    /// When the last byte arrived: the limit between bytes runs from it.
    last_byte: Instant,
    exchange: Exchange,
}

/// What one socket read gave.
enum Fill {
    Bytes,
    Eof,
    Nothing,
}

impl Transport for TcpTransport {
    type Body = TcpBody;

    fn send(&self, request: &HttpRequest) -> Result<HttpResponse<TcpBody>, SendError> {
        let url = HttpUrl::parse(&request.url).map_err(|reason| {
            ProviderError::InvalidResponse(format!("bad request URL: {reason}"))
        })?;
        if url.https {
            return Err(ProviderError::BadRequest(format!(
                "{} is https: this benchmark client speaks plain http only",
                request.url
            ))
            .into());
        }
        let exchange = Exchange {
            authority: url.host_port(),
            url: request.url.clone(),
            timeout_ms: request.timeout_ms,
        };
        let wire = encode_request(request, &url)?;
        let mut stream = connect(&exchange, request.deadline)?;
        let write_timeout = Duration::from_millis(request.timeout_ms.max(1));
        stream
            .set_write_timeout(Some(write_timeout))
            .map_err(|e| ProviderError::InvalidResponse(format!("socket option refused: {e}")))?;
        let head_until = match stream.write_all(&wire) {
            Ok(()) => now_ms()
                .saturating_add(request.timeout_ms)
                .min(request.deadline.at),
            Err(e) => {
                // A server may answer (and close) before it read the whole
                // request: its answer is still the better error, if it
                // comes as soon as connecting may take.
                let write_error = write_failed(&e, &exchange);
                let until = now_ms()
                    .saturating_add(deadline::connect_ms(request.timeout_ms))
                    .min(request.deadline.at);
                return read_head(stream, exchange, until, request.deadline)
                    .map_err(|_| SendError::from(write_error));
            }
        };
        read_head(stream, exchange, head_until, request.deadline).map_err(SendError::from)
    }

    fn now(&self) -> Millis {
        now_ms()
    }

    fn sleep(&self, ms: Millis) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn jitter_seed(&self) -> u64 {
        // Nanoseconds since the epoch of this process's clock: different
        // from one call to the next, which is all jitter needs.
        u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The request's bytes: head and body in one buffer, written at once.
fn encode_request(request: &HttpRequest, url: &HttpUrl) -> Result<Vec<u8>, ProviderError> {
    let method = match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let mut wire = Vec::with_capacity(256 + request.body.len());
    wire.extend_from_slice(
        format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\n",
            url.path, url.authority
        )
        .as_bytes(),
    );
    for (name, value) in &request.headers {
        let bad_name = name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if bad_name || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ProviderError::BadRequest(format!(
                "header {name:?} is not a valid HTTP header"
            )));
        }
        wire.extend_from_slice(name.as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    if request.method == Method::Post {
        wire.extend_from_slice(format!("Content-Length: {}\r\n", request.body.len()).as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(&request.body);
    Ok(wire)
}

/// Connect to the exchange's authority within `min(T, 10 s)` and the total
/// deadline, trying each address the name resolves to.
fn connect(exchange: &Exchange, total: Deadline) -> Result<TcpStream, SendError> {
    let authority = exchange.authority.as_str();
    let unresolved = || {
        SendError::unsent(error::connection(
            authority,
            "the host name could not be resolved",
        ))
    };
    let addresses: Vec<SocketAddr> = authority
        .to_socket_addrs()
        .map_err(|_| unresolved())?
        .collect();
    if addresses.is_empty() {
        return Err(unresolved());
    }
    let connect_ms = deadline::connect_ms(exchange.timeout_ms);
    let until = instant_at(now_ms().saturating_add(connect_ms).min(total.at));
    let mut last = None;
    for address in addresses {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(|e| {
                    ProviderError::InvalidResponse(format!("TCP_NODELAY refused: {e}"))
                })?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            SendError::unsent(error::connection(authority, "connection refused"))
        }
        Some(e)
            if matches!(
                e.kind(),
                io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::AddrNotAvailable
            ) =>
        {
            SendError::unsent(error::connection(
                authority,
                "the destination is unreachable",
            ))
        }
        Some(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            SendError::from(error::connection(authority, &e.to_string()))
        }
        _ => SendError::from(ProviderError::Timeout(format!(
            "connecting to {authority} timed out after {} (the connect limit: timeoutSeconds, \
             at most {}): check that vLLM is running there and reachable, or raise \
             timeoutSeconds",
            deadline::seconds(connect_ms),
            deadline::seconds(deadline::MAX_CONNECT_MS)
        ))),
    })
}

fn write_failed(e: &io::Error, exchange: &Exchange) -> ProviderError {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ProviderError::Timeout(format!(
            "sending the request to {} timed out: raise timeoutSeconds if the server is just \
             slow",
            exchange.url
        )),
        _ => exchange.closed_before_head(),
    }
}

/// Where the head in `buf` ends (just past its empty line), if it does.
/// Bare LF line ends are accepted, as hyper does.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let from = from.saturating_sub(3);
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1..) {
                Some([b'\n', ..]) => return Some(i + 2),
                Some([b'\r', b'\n', ..]) => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The parts of a response head the client uses.
#[derive(Debug, Default)]
struct Head {
    status: u16,
    content_type: Option<String>,
    retry_after: Option<String>,
    location: Option<String>,
    content_encoding: Option<String>,
    transfer_encoding: Option<String>,
    content_length: Option<u64>,
}

/// Read the response head (skipping interim 1xx ones) by `until`, then
/// hand the connection and the bytes after the head to the body.
fn read_head(
    mut stream: TcpStream,
    exchange: Exchange,
    until: Millis,
    total: Deadline,
) -> Result<HttpResponse<TcpBody>, ProviderError> {
    let mut buf = vec![0; READ_BYTES];
    let mut len = 0;
    let mut scanned = 0;
    let until_instant = instant_at(until);
    let mut interim = 0;
    let mut read_timeout = None;
    // Each pass reads at least one byte or ends: bounded by the head size
    // (a pass per byte at worst), and by the clock.
    for _ in 0..=MAX_HEAD_BYTES * (MAX_INTERIM + 1) {
        if let Some(end) = head_end(&buf[..len], scanned) {
            let head = parse_head(&buf[..end], &exchange)?;
            buf.copy_within(end..len, 0);
            len -= end;
            scanned = 0;
            if (100..200).contains(&head.status) {
                interim += 1;
                if head.status == 101 || interim > MAX_INTERIM {
                    return Err(exchange.invalid(&format!(
                        "began with an unexpected interim status {}",
                        head.status
                    )));
                }
                continue;
            }
            return Ok(body_after(stream, exchange, head, buf, len, read_timeout));
        }
        scanned = len;
        if len == buf.len() {
            return Err(exchange.invalid(&format!(
                "has a head larger than {MAX_HEAD_BYTES} bytes (the limit)"
            )));
        }
        let left = until_instant.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(head_timeout(&exchange, total));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| ProviderError::InvalidResponse(format!("socket option refused: {e}")))?;
        read_timeout = Some(left);
        match stream.read(&mut buf[len..]) {
            Ok(0) => return Err(exchange.closed_before_head()),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                return Err(match exchange.read_failed(&e) {
                    ProviderError::Connection(_) => exchange.closed_before_head(),
                    other => other,
                });
            }
        }
    }
    Err(exchange.invalid("head never ended"))
}

fn head_timeout(exchange: &Exchange, total: Deadline) -> ProviderError {
    if total.passed(now_ms()) {
        ProviderError::Timeout(total_timeout_message(&exchange.url, total))
    } else {
        exchange.no_head()
    }
}

/// Parse a head (the status line, the headers, the empty line).
fn parse_head(bytes: &[u8], exchange: &Exchange) -> Result<Head, ProviderError> {
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status_line = lines.next().unwrap_or_default();
    let status_text = String::from_utf8_lossy(status_line);
    let mut parts = status_text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(exchange.invalid(&format!(
            "is not HTTP/1.x: its status line is {:?}",
            status_text.chars().take(80).collect::<String>()
        )));
    }
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| exchange.invalid(&format!("has an invalid status code {code:?}")))?;
    let mut head = Head {
        status,
        ..Head::default()
    };
    for line in lines.take_while(|line| !line.is_empty()) {
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            return Err(exchange.invalid(&format!(
                "has a header line without a colon: {:?}",
                text.chars().take(80).collect::<String>()
            )));
        };
        if name.is_empty() || name.starts_with([' ', '\t']) || name.ends_with([' ', '\t']) {
            return Err(exchange.invalid(&format!("has an invalid header name {name:?}")));
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-type") {
            head.content_type.get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("retry-after") {
            head.retry_after.get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("location") {
            head.location.get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("content-encoding") {
            head.content_encoding
                .get_or_insert_with(|| value.to_owned());
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let codings = head.transfer_encoding.get_or_insert_with(String::new);
            if !codings.is_empty() {
                codings.push(',');
            }
            codings.push_str(value);
        } else if name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse::<u64>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    exchange.invalid(&format!("has an invalid Content-Length {value:?}"))
                })?;
            if head.content_length.is_some_and(|seen| seen != length) {
                return Err(exchange.invalid("has two different Content-Length headers"));
            }
            head.content_length = Some(length);
        }
    }
    Ok(head)
}

/// The body after `head`, with the `len` bytes already read in `buf`.
fn body_after(
    stream: TcpStream,
    exchange: Exchange,
    head: Head,
    buf: Vec<u8>,
    len: usize,
    read_timeout: Option<Duration>,
) -> HttpResponse<TcpBody> {
    let chunked = head.transfer_encoding.as_deref().map(|codings| {
        codings
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    });
    let framing = match (head.status, chunked, head.content_length) {
        (204 | 304, _, _) => Framing::Empty,
        (_, Some(true), _) => Framing::Chunked(Chunked::new()),
        // Another last coding: the body runs to the close (RFC 9112 §6.3).
        (_, Some(false), _) => Framing::Close,
        (_, None, Some(0)) => Framing::Empty,
        (_, None, Some(length)) => Framing::Length(length),
        (_, None, None) => Framing::Close,
    };
    HttpResponse {
        status: head.status,
        content_type: head.content_type,
        retry_after: head.retry_after,
        location: head.location,
        content_encoding: head.content_encoding,
        body: TcpBody {
            stream,
            buf,
            start: 0,
            end: len,
            framing,
            eof: false,
            nonblocking: false,
            read_timeout,
            last_byte: Instant::now(),
            exchange,
        },
    }
}

impl TcpBody {
    /// Whether the whole body has been decoded.
    fn complete(&self) -> bool {
        match &self.framing {
            Framing::Empty => true,
            Framing::Length(left) => *left == 0,
            Framing::Chunked(decoder) => decoder.is_done(),
            Framing::Close => self.eof,
        }
    }

    /// Decode every buffered byte into `out`.
    fn decode(&mut self, out: &mut Vec<u8>) -> Result<(), ProviderError> {
        let raw = &self.buf[self.start..self.end];
        match &mut self.framing {
            Framing::Empty => {}
            Framing::Length(left) => {
                let take = usize::try_from(*left).map_or(raw.len(), |left| left.min(raw.len()));
                out.extend_from_slice(&raw[..take]);
                *left -= take as u64;
            }
            Framing::Chunked(decoder) => decoder.feed(raw, out).map_err(|why| {
                ProviderError::InvalidResponse(format!(
                    "the chunked response from {} is malformed: {why}",
                    self.exchange.url
                ))
            })?,
            Framing::Close => out.extend_from_slice(raw),
        }
        self.start = 0;
        self.end = 0;
        Ok(())
    }

    fn set_nonblocking(&mut self, on: bool) -> Result<(), ProviderError> {
        if self.nonblocking != on {
            self.stream
                .set_nonblocking(on)
                .map_err(|e| ProviderError::InvalidResponse(format!("socket mode refused: {e}")))?;
            self.nonblocking = on;
        }
        Ok(())
    }

    /// One read from the socket into the (empty) buffer: without waiting
    /// when `wait_for` is `None`, else for at most that long.
    fn fill(&mut self, wait_for: Option<Duration>) -> Result<Fill, ProviderError> {
        match wait_for {
            None => self.set_nonblocking(true)?,
            Some(left) => {
                self.set_nonblocking(false)?;
                // The timeout is kept when it is a little longer than the
                // wait (by the slack) or not much shorter (a read that times
                // out early is just followed by another): setting it on
                // every read would cost a system call each.
                if self
                    .read_timeout
                    .is_none_or(|current| current > left + TIMEOUT_SLACK || current < left / 2)
                {
                    self.stream.set_read_timeout(Some(left)).map_err(|e| {
                        ProviderError::InvalidResponse(format!("socket option refused: {e}"))
                    })?;
                    self.read_timeout = Some(left);
                }
            }
        }
        // A signal may interrupt a read; a few retries are plenty.
        for _ in 0..16 {
            return match self.stream.read(&mut self.buf) {
                Ok(0) => Ok(Fill::Eof),
                Ok(n) => {
                    self.end = n;
                    self.last_byte = Instant::now();
                    Ok(Fill::Bytes)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    Ok(Fill::Nothing)
                }
                Err(e) => Err(self.exchange.read_failed(&e)),
            };
        }
        Ok(Fill::Nothing)
    }
}

impl ResponseBody for TcpBody {
    fn read(&mut self, wait: Wait) -> Result<ReadResult, ProviderError> {
        let until = match wait {
            Wait::No => None,
            Wait::Until(at) => Some(instant_at(at)),
        };
        let mut out = Vec::new();
        let mut read_once = false;
        for _ in 0..MAX_READS_WITHOUT_DATA {
            self.decode(&mut out)?;
            if !out.is_empty() {
                return Ok(ReadResult::Data(out));
            }
            if self.complete() {
                return Ok(ReadResult::End);
            }
            if self.eof {
                return Err(self.exchange.cut_short());
            }
            // A wait whose moment has passed still takes what is there (one
            // read without waiting), but no more.
            if read_once && until.is_some_and(|until| Instant::now() >= until) {
                return Ok(ReadResult::Pending);
            }
            let stall_at = self.last_byte + Duration::from_millis(self.exchange.timeout_ms);
            let wait_for = until
                .map(|until| {
                    until
                        .min(stall_at)
                        .saturating_duration_since(Instant::now())
                })
                .filter(|left| !left.is_zero());
            read_once = true;
            match self.fill(wait_for)? {
                // Framing only, or the end: decoded on the next pass.
                Fill::Bytes => {}
                Fill::Eof => self.eof = true,
                Fill::Nothing => match until {
                    None => return Ok(ReadResult::Pending),
                    Some(until) if Instant::now() >= until => return Ok(ReadResult::Pending),
                    // The host's limit between bytes, as wasi-http's
                    // `between-bytes-timeout`.
                    Some(_) if Instant::now() >= stall_at => return Err(self.exchange.stalled()),
                    // Woken a little early: wait for the rest.
                    Some(_) => {}
                },
            }
        }
        Err(self.exchange.invalid(&format!(
            "sent {MAX_READS_WITHOUT_DATA} pieces of framing without a byte of payload"
        )))
    }

    fn now(&self) -> Millis {
        now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;

    /// A server for one connection: it reads the request head, then runs
    /// `script` on the connection. Returns the URL to ask.
    fn serve_once(script: impl FnOnce(TcpStream) + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => return,
                }
            }
            script(stream);
        });
        format!("http://127.0.0.1:{port}/v1/models")
    }

    fn get(url: &str, timeout_ms: u64) -> Result<HttpResponse<TcpBody>, SendError> {
        TcpTransport.send(&HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms,
            deadline: Deadline::total(now_ms(), timeout_ms),
        })
    }

    const CHUNKED_HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

    #[test]
    fn reads_wait_as_told() {
        let (go, wait) = mpsc::channel::<&'static [u8]>();
        let url = serve_once(move |mut stream| {
            let _ = stream.write_all(CHUNKED_HEAD);
            while let Ok(bytes) = wait.recv_timeout(Duration::from_secs(10)) {
                if stream.write_all(bytes).is_err() {
                    return;
                }
            }
        });
        let mut body = get(&url, 5_000).expect("a head").body;

        let start = Instant::now();
        assert_eq!(body.read(Wait::No), Ok(ReadResult::Pending));
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "Wait::No did not wait"
        );

        go.send(b"5\r\nhel").expect("server");
        assert_eq!(
            body.read(Wait::Until(now_ms() + 5_000)),
            Ok(ReadResult::Data(b"hel".to_vec()))
        );
        go.send(b"lo\r\n").expect("server");
        assert_eq!(
            body.read(Wait::Until(now_ms() + 5_000)),
            Ok(ReadResult::Data(b"lo".to_vec()))
        );

        let start = Instant::now();
        assert_eq!(
            body.read(Wait::Until(now_ms() + 150)),
            Ok(ReadResult::Pending)
        );
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(140) && waited < Duration::from_secs(3),
            "waited {waited:?} for 150 ms"
        );
        // A moment already past: no wait, but what is there is taken.
        assert_eq!(body.read(Wait::Until(0)), Ok(ReadResult::Pending));
        go.send(b"1\r\n!\r\n").expect("server");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            body.read(Wait::Until(0)),
            Ok(ReadResult::Data(b"!".to_vec()))
        );

        go.send(b"0\r\n\r\n").expect("server");
        assert_eq!(
            body.read(Wait::Until(now_ms() + 5_000)),
            Ok(ReadResult::End)
        );
        assert_eq!(body.read(Wait::No), Ok(ReadResult::End));
    }

    #[test]
    fn a_silent_body_stalls_after_the_timeout() {
        let url = serve_once(|mut stream| {
            let _ = stream.write_all(CHUNKED_HEAD);
            std::thread::sleep(Duration::from_secs(3));
        });
        let mut body = get(&url, 200).expect("a head").body;
        let start = Instant::now();
        match body.read(Wait::Until(now_ms() + 10_000)) {
            Err(ProviderError::Timeout(message)) => {
                assert!(message.contains("stalled mid-reply"), "{message}");
                assert!(message.contains("0.2 s"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(190) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }

    #[test]
    fn a_silent_server_gets_the_first_byte_timeout() {
        let url = serve_once(|_stream| std::thread::sleep(Duration::from_secs(3)));
        match get(&url, 200).map(|_| ()) {
            Err(SendError {
                error: ProviderError::Timeout(message),
                unsent: false,
            }) => assert!(
                message.contains("sent no response within 0.2 s"),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_endless_head_is_refused() {
        let url = serve_once(|mut stream| {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n");
            let line = format!("x-filler: {}\r\n", "a".repeat(1000));
            for _ in 0..100 {
                if stream.write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
        });
        match get(&url, 5_000).map(|_| ()) {
            Err(SendError {
                error: ProviderError::InvalidResponse(message),
                ..
            }) => assert!(message.contains("larger than 65536 bytes"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_cut_short_is_an_invalid_response() {
        let url = serve_once(|mut stream| {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
        });
        let response = get(&url, 5_000).expect("a head");
        let mut body = response.body;
        assert_eq!(
            body.read(Wait::Until(now_ms() + 5_000)),
            Ok(ReadResult::Data(b"abc".to_vec()))
        );
        match body.read(Wait::Until(now_ms() + 5_000)) {
            Err(ProviderError::InvalidResponse(message)) => {
                assert!(message.contains("broke off mid-reply"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refused_connection_is_unsent() {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("address")
            .port();
        match get(&format!("http://127.0.0.1:{port}/v1/models"), 5_000).map(|_| ()) {
            Err(SendError {
                error: ProviderError::Connection(e),
                unsent: true,
            }) => assert!(e.message.contains("connection refused"), "{}", e.message),
            other => panic!("{other:?}"),
        }
    }

    fn exchange() -> Exchange {
        Exchange {
            authority: "h:1".into(),
            url: "http://h:1/v1/x".into(),
            timeout_ms: 1000,
        }
    }

    #[test]
    fn head_ends_are_found_across_reads() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\nbody", 0), Some(19));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\nbody", 0), Some(17));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r", 0), None);
        // Resumed where the last search stopped, even mid-terminator.
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\n", 17), Some(19));
    }

    #[test]
    fn heads_are_parsed() {
        let head = parse_head(
            b"HTTP/1.1 429 Too Many\r\nContent-Type: application/json\r\nretry-after:  3 \r\n\
              Transfer-Encoding: gzip\r\ntransfer-encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            &exchange(),
        )
        .expect("valid");
        assert_eq!(head.status, 429);
        assert_eq!(head.content_type.as_deref(), Some("application/json"));
        assert_eq!(head.retry_after.as_deref(), Some("3"));
        assert_eq!(head.transfer_encoding.as_deref(), Some("gzip,chunked"));
        assert_eq!(head.content_length, Some(5));
    }

    #[test]
    fn bad_heads_are_refused() {
        for (head, words) in [
            (&b"SSH-2.0-OpenSSH\r\n\r\n"[..], "not HTTP/1.x"),
            (b"HTTP/1.1 20 OK\r\n\r\n", "not HTTP/1.x"),
            (b"HTTP/1.1 abc OK\r\n\r\n", "invalid status"),
            (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "without a colon"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                "Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "two different",
            ),
        ] {
            match parse_head(head, &exchange()) {
                Err(ProviderError::InvalidResponse(message)) => {
                    assert!(message.contains(words), "{message}");
                }
                other => panic!("{head:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn requests_carry_host_and_length_and_refuse_injected_headers() {
        let url = HttpUrl::parse("http://127.0.0.1:8000/v1/chat/completions").expect("valid");
        let mut request = HttpRequest {
            method: Method::Post,
            url: "http://127.0.0.1:8000/v1/chat/completions".into(),
            headers: vec![("Accept".into(), "text/event-stream".into())],
            body: b"{}".to_vec(),
            timeout_ms: 1000,
            deadline: Deadline::total(0, 1000),
        };
        let wire = encode_request(&request, &url).expect("valid");
        assert_eq!(
            String::from_utf8_lossy(&wire),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
             Accept: text/event-stream\r\nContent-Length: 2\r\n\r\n{}"
        );
        request.headers.push(("X".into(), "a\r\nEvil: 1".into()));
        assert!(matches!(
            encode_request(&request, &url),
            Err(ProviderError::BadRequest(_))
        ));
    }
}
