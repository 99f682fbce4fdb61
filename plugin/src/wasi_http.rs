//! The `Transport` over `wasi:http/outgoing-handler`: the only place the
//! provider touches the network, and so the only place a sandbox sees it.

use crate::error;
use crate::transport::{
    HttpRequest, HttpResponse, Method as HttpMethod, ReadResult, ResponseBody, Transport,
};
use crate::url::HttpUrl;
use crate::wit::ProviderError;
use crate::wit::wasi::http::outgoing_handler;
use crate::wit::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use crate::wit::wasi::io::streams::{InputStream, StreamError};

/// How much one read asks for; one crossing carries up to this much.
const READ_BYTES: u64 = 64 * 1024;
/// wasi-io lets one `blocking-write-and-flush` carry at most 4096 bytes.
const WRITE_BYTES: usize = 4096;

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
    authority: String,
}

impl Transport for WasiHttp {
    type Body = WasiBody;

    fn send(&self, request: &HttpRequest) -> Result<HttpResponse<WasiBody>, ProviderError> {
        let url = HttpUrl::parse(&request.url).map_err(|reason| {
            ProviderError::InvalidResponse(format!("bad request URL: {reason}"))
        })?;
        let authority = url.host_port();

        let headers = Fields::new();
        for (name, value) in &request.headers {
            headers.append(name, value.as_bytes()).map_err(|e| {
                ProviderError::BadRequest(format!("header {name} was refused by the host ({e:?})"))
            })?;
        }
        if request.method == HttpMethod::Post {
            headers
                .append("content-length", request.body.len().to_string().as_bytes())
                .map_err(|e| {
                    ProviderError::BadRequest(format!("content-length refused ({e:?})"))
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
        let nanos = request.timeout_ms.saturating_mul(1_000_000);
        // A host may not support a timeout; the request still goes out.
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));

        let body = outgoing.body().map_err(|()| refused("body"))?;
        let pending = outgoing_handler::handle(outgoing, Some(options))
            .map_err(|code| map_error_code(&code, &authority))?;
        {
            let stream = body.write().map_err(|()| refused("body stream"))?;
            for piece in request.body.chunks(WRITE_BYTES) {
                stream
                    .blocking_write_and_flush(piece)
                    .map_err(|e| stream_error(e, &authority))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|code| map_error_code(&code, &authority))?;

        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(map_error_code(&code, &authority)),
            Some(Err(())) | None => {
                return Err(ProviderError::InvalidResponse(
                    "the host lost the response to a request".into(),
                ));
            }
        };
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .into_iter()
            .next()
            .map(|value| String::from_utf8_lossy(&value).into_owned());
        let incoming = response.consume().map_err(|()| {
            ProviderError::InvalidResponse("the response body was already taken".into())
        })?;
        let stream = incoming.stream().map_err(|()| {
            ProviderError::InvalidResponse("the response body stream was already taken".into())
        })?;
        Ok(HttpResponse {
            status,
            content_type,
            body: WasiBody {
                stream,
                _body: incoming,
                _response: response,
                authority,
            },
        })
    }
}

impl ResponseBody for WasiBody {
    fn read(&mut self, block: bool) -> Result<ReadResult, ProviderError> {
        let result = if block {
            self.stream.blocking_read(READ_BYTES)
        } else {
            self.stream.read(READ_BYTES)
        };
        match result {
            Ok(bytes) if bytes.is_empty() => Ok(ReadResult::Pending),
            Ok(bytes) => Ok(ReadResult::Data(bytes)),
            Err(StreamError::Closed) => Ok(ReadResult::End),
            Err(e) => Err(stream_error(e, &self.authority)),
        }
    }
}

fn stream_error(error: StreamError, authority: &str) -> ProviderError {
    match error {
        StreamError::Closed => error::connection(authority, "the connection closed"),
        StreamError::LastOperationFailed(e) => {
            match crate::wit::wasi::http::types::http_error_code(&e) {
                Some(code) => map_error_code(&code, authority),
                None => ProviderError::InvalidResponse(format!(
                    "reading from {authority} failed: {}",
                    e.to_debug_string()
                )),
            }
        }
    }
}

/// wasi-http's error codes, in a user's words.
fn map_error_code(code: &ErrorCode, authority: &str) -> ProviderError {
    match code {
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
        ErrorCode::ConnectionTerminated => {
            error::connection(authority, "the connection was closed by the server")
        }
        ErrorCode::ConnectionTimeout => ProviderError::Timeout(format!(
            "connecting to {authority} timed out: check that vLLM is running there, or raise \
             timeoutSeconds"
        )),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            ProviderError::Timeout(format!(
                "{authority} did not answer in time: the server may be overloaded; raise \
                 timeoutSeconds if it is just slow"
            ))
        }
        ErrorCode::ConnectionWriteTimeout => {
            ProviderError::Timeout(format!("sending the request to {authority} timed out"))
        }
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => {
            ProviderError::Connection(crate::wit::ConnectionError {
                authority: authority.to_owned(),
                message: format!(
                    "the TLS handshake with {authority} failed ({code:?}): check the https:// base \
                 URL and the server's certificate"
                ),
            })
        }
        other => ProviderError::InvalidResponse(format!(
            "the HTTP exchange with {authority} failed: {other:?}"
        )),
    }
}
