//! The outgoing-HTTP policy: one allowed authority and bounded responses.
//!
//! Every `wasi:http/outgoing-handler.handle` call of the plugin ends in
//! [`HttpPolicy::send_request`]. A request whose authority (host and port,
//! the port defaulting by scheme) is not the resolved base URL's gets
//! `HttpRequestDenied` without touching the network; a scheme other than
//! `http` or `https` is refused too. Between those two the scheme is not
//! compared, only where the bytes go. `resolve-config` runs with no allowed
//! authority at all. Allowed requests go out through [`crate::outgoing`],
//! and their response bodies are cut off with `HttpResponseBodySize` once
//! they pass the configured byte limit.

use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::authority::Authority;

type ResponseFuture = Box<dyn Future<Output = Result<crate::outgoing::Sent, HttpError>> + Send>;

/// Where the plugin may send requests, and how much it may read back.
#[derive(Debug, Clone)]
pub(crate) struct HttpPolicy {
    allowed: Option<Authority>,
    max_response_bytes: u64,
    /// Authorities of refused requests, in order, for the error report.
    pub(crate) denied: Vec<String>,
}

impl HttpPolicy {
    /// A policy that allows `allowed` (none: nothing) and bounds bodies.
    pub(crate) fn new(allowed: Option<Authority>, max_response_bytes: u64) -> Self {
        Self {
            allowed,
            max_response_bytes,
            denied: Vec::new(),
        }
    }

    /// The largest response body allowed, in bytes.
    pub(crate) fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// Whether a request to `uri` may leave the sandbox.
    pub(crate) fn permits(&self, uri: &http::Uri) -> bool {
        match (&self.allowed, Authority::from_uri(uri)) {
            (Some(allowed), Ok(target)) => *allowed == target,
            _ => false,
        }
    }
}

impl WasiHttpHooks for HttpPolicy {
    /// Only `http` and `https`; any other scheme is refused (and recorded)
    /// before a request exists.
    fn is_supported_scheme(&mut self, scheme: &http::uri::Scheme) -> bool {
        let supported = *scheme == http::uri::Scheme::HTTP || *scheme == http::uri::Scheme::HTTPS;
        if !supported {
            self.denied.push(format!(
                "a {scheme}:// URL (only http and https are allowed)"
            ));
        }
        supported
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        if !self.permits(request.uri()) {
            let target = match Authority::from_uri(request.uri()) {
                Ok(target) => target.to_string(),
                Err(_) => request
                    .uri()
                    .authority()
                    .map_or_else(|| request.uri().to_string(), |a| a.to_string()),
            };
            self.denied.push(target);
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let limit = self.max_response_bytes;
        Box::new(crate::outgoing::send(request, options, limit))
    }

    /// The wasi-http code that says what went wrong, where hyper knows:
    /// wasmtime's default calls every hyper error a protocol error, which
    /// leaves the plugin unable to tell a too-large head or a reply cut
    /// short from garbage on the wire.
    fn p2_error_from_hyper(&mut self, err: &hyper::Error) -> ErrorCode {
        if err.is_parse_too_large() {
            ErrorCode::HttpResponseHeaderSectionSize(None)
        } else if err.is_incomplete_message() {
            ErrorCode::HttpResponseIncomplete
        } else if err.is_timeout() {
            ErrorCode::HttpResponseTimeout
        } else {
            ErrorCode::HttpProtocolError
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    fn uri(s: &str) -> http::Uri {
        s.parse().expect("test URI")
    }

    fn policy(base: &str) -> HttpPolicy {
        HttpPolicy::new(Some(Authority::from_url(base).expect("base URL")), 1024)
    }

    #[test]
    fn only_the_base_url_authority_passes() {
        let p = policy("http://127.0.0.1:8000/v1");
        assert!(p.permits(&uri("http://127.0.0.1:8000/v1/models")));
        assert!(!p.permits(&uri("http://127.0.0.1:8001/v1/models")));
        assert!(!p.permits(&uri("http://localhost:8000/v1/models")));
        assert!(!p.permits(&uri("http://169.254.169.254/latest/meta-data")));
    }

    #[test]
    fn default_ports_match_explicit_ones() {
        let p = policy("https://api.example.com/v1");
        assert!(p.permits(&uri("https://api.example.com:443/v1/chat/completions")));
        assert!(p.permits(&uri("http://API.example.com:443/v1")));
        assert!(!p.permits(&uri("http://api.example.com/v1")));
    }

    #[test]
    fn ipv6_base_urls() {
        let p = policy("http://[::1]:8000/v1");
        assert!(p.permits(&uri("http://[0:0::1]:8000/v1/models")));
        assert!(!p.permits(&uri("http://[::2]:8000/v1/models")));
    }

    #[test]
    fn no_allowed_authority_denies_everything() {
        let p = HttpPolicy::new(None, 1024);
        assert!(!p.permits(&uri("http://127.0.0.1:8000/v1/models")));
    }

    #[tokio::test]
    async fn denied_requests_never_connect_and_are_recorded() {
        let mut p = policy("http://127.0.0.1:8000/v1");
        let request = http::Request::builder()
            .uri("http://evil.example:80/steal")
            .body(
                Full::new(Bytes::new())
                    .map_err(|e| match e {})
                    .boxed_unsync(),
            )
            .expect("request");
        let result = Pin::from(p.send_request(request, None, Box::new(async { Ok(()) }))).await;
        assert!(matches!(result, Err(HttpError::HttpRequestDenied)));
        assert_eq!(p.denied, vec!["evil.example:80".to_owned()]);
    }
}
