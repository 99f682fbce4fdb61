//! The provider's calls, over any `Transport`: discovery, a whole completion
//! and a streamed one. Request shaping, parsing and error mapping live in
//! their own modules; this one sequences them.

mod active_stream;
mod send;
mod unusable_reply;

pub use active_stream::ActiveStream;
pub(crate) use unusable_reply::is_redirect;

use crate::deadline::Deadline;
use crate::discovery::{self, Discovered};
use crate::error::{self, RequestContext, from_http_status, prompt_tokens, redact};
use crate::request::{self, BuiltRequest};
use crate::response;
use crate::sse::SseDecoder;
use crate::stream::StreamAssembler;
use crate::transport::{HttpResponse, MAX_BODY_BYTES, Method, ResponseBody, Transport, read_all};
use crate::unparsed_calls::Offered;
use crate::url::HttpUrl;
use crate::usage::ZERO_COST;
use crate::wit::{
    ChatRequest, Completion, Model, ModelCost, ProviderConfig, ProviderError, ProviderMode,
};

/// The largest body of a `/health` or `/version` answer.
pub const MAX_PROBE_BYTES: usize = 64 * 1024;

use send::{RetryOn, Sent, final_error};

/// A configured client for one call.
#[derive(Debug)]
pub struct Client<'a, T> {
    transport: &'a T,
    config: &'a ProviderConfig,
    authority: String,
}

impl<'a, T: Transport> Client<'a, T> {
    /// A client for `config`; fails when its base URL is not usable.
    pub fn new(transport: &'a T, config: &'a ProviderConfig) -> Result<Self, ProviderError> {
        if config.mode == ProviderMode::Disabled {
            return Err(ProviderError::InvalidConfig(crate::wit::ConfigError {
                path: crate::config::ROOT.into(),
                reason: config.reason.clone(),
            }));
        }
        let url = HttpUrl::parse(&config.base_url).map_err(|reason| {
            ProviderError::InvalidConfig(crate::wit::ConfigError {
                path: format!("{}.baseUrl", crate::config::ROOT),
                reason,
            })
        })?;
        Ok(Self {
            transport,
            config,
            authority: url.host_port(),
        })
    }

    fn key(&self) -> Option<&str> {
        self.config.api_key.as_deref().filter(|k| !k.is_empty())
    }

    /// Whether requests carry an `Authorization` header with the API key.
    pub fn sends_key(&self) -> bool {
        self.key().is_some()
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The server's root URL: the base URL without its `/v1`.
    pub fn root_url(&self) -> &str {
        let base = self.config.base_url.as_str();
        base.strip_suffix("/v1").unwrap_or(base)
    }

    /// `GET` a path beside the `/v1` API (`/health`, `/version`): the status
    /// and a body of at most [`MAX_PROBE_BYTES`].
    pub fn get_root(&self, path: &str) -> Result<(u16, Vec<u8>), ProviderError> {
        let url = format!("{}{path}", self.root_url());
        let request = self.request(
            Method::Get,
            url.clone(),
            self.headers(false, false),
            Vec::new(),
        );
        let result = self
            .send(&request, RetryOn::RateLimit)
            .and_then(|mut sent| {
                let body = read_all(
                    &mut sent.response.body,
                    MAX_PROBE_BYTES,
                    &url,
                    request.deadline,
                )?;
                Ok((sent.response.status, body))
            });
        result.map_err(|e| redact(e, self.key()))
    }

    fn ctx<'c>(&'c self, url: &'c str, model: Option<&'c str>) -> RequestContext<'c> {
        RequestContext {
            authority: &self.authority,
            url,
            model,
            key_sent: self.key().is_some(),
        }
    }

    fn headers(&self, json_body: bool, stream: bool) -> Vec<(String, String)> {
        let has = |name: &str| {
            self.config
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(name))
        };
        let mut headers = Vec::with_capacity(self.config.headers.len() + 3);
        if let Some(key) = self.key()
            && !has("authorization")
        {
            headers.push(("Authorization".to_owned(), format!("Bearer {key}")));
        }
        if json_body {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        if !has("accept") {
            let accept = if stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            headers.push(("Accept".to_owned(), accept.to_owned()));
        }
        headers.extend(
            self.config
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone())),
        );
        headers
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    /// `GET {base}/models`: the models, and a warning for each card that
    /// was skipped or read with a fallback.
    pub fn discover(&self) -> Result<Discovered, ProviderError> {
        self.discover_inner().map_err(|e| redact(e, self.key()))
    }

    fn discover_inner(&self) -> Result<Discovered, ProviderError> {
        let url = self.url("/models");
        let request = self.request(
            Method::Get,
            url.clone(),
            self.headers(false, false),
            Vec::new(),
        );
        let Sent {
            mut response,
            gave_up,
        } = self.send(&request, RetryOn::Busy)?;
        let body = read_all(&mut response.body, MAX_BODY_BYTES, &url, request.deadline)?;
        if !(200..300).contains(&response.status) {
            let error = from_http_status(response.status, &body, &self.ctx(&url, None));
            return Err(final_error(error, gave_up.as_deref()));
        }
        unusable_reply::check_body(&body, &url)?;
        discovery::parse_models(&body, &url)
    }

    fn model(&self, request: &ChatRequest) -> Option<&Model> {
        let id = request::server_model_id(request.model.trim(), &self.config.models);
        self.config.models.iter().find(|m| m.id == id)
    }

    fn cost(&self, request: &ChatRequest) -> ModelCost {
        self.model(request).map_or(ZERO_COST, |m| m.cost)
    }

    /// Send a chat body; on a context overflow that the output budget caused,
    /// try once more with the server's own prompt count.
    ///
    /// Returns the total deadline of the request that was answered.
    fn send_chat(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(BuiltRequest, HttpResponse<T::Body>, Deadline), ProviderError> {
        let url = self.url("/chat/completions");
        let mut built = request::build(request, &self.config.models, stream, None)?;
        let mut retried = false;
        loop {
            let body = crate::json::object_bytes(&built.body);
            let mut headers = self.headers(true, stream);
            // The request's own headers (its session) replace configured ones.
            headers.retain(|(name, _)| {
                !built
                    .headers
                    .iter()
                    .any(|(own, _)| own.eq_ignore_ascii_case(name))
            });
            headers.extend(built.headers.iter().cloned());
            let http = self.request(Method::Post, url.clone(), headers, body);
            let Sent {
                mut response,
                gave_up,
            } = self.send(&http, RetryOn::Busy)?;
            if (200..300).contains(&response.status) {
                return Ok((built, response, http.deadline));
            }
            let body = read_all(&mut response.body, MAX_BODY_BYTES, &url, http.deadline)?;
            let error = final_error(
                from_http_status(response.status, &body, &self.ctx(&url, Some(&built.model))),
                gave_up.as_deref(),
            );
            match error {
                ProviderError::ContextLengthExceeded(ref overflow) if !retried => {
                    let sent = built
                        .body
                        .get("max_completion_tokens")
                        .and_then(|v| v.as_u64());
                    let prompt = prompt_tokens(&overflow.message);
                    match (sent, overflow.limit, prompt) {
                        (Some(sent), Some(limit), Some(prompt)) if prompt < limit => {
                            let room = u64::from(limit - prompt);
                            if room >= sent {
                                return Err(error);
                            }
                            built
                                .body
                                .insert("max_completion_tokens".into(), room.into());
                            built.clamped = true;
                            retried = true;
                        }
                        _ => return Err(error),
                    }
                }
                ProviderError::ModelNotFound(mut missing) => {
                    // Name what the server does serve, when it will say.
                    if let Ok(models) = self.discover_inner() {
                        missing.available = models.models.into_iter().map(|m| m.id).collect();
                    }
                    return Err(ProviderError::ModelNotFound(missing));
                }
                other => return Err(other),
            }
        }
    }

    /// A whole, non-streamed completion.
    pub fn complete(&self, request: &ChatRequest) -> Result<Completion, ProviderError> {
        self.complete_inner(request)
            .map_err(|e| redact(e, self.key()))
    }

    fn complete_inner(&self, request: &ChatRequest) -> Result<Completion, ProviderError> {
        let url = self.url("/chat/completions");
        let (built, mut response, deadline) = self.send_chat(request, false)?;
        let body = read_all(&mut response.body, MAX_BODY_BYTES, &url, deadline)?;
        unusable_reply::check_body(&body, &url)?;
        response::parse_completion(
            &body,
            &self.cost(request),
            &Offered::by(request),
            &self.ctx(&url, Some(&built.model)),
        )
    }

    /// Start a streamed completion; its events are pulled with `next`.
    pub fn start_stream(
        &self,
        request: &ChatRequest,
    ) -> Result<ActiveStream<T::Body>, ProviderError> {
        self.start_stream_inner(request)
            .map_err(|e| redact(e, self.key()))
    }

    fn start_stream_inner(
        &self,
        request: &ChatRequest,
    ) -> Result<ActiveStream<T::Body>, ProviderError> {
        let url = self.url("/chat/completions");
        let (built, mut response, deadline) = self.send_chat(request, true)?;
        let content_type = response.content_type.clone().unwrap_or_default();
        if !content_type.starts_with("text/event-stream") {
            let body =
                read_all(&mut response.body, MAX_BODY_BYTES, &url, deadline).unwrap_or_default();
            let ctx = self.ctx(&url, Some(&built.model));
            // A JSON error with a 200 status is still an error.
            if let Ok(value) = crate::json::parse_value(&body)
                && let Some(parsed) = error::parse_error_body(&value)
            {
                return Err(error::from_stream_error(&parsed, &ctx));
            }
            return Err(ProviderError::InvalidResponse(format!(
                "{url} answered a streaming request with content type \"{content_type}\" instead \
                 of text/event-stream: is a proxy between here and vLLM buffering or rewriting it?"
            )));
        }
        Ok(ActiveStream {
            idle_since: response.body.now(),
            body: Some(response.body),
            total: deadline,
            timeout_ms: self.config.timeout_ms,
            decoder: SseDecoder::new(),
            assembler: StreamAssembler::new(self.cost(request)).offering(Offered::by(request)),
            authority: self.authority.clone(),
            url,
            model: built.model,
            key: self.key().map(str::to_owned),
            failed: None,
            warned: false,
        })
    }
}

/// Connection-level failures, named for the user.
pub fn connect_error(authority: &str, what: &str) -> ProviderError {
    error::connection(authority, what)
}

#[cfg(test)]
mod tests;
