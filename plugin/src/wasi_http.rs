//! The `Transport` over `wasi:http/outgoing-handler`: the only place the
//! provider touches the network, and so the only place a sandbox sees it.

use crate::deadline::{self, Millis};
use crate::error;
use crate::http_error;
use crate::transport::{
    HttpRequest, HttpResponse, Method as HttpMethod, ReadResult, ResponseBody, SendError,
    Transport, Wait, total_timeout_message,
};
use crate::url::HttpUrl;
use crate::wit::ProviderError;
use crate::wit::wasi::clocks::monotonic_clock;
use crate::wit::wasi::http::outgoing_handler;
use crate::wit::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use crate::wit::wasi::io::poll;
use crate::wit::wasi::io::streams::{InputStream, StreamError};

/// How much one read asks for; one crossing carries up to this much.
const READ_BYTES: u64 = 64 * 1024;
/// wasi-io lets one `blocking-write-and-flush` carry at most 4096 bytes.
const WRITE_BYTES: usize = 4096;
/// Most wake-ups one wait may take: a ready stream yields bytes or its end
/// on the next read, so a few are enough; more means a host that wakes
/// without anything to read, which must not turn into a busy loop.
const MAX_WAKEUPS: usize = 10_000;
const NANOS_PER_MILLI: u64 = 1_000_000;

/// The monotonic clock in milliseconds.
fn now_ms() -> Millis {
    monotonic_clock::now() / NANOS_PER_MILLI
}

/// A pollable that is ready when the monotonic clock reaches `at`.
fn timer(at: Millis) -> poll::Pollable {
    monotonic_clock::subscribe_instant(at.saturating_mul(NANOS_PER_MILLI))
}

/// The first value of header `name` of `fields`, as text.
fn header(fields: &Fields, name: &str) -> Option<String> {
    fields
        .get(name)
        .into_iter()
        .next()
        .map(|value| String::from_utf8_lossy(&value).into_owned())
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

/// Outgoing HTTP through the host.
#[derive(Debug, Default)]
pub struct WasiHttp;

/// A response body as wasi-io streams. Field order matters: the stream must
/// be dropped before its body, and the body before its response.
#[derive(Debug)]
pub struct WasiBody {
    stream: InputStream,
    _body: IncomingBody,
    _response: IncomingResponse,
    exchange: Exchange,
}

impl Transport for WasiHttp {
    type Body = WasiBody;

    fn send(&self, request: &HttpRequest) -> Result<HttpResponse<WasiBody>, SendError> {
        let url = HttpUrl::parse(&request.url).map_err(|reason| {
            ProviderError::InvalidResponse(format!("bad request URL: {reason}"))
        })?;
        let authority = url.host_port();
        let exchange = Exchange {
            authority: authority.clone(),
            url: request.url.clone(),
            timeout_ms: request.timeout_ms,
        };

        let headers = Fields::new();
        for (name, value) in &request.headers {
            headers.append(name, value.as_bytes()).map_err(|e| {
                ProviderError::BadRequest(format!(
                    "header {name} was refused by the host ({})",
                    http_error::header_error(&e)
                ))
            })?;
        }
        if request.method == HttpMethod::Post {
            headers
                .append("content-length", request.body.len().to_string().as_bytes())
                .map_err(|e| {
                    ProviderError::BadRequest(format!(
                        "content-length refused ({})",
                        http_error::header_error(&e)
                    ))
                })?;
        }
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method {
            HttpMethod::Get => Method::Get,
            HttpMethod::Post => Method::Post,
        };
        let scheme = if url.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let refused =
            |what: &str| ProviderError::BadRequest(format!("the host refused the request {what}"));
        outgoing
            .set_method(&method)
            .map_err(|()| refused("method"))?;
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| refused("scheme"))?;
        outgoing
            .set_authority(Some(&url.authority))
            .map_err(|()| refused("authority"))?;
        outgoing
            .set_path_with_query(Some(&url.path))
            .map_err(|()| refused("path"))?;

        let options = RequestOptions::new();
        let nanos = request.timeout_ms.saturating_mul(NANOS_PER_MILLI);
        let connect_nanos =
            deadline::connect_ms(request.timeout_ms).saturating_mul(NANOS_PER_MILLI);
        // A host may not support a timeout; the request still goes out (and
        // the total deadline below still holds).
        let _ = options.set_connect_timeout(Some(connect_nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));

        let body = outgoing.body().map_err(|()| refused("body"))?;
        let pending = outgoing_handler::handle(outgoing, Some(options))
            .map_err(|code| head_error(&code, &exchange))?;
        let written = write_body(&body, &request.body, &exchange);
        let write_failed = match written {
            Ok(()) => OutgoingBody::finish(body, None)
                .map_err(|code| map_error_code(&code, &exchange, Phase::Head))
                .err(),
            // Dropping the body unfinished tells the host the request is
            // incomplete.
            Err(error) => Some(error),
        };

        // The host gives up at its first-byte limit; the total deadline is
        // the plugin's own backstop for a host that does not. When the body
        // could not be written, the connection has most likely failed and
        // the response future already holds the reason (a refused
        // connection must still be known as one): wait for it only as long
        // as connecting may take.
        let until = match write_failed {
            Some(_) => now_ms()
                .saturating_add(deadline::connect_ms(request.timeout_ms))
                .min(request.deadline.at),
            None => request.deadline.at,
        };
        {
            let head = pending.subscribe();
            let timer = timer(until);
            poll::poll(&[&head, &timer]);
        }
        let response = match (pending.get(), write_failed) {
            (Some(Ok(Ok(response))), _) => response,
            (Some(Ok(Err(code))), _) => return Err(head_error(&code, &exchange)),
            (_, Some(write_error)) => return Err(write_error.into()),
            (None, None) if request.deadline.passed(now_ms()) => {
                return Err(ProviderError::Timeout(total_timeout_message(
                    &request.url,
                    request.deadline,
                ))
                .into());
            }
            (Some(Err(())) | None, None) => {
                return Err(ProviderError::InvalidResponse(
                    "the host lost the response to a request".into(),
                )
                .into());
            }
        };
        let status = response.status();
        let (content_type, retry_after, location, content_encoding) = {
            let headers = response.headers();
            (
                header(&headers, "content-type"),
                header(&headers, "retry-after"),
                header(&headers, "location"),
                header(&headers, "content-encoding"),
            )
        };
        let incoming = response.consume().map_err(|()| {
            ProviderError::InvalidResponse("the response body was already taken".into())
        })?;
        let stream = incoming.stream().map_err(|()| {
            ProviderError::InvalidResponse("the response body stream was already taken".into())
        })?;
        Ok(HttpResponse {
            status,
            content_type,
            retry_after,
            location,
            content_encoding,
            body: WasiBody {
                stream,
                _body: incoming,
                _response: response,
                exchange,
            },
        })
    }

    fn now(&self) -> Millis {
        now_ms()
    }

    fn sleep(&self, ms: Millis) {
        monotonic_clock::subscribe_duration(ms.saturating_mul(NANOS_PER_MILLI)).block();
    }

    fn jitter_seed(&self) -> u64 {
        // The nanoseconds differ between clients that failed "together";
        // that is all jitter needs (see `retry::jitter_permille`).
        monotonic_clock::now()
    }
}

/// Writes a request body in pieces the host accepts.
fn write_body(body: &OutgoingBody, bytes: &[u8], exchange: &Exchange) -> Result<(), ProviderError> {
    let stream = body.write().map_err(|()| {
        ProviderError::BadRequest("the host refused the request body stream".into())
    })?;
    for piece in bytes.chunks(WRITE_BYTES) {
        stream
            .blocking_write_and_flush(piece)
            .map_err(|e| stream_error(e, exchange, Phase::Head))?;
    }
    Ok(())
}

/// An error before the response head; a request that never reached the
/// server (the connection could not be made) is marked safe to send again.
fn head_error(code: &ErrorCode, exchange: &Exchange) -> SendError {
    SendError {
        error: map_error_code(code, exchange, Phase::Head),
        unsent: unsent(code),
    }
}

/// Whether `code` means no connection was made, so nothing was sent:
/// refused, the name did not resolve, the destination is unreachable. A
/// connect timeout is not among them (retrying would multiply a wait the
/// user already chose), nor is anything after connecting.
fn unsent(code: &ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ConnectionRefused
            | ErrorCode::DnsError(_)
            | ErrorCode::DnsTimeout
            | ErrorCode::DestinationNotFound
            | ErrorCode::DestinationUnavailable
            | ErrorCode::DestinationIpUnroutable
    )
}

impl WasiBody {
    /// One non-blocking read.
    fn read_now(&mut self) -> Result<ReadResult, ProviderError> {
        match self.stream.read(READ_BYTES) {
            Ok(bytes) if bytes.is_empty() => Ok(ReadResult::Pending),
            Ok(bytes) => Ok(ReadResult::Data(bytes)),
            Err(StreamError::Closed) => Ok(ReadResult::End),
            Err(e) => Err(stream_error(e, &self.exchange, Phase::Body)),
        }
    }
}

impl ResponseBody for WasiBody {
    fn read(&mut self, wait: Wait) -> Result<ReadResult, ProviderError> {
        let until = match wait {
            Wait::No => return self.read_now(),
            Wait::Until(until) => until,
        };
        for _ in 0..MAX_WAKEUPS {
            match self.read_now()? {
                ReadResult::Pending if now_ms() < until => {}
                other => return Ok(other),
            }
            // Both pollables are children of what they watch and are
            // dropped at the end of this block, before the stream can be.
            let ready = self.stream.subscribe();
            let timer = timer(until);
            poll::poll(&[&ready, &timer]);
        }
        Err(ProviderError::InvalidResponse(format!(
            "reading the response from {} stalled: the host woke the plugin {MAX_WAKEUPS} times \
             without data",
            self.exchange.url
        )))
    }

    fn now(&self) -> Millis {
        now_ms()
    }
}

/// Where in an exchange an error happened: a read timeout means another
/// thing before the response head than in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Body,
}

fn stream_error(error: StreamError, exchange: &Exchange, phase: Phase) -> ProviderError {
    let authority = exchange.authority.as_str();
    match error {
        StreamError::Closed => error::connection(authority, "the connection closed"),
        StreamError::LastOperationFailed(e) => {
            // The host's words may carry a backtrace on the lines after
            // the first: internals no user needs.
            let full = e.to_debug_string();
            let detail = full.lines().next().unwrap_or_default().trim();
            match crate::wit::wasi::http::types::http_error_code(&e)
                .or_else(|| code_from_words(detail))
            {
                Some(code) => map_error_code(&code, exchange, phase),
                None => ProviderError::InvalidResponse(format!(
                    "reading from {authority} failed: {detail}"
                )),
            }
        }
    }
}

/// The code of a read error the host reported only in words. wasmtime's
/// wasi-http (48) fails a response body read with its own error type, which
/// `http-error-code` does not recognise, so a timeout between bytes arrives
/// as the text "connection read timeout"; it must still be a timeout.
fn code_from_words(detail: &str) -> Option<ErrorCode> {
    let detail = detail.to_ascii_lowercase();
    if detail.contains("connection read timeout") {
        Some(ErrorCode::ConnectionReadTimeout)
    } else if detail.contains("http response timeout") {
        Some(ErrorCode::HttpResponseTimeout)
    } else if detail.contains("error reading a body from connection")
        || detail.contains("connection reset")
    {
        // hyper's words for a connection that broke mid-body (a reset, or
        // the end of the connection before the body's end).
        Some(ErrorCode::ConnectionTerminated)
    } else if detail.contains("body size exceeds limit") {
        // "HTTP response body size exceeds limit: N bytes"
        let limit = detail
            .split("exceeds limit")
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|digits| digits.parse().ok());
        Some(ErrorCode::HttpResponseBodySize(limit))
    } else {
        None
    }
}

/// wasi-http's error codes, in a user's words.
fn map_error_code(code: &ErrorCode, exchange: &Exchange, phase: Phase) -> ProviderError {
    let authority = exchange.authority.as_str();
    let url = exchange.url.as_str();
    let limit = deadline::seconds(exchange.timeout_ms);
    match code {
        ErrorCode::HttpResponseBodySize(limit) => ProviderError::InvalidResponse(format!(
            "the host cut the response from {url} at its limit of {} bytes: the reply is \
             larger than this host accepts from a plugin's server",
            limit.map_or_else(|| "?".to_owned(), |l| l.to_string())
        )),
        ErrorCode::HttpRequestDenied => ProviderError::Denied(format!(
            "the sandbox refused a request to {authority}: this plugin may only reach the \
             authority of its configured baseUrl"
        )),
        ErrorCode::ConnectionRefused => error::connection(authority, "connection refused"),
        ErrorCode::DnsError(_) | ErrorCode::DnsTimeout => {
            error::connection(authority, "the host name could not be resolved")
        }
        ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable => {
            error::connection(authority, "the destination is unreachable")
        }
        // The reply had begun: whatever broke, it is not "cannot connect".
        ErrorCode::ConnectionTerminated
        | ErrorCode::HttpResponseIncomplete
        | ErrorCode::HttpProtocolError
            if phase == Phase::Body =>
        {
            let how = match code {
                ErrorCode::HttpProtocolError => "its framing broke (e.g. bad chunked encoding)",
                _ => "the connection was closed",
            };
            ProviderError::InvalidResponse(format!(
                "the reply from {url} broke off mid-reply: {how}, by the server or a proxy in \
                 between; send the request again, and read the vLLM server's log if it keeps \
                 happening"
            ))
        }
        ErrorCode::HttpResponseHeaderSectionSize(_) | ErrorCode::HttpResponseHeaderSize(_) => {
            ProviderError::InvalidResponse(format!(
                "the response head from {url} is larger than the host accepts ({}): something \
                 between here and vLLM (a proxy or gateway) adds very large headers; point \
                 baseUrl at vLLM itself",
                http_error::describe(code)
            ))
        }
        ErrorCode::ConnectionTerminated | ErrorCode::HttpResponseIncomplete => {
            error::connection(authority, "the connection was closed by the server")
        }
        ErrorCode::ConnectionTimeout => ProviderError::Timeout(format!(
            "connecting to {authority} timed out after {} (the connect limit: timeoutSeconds, \
             at most {}): check that vLLM is running there and reachable, or raise \
             timeoutSeconds",
            deadline::seconds(deadline::connect_ms(exchange.timeout_ms)),
            deadline::seconds(deadline::MAX_CONNECT_MS)
        )),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout
            if phase == Phase::Head =>
        {
            ProviderError::Timeout(format!(
                "{url} sent no response within {limit} (timeoutSeconds, the first-byte limit): \
                 the server may be overloaded; raise timeoutSeconds if it is just slow"
            ))
        }
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            ProviderError::Timeout(format!(
                "{url} stalled mid-reply: nothing arrived for {limit} (timeoutSeconds, the limit \
                 between bytes): the server may be stuck or overloaded; raise timeoutSeconds if \
                 it is just slow"
            ))
        }
        ErrorCode::ConnectionWriteTimeout => ProviderError::Timeout(format!(
            "sending the request to {url} timed out: raise timeoutSeconds if the server is just \
             slow"
        )),
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => {
            ProviderError::Connection(crate::wit::ConnectionError {
                authority: authority.to_owned(),
                message: format!(
                    "the TLS handshake with {authority} failed ({}): check the https:// base URL \
                     and the server's certificate",
                    http_error::describe(code)
                ),
            })
        }
        other => ProviderError::InvalidResponse(format!(
            "the HTTP exchange with {authority} failed: {}",
            http_error::describe(other)
        )),
    }
}
