//! The seam between the provider's logic and the network.
//!
//! In the component this is wasi-http; in native tests and tools it can be
//! anything that moves bytes. The logic above it never knows which.

use crate::wit::ProviderError;

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
    /// Timeout for connecting, for the first byte and for each gap between bytes.
    pub timeout_ms: u64,
}

/// The head of a response and its body, still to be read.
#[derive(Debug)]
pub struct HttpResponse<B> {
    /// The status code.
    pub status: u16,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: B,
}

/// What one read of a body gave.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadResult {
    /// Some bytes (never empty).
    Data(Vec<u8>),
    /// Nothing has arrived yet (only when not blocking).
    Pending,
    /// The body is complete.
    End,
}

/// A response body being read.
pub trait ResponseBody {
    /// Read what has arrived; when `block` is set, wait for at least one byte
    /// or the end.
    fn read(&mut self, block: bool) -> Result<ReadResult, ProviderError>;
}

/// Something that sends requests.
pub trait Transport {
    /// The body type of its responses.
    type Body: ResponseBody;
    /// Send a request and wait for the response head.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse<Self::Body>, ProviderError>;
}

/// Read a whole body, refusing one larger than `limit` bytes.
pub fn read_all(
    body: &mut impl ResponseBody,
    limit: usize,
    url: &str,
) -> Result<Vec<u8>, ProviderError> {
    let mut all = Vec::new();
    loop {
        match body.read(true)? {
            ReadResult::Data(bytes) => {
                if all.len() + bytes.len() > limit {
                    return Err(ProviderError::InvalidResponse(format!(
                        "the response from {url} is larger than {limit} bytes (the limit)"
                    )));
                }
                all.extend_from_slice(&bytes);
            }
            ReadResult::End => return Ok(all),
            // A blocking read that reports nothing is a transport bug; end
            // rather than spin.
            ReadResult::Pending => {
                return Err(ProviderError::InvalidResponse(format!(
                    "reading the response from {url} stalled"
                )));
            }
        }
    }
}

#[cfg(test)]
pub mod testing {
    //! A transport that replays canned responses, for unit tests of the client.

    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// A canned body, read in the given pieces.
    #[derive(Debug)]
    pub struct CannedBody(pub VecDeque<Vec<u8>>);

    impl ResponseBody for CannedBody {
        fn read(&mut self, _block: bool) -> Result<ReadResult, ProviderError> {
            Ok(match self.0.pop_front() {
                Some(bytes) => ReadResult::Data(bytes),
                None => ReadResult::End,
            })
        }
    }

    /// A canned response: status, content type, body pieces.
    pub type Canned = (u16, &'static str, Vec<Vec<u8>>);

    /// Replays responses in order and records every request.
    #[derive(Debug, Default)]
    pub struct Replay {
        /// Responses still to give.
        pub responses: RefCell<VecDeque<Canned>>,
        /// Requests seen.
        pub seen: RefCell<Vec<HttpRequest>>,
    }

    impl Replay {
        /// A replay of these responses.
        pub fn new(responses: Vec<Canned>) -> Self {
            Self {
                responses: RefCell::new(responses.into()),
                seen: RefCell::default(),
            }
        }
    }

    impl Transport for Replay {
        type Body = CannedBody;
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse<CannedBody>, ProviderError> {
            self.seen.borrow_mut().push(request.clone());
            let (status, content_type, pieces) =
                self.responses.borrow_mut().pop_front().ok_or_else(|| {
                    ProviderError::InvalidResponse("no canned response left".into())
                })?;
            Ok(HttpResponse {
                status,
                content_type: Some(content_type.to_owned()),
                body: CannedBody(pieces.into()),
            })
        }
    }
}
