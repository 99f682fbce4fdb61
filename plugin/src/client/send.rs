//! Sending a request, and sending it again while the server surely did
//! not act on it (see [`crate::retry`]).

use crate::deadline::Deadline;
use crate::retry::{self, Failure, Plan};
use crate::transport::{HttpRequest, HttpResponse, Method, SendError, Transport};
use crate::wit::ProviderError;

use super::{Client, unusable_reply};

/// Which answers a call sends again (besides connections that could not
/// be made, which every call retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RetryOn {
    /// 429 and 5xx ([`retry::is_retry_status`]): an error before any reply,
    /// which a model call may safely be sent again after.
    Busy,
    /// 429 only: for the `/health` and `/version` probes, whose 503 is the
    /// very answer they look for (vLLM's engine is down or not ready).
    RateLimit,
}

impl RetryOn {
    fn covers(self, status: u16) -> bool {
        match self {
            Self::Busy => retry::is_retry_status(status),
            Self::RateLimit => status == 429,
        }
    }
}

/// A response head after any retries.
#[derive(Debug)]
pub(super) struct Sent<B> {
    pub(super) response: HttpResponse<B>,
    /// For a retried status that was not sent again: why (`after 3 attempts`, ...),
    /// for the error's words.
    pub(super) gave_up: Option<String>,
}

/// `error`, with the note on why it was not retried when there is one.
pub(super) fn final_error(error: ProviderError, gave_up: Option<&str>) -> ProviderError {
    match gave_up {
        Some(note) => retry::give_up(error, note),
        None => error,
    }
}

impl<T: Transport> Client<'_, T> {
    /// Sends `request`, and sends it again (see [`crate::retry`]) while the
    /// connection could not be made or the server answers a status that
    /// `retry_on` covers, at most [`retry::MAX_ATTEMPTS`] times in all and
    /// never past the request's total deadline. Every attempt shares that
    /// deadline. Nothing is retried once any other response head arrived.
    pub(super) fn send(
        &self,
        request: &HttpRequest,
        retry_on: RetryOn,
    ) -> Result<Sent<T::Body>, ProviderError> {
        let mut attempt = 1;
        loop {
            let wait = match self.transport.send(request) {
                Ok(response) if retry_on.covers(response.status) => {
                    let failure = Failure::Status {
                        status: response.status,
                        retry_after: response.retry_after.as_deref(),
                    };
                    match self.plan(attempt, failure, request) {
                        Plan::Wait(ms) => ms,
                        Plan::GiveUp(note) => {
                            return Ok(Sent {
                                response,
                                gave_up: Some(note),
                            });
                        }
                    }
                }
                Ok(response) => {
                    unusable_reply::check(
                        response.status,
                        response.location.as_deref(),
                        response.content_encoding.as_deref(),
                        &request.url,
                        &self.config.base_url,
                    )?;
                    return Ok(Sent {
                        response,
                        gave_up: None,
                    });
                }
                Err(SendError {
                    error,
                    unsent: true,
                }) => match self.plan(attempt, Failure::Unsent, request) {
                    Plan::Wait(ms) => ms,
                    Plan::GiveUp(note) => return Err(retry::give_up(error, &note)),
                },
                Err(SendError { error, .. }) => return Err(error),
            };
            // A retried response is dropped here, which closes its
            // connection before the wait.
            self.transport.sleep(wait);
            attempt += 1;
        }
    }

    fn plan(&self, attempt: u32, failure: Failure<'_>, request: &HttpRequest) -> Plan {
        retry::plan(
            attempt,
            failure,
            self.transport.now(),
            request.deadline,
            self.transport.jitter_seed(),
        )
    }

    /// A request that starts now: its total deadline is
    /// [`deadline::TOTAL_FACTOR`] × `timeoutSeconds` from this moment.
    pub(super) fn request(
        &self,
        method: Method,
        url: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> HttpRequest {
        HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms: self.config.timeout_ms,
            deadline: Deadline::total(self.transport.now(), self.config.timeout_ms),
        }
    }
}
