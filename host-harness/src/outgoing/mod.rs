//! Sending the requests the sandbox lets out, and the bodies the plugin
//! reads back.
//!
//! wasmtime's default sender drives each connection in a task of its own,
//! so every body frame is handed from that task to the one running the
//! plugin: on a multi-threaded runtime, a thread wake-up per frame, which
//! at thousands of streamed events per second costs more than the plugin's
//! own work. For plain `http://`, what a local vLLM speaks, this sender moves
//! the connection into the response body instead ([`driven`]): whoever reads
//! the body drives the socket, in the same task, with no hand-off.
//! `https://` goes through wasmtime's default sender, where TLS outweighs
//! the hand-off.
//!
//! Either way the body the plugin reads is bounded ([`limit`]) and batched
//! ([`batch`]): frames that have already arrived are handed over together,
//! so one read crossing into the plugin carries all of them.
//!
//! Timeouts and errors are wasmtime's own, so the plugin sees the same
//! error codes whichever sender ran: connect (`ConnectionTimeout`, or
//! `Connect` with the socket error), first byte and between frames
//! (`ConnectionReadTimeout`), protocol failures (`Hyper`).

mod batch;
mod driven;
mod limit;

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

pub(crate) use batch::Batched;
pub(crate) use driven::DrivenBody;
pub(crate) use limit::LimitedBody;

/// What the sandbox's `send_request` hook returns: the response, and a
/// future that drives the connection's I/O (nothing left to do when the
/// body drives it).
pub(crate) type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

/// wasmtime's defaults when the plugin sets no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest timeout honoured: the plugin chooses its timeouts, and a
/// deadline past what a clock can hold must not overflow in the host.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// The timeouts of one request, from the plugin's request options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// Connecting, and the HTTP/1.1 handshake.
    pub(crate) connect: Duration,
    /// From the request's start to the response head.
    pub(crate) first_byte: Duration,
    /// The longest gap between body frames.
    pub(crate) between_frames: Duration,
}

impl Timeouts {
    pub(crate) fn of(options: Option<&RequestOptions>) -> Self {
        let pick = |value: Option<Duration>| value.unwrap_or(DEFAULT_TIMEOUT).min(MAX_TIMEOUT);
        Self {
            connect: pick(options.and_then(|o| o.connect_timeout)),
            first_byte: pick(options.and_then(|o| o.first_byte_timeout)),
            // tokio's timers need a non-zero duration; a zero timeout means
            // "no waiting at all", which a nanosecond is.
            between_frames: pick(options.and_then(|o| o.between_bytes_timeout))
                .max(Duration::from_nanos(1)),
        }
    }
}

/// Sends `request` (already allowed by the sandbox) and returns its
/// response, whose body fails past `limit` bytes.
pub(crate) async fn send(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    limit: u64,
) -> Result<Sent, HttpError> {
    if request.uri().scheme() != Some(&Scheme::HTTP) {
        let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
        let response = response.map(|body| plugin_body(body.boxed_unsync(), limit));
        return Ok((response, Box::new(io)));
    }
    let timeouts = Timeouts::of(options.as_ref());
    let response = send_plain(request, timeouts).await?;
    let response = response.map(|body| plugin_body(body, limit));
    Ok((response, Box::new(async { Ok(()) })))
}

/// The body the plugin reads: bounded, and batched.
fn plugin_body<B>(body: B, limit: u64) -> WasiBody
where
    B: http_body::Body<Data = bytes::Bytes, Error = HttpError> + Unpin + Send + 'static,
{
    Batched::new(LimitedBody::new(body, limit)).boxed_unsync()
}

/// An `http://` request over a connection of its own, whose response body
/// carries the connection.
async fn send_plain(
    mut request: http::Request<WasiBody>,
    timeouts: Timeouts,
) -> Result<http::Response<DrivenBody>, HttpError> {
    let uri = request.uri();
    let authority = uri.authority().ok_or(HttpError::HttpRequestUriInvalid)?;
    let authority = match authority.port() {
        Some(_) => authority.to_string(),
        None => format!("{authority}:80"),
    };
    // On the wire the request line carries only the path: the scheme and
    // authority are for proxies.
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;

    let stream = tokio::time::timeout(timeouts.connect, TcpStream::connect(&authority))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::Connect)?;
    // The request's head and body go out at once, not after Nagle's delay.
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = tokio::time::timeout(
        timeouts.connect,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;

    let mut conn = Some(Box::pin(conn));
    let mut response = std::pin::pin!(sender.send_request(request));
    // The connection writes the request and reads the head only while it
    // is polled: drive both here until the head is in.
    let head = poll_fn(|cx| {
        if let Poll::Ready(result) = response.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if let Some(io) = conn.as_mut()
            && let Poll::Ready(ended) = io.as_mut().poll(cx)
        {
            conn = None;
            // The connection ended first: the response future now holds
            // why (or, after a clean end, the head that came with it).
            ended?;
            return response.as_mut().poll(cx);
        }
        Poll::Pending
    });
    let head = tokio::time::timeout(timeouts.first_byte, head)
        .await
        .map_err(|_| HttpError::ConnectionReadTimeout)??;
    // No more requests on this connection: it ends with this body.
    drop(sender);
    Ok(head.map(|incoming| DrivenBody::new(incoming, conn, timeouts.between_frames)))
}

#[cfg(test)]
mod tests;
