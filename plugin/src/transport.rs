//! The seam between the provider's logic and the network.
//!
//! In the component this is wasi-http; in native tests and tools it can be
//! anything that moves bytes. The logic above it never knows which.

use crate::deadline::{self, Deadline};
use crate::wit::ProviderError;

pub use crate::deadline::Millis;

// Natively only: the tests and examples answer with it, and the component
// must not carry it.
#[cfg(not(target_arch = "wasm32"))]
pub mod replay;

/// The largest whole response body read into memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// An HTTP method the provider uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

/// One outgoing request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for GET).
    pub body: Vec<u8>,
    /// `timeoutSeconds` in milliseconds (T): the limit for the first byte
    /// and for each gap between bytes; connecting gets
    /// [`deadline::connect_ms`] of it.
    pub timeout_ms: u64,
    /// When the whole exchange must be over ([`deadline::TOTAL_FACTOR`] × T
    /// from its start); a transport stops waiting for the response head then.
    pub deadline: Deadline,
}

/// The head of a response and its body, still to be read.
#[derive(Debug)]
pub struct HttpResponse<B> {
    /// The status code.
    pub status: u16,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The `retry-after` header, if any, as sent (a 429 or a 5xx may say how
    /// long to wait before trying again).
    pub retry_after: Option<String>,
    /// The `location` header of a redirect, if any, as sent.
    pub location: Option<String>,
    /// The `content-encoding` header, if any: the provider asks for none,
    /// so anything but `identity` means a body it cannot read.
    pub content_encoding: Option<String>,
    /// The body.
    pub body: B,
}

/// Why a request got no response head.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    /// What failed, in the user's words.
    pub error: ProviderError,
    /// `true` when no byte of the request reached the server: the
    /// connection could not be made (refused, the name did not resolve,
    /// the destination is unreachable). Such a request is safe to send
    /// again; anything that failed later (a timeout, a connection lost
    /// after the request went out) is not.
    pub unsent: bool,
}

impl SendError {
    /// A failure before any byte was sent.
    pub fn unsent(error: ProviderError) -> Self {
        Self {
            error,
            unsent: true,
        }
    }
}

impl From<ProviderError> for SendError {
    /// A failure that may have happened after the request went out.
    fn from(error: ProviderError) -> Self {
        Self {
            error,
            unsent: false,
        }
    }
}

impl From<SendError> for ProviderError {
    fn from(error: SendError) -> Self {
        error.error
    }
}

/// What one read of a body gave.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadResult {
    /// Some bytes (never empty).
    Data(Vec<u8>),
    /// Nothing arrived: at once ([`Wait::No`]) or before the clock reached
    /// the time waited for ([`Wait::Until`]).
    Pending,
    /// The body is complete.
    End,
}

/// How long a read may wait for the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Return what has arrived, [`ReadResult::Pending`] when nothing has.
    No,
    /// Wait for at least one byte or the end, but not past this moment of
    /// the transport's clock: then [`ReadResult::Pending`]. Bytes already
    /// there are returned even when the moment has passed.
    Until(Millis),
}

/// A response body being read.
pub trait ResponseBody {
    /// Read what has arrived, waiting as `wait` says.
    fn read(&mut self, wait: Wait) -> Result<ReadResult, ProviderError>;
    /// The transport's monotonic clock, in milliseconds.
    fn now(&self) -> Millis;
}

/// Something that sends requests.
pub trait Transport {
    /// The body type of its responses.
    type Body: ResponseBody;
    /// Send a request once and wait for the response head.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse<Self::Body>, SendError>;
    /// The monotonic clock its bodies read, in milliseconds.
    fn now(&self) -> Millis;
    /// Block for `ms` milliseconds of that clock (the wait before a retry).
    fn sleep(&self, ms: Millis);
    /// Bits that differ from one call to the next and between clients, to
    /// jitter retries (the monotonic clock in nanoseconds will do). Not
    /// secure and never used where it would have to be.
    fn jitter_seed(&self) -> u64;
}

/// The words of a timeout of a request to `url` still going at its total
/// `deadline`: the URL, the limit, and what to do.
pub fn total_timeout_message(url: &str, deadline: Deadline) -> String {
    format!(
        "the reply from {url} did not complete within {} ({} × timeoutSeconds): the server \
         is sending it too slowly; raise timeoutSeconds if the model is just slow",
        deadline::seconds(deadline.limit_ms),
        deadline::TOTAL_FACTOR
    )
}

/// Read a whole body, refusing one larger than `limit` bytes or one still
/// arriving at `deadline` (a [`ProviderError::Timeout`] that names the URL
/// and the limit).
pub fn read_all(
    body: &mut impl ResponseBody,
    limit: usize,
    url: &str,
    deadline: Deadline,
) -> Result<Vec<u8>, ProviderError> {
    let mut all = Vec::new();
    loop {
        // A server that keeps dribbling bytes never lets a read report
        // Pending: look at the clock after every piece too.
        if deadline.passed(body.now()) {
            return Err(ProviderError::Timeout(total_timeout_message(url, deadline)));
        }
        match body.read(Wait::Until(deadline.at))? {
            ReadResult::Data(bytes) => {
                if all.len() + bytes.len() > limit {
                    return Err(ProviderError::InvalidResponse(format!(
                        "the response from {url} is larger than {limit} bytes (the limit)"
                    )));
                }
                all.extend_from_slice(&bytes);
            }
            ReadResult::End => return Ok(all),
            ReadResult::Pending => {
                return Err(ProviderError::Timeout(total_timeout_message(url, deadline)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replay::canned;
    use super::*;

    #[test]
    fn read_all_gives_up_at_its_deadline_and_names_it() {
        // A body dribbled a byte every 30 ms never stops moving, but
        // takes 3 s in all; T = 100 ms allows 1 s.
        let pieces: Vec<(Millis, &str)> = (1..=100).map(|i| (i * 30, "x")).collect();
        let (_replay, mut body) = canned(pieces, Some(3_100));
        let deadline = Deadline::total(body.now(), 100);
        let error =
            read_all(&mut body, MAX_BODY_BYTES, "http://h:1/x", deadline).expect_err("too slow");
        match error {
            ProviderError::Timeout(message) => {
                assert!(message.contains("http://h:1/x"), "{message}");
                assert!(message.contains("1 s (10 × timeoutSeconds)"), "{message}");
                assert!(message.contains("raise timeoutSeconds"), "{message}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(body.now() <= deadline.at + 30, "stopped at the deadline");

        // A body that stalls is cut at the deadline too.
        let (_replay, mut body) = canned(vec![(5, "{")], None);
        let deadline = Deadline::total(body.now(), 100);
        assert!(matches!(
            read_all(&mut body, MAX_BODY_BYTES, "http://h:1/x", deadline),
            Err(ProviderError::Timeout(_))
        ));
        assert_eq!(body.now(), deadline.at);

        // One in time is read whole.
        let (_replay, mut body) = canned(vec![(5, "ab"), (900, "c")], Some(950));
        let deadline = Deadline::total(body.now(), 100);
        assert_eq!(
            read_all(&mut body, MAX_BODY_BYTES, "http://h:1/x", deadline),
            Ok(b"abc".to_vec())
        );
    }
}
