//! Turning what a server or the network said into a typed `ProviderError`.
//!
//! vLLM answers errors in three shapes: `{"error":{"message",...}}` (since
//! v0.10.1), the flat `{"object":"error","message",...}` before it, and the
//! string body `{"error":"Unauthorized"}` of its `--api-key` check. Proxies in
//! front of it answer with HTML or nothing at all. Every one of them becomes a
//! variant that says what failed and what to do.

use crate::wit::{
    ConnectionError, ContextLengthError, ModelNotFoundError, ProviderError, ServerError,
};
use serde_json::Value;

/// How much of a non-JSON error body is quoted back to the user.
const SNIPPET_CHARS: usize = 200;

/// What the client knew about the request that failed.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// `host:port` of the server.
    pub authority: &'a str,
    /// The URL that was requested (never holds a secret).
    pub url: &'a str,
    /// The model asked for, when the request named one.
    pub model: Option<&'a str>,
    /// Whether an `Authorization` header was sent.
    pub key_sent: bool,
}

/// The parts of an error body that a client can rely on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorBody {
    /// The human message.
    pub message: String,
    /// vLLM's `type` (`NotFoundError`, `BadRequestError`, ...), when given.
    pub kind: Option<String>,
    /// vLLM's numeric `code`, when given (mid-stream errors carry the status here).
    pub code: Option<u16>,
}

/// Read an error body of any of vLLM's shapes; `None` when it is not one.
pub fn parse_error_body(value: &Value) -> Option<ErrorBody> {
    let object = value.as_object()?;
    match object.get("error") {
        Some(Value::String(message)) => Some(ErrorBody {
            message: message.clone(),
            ..ErrorBody::default()
        }),
        Some(Value::Object(inner)) => Some(error_fields(inner)),
        _ if object.get("object").and_then(Value::as_str) == Some("error") => {
            Some(error_fields(object))
        }
        _ => None,
    }
}

fn error_fields(object: &serde_json::Map<String, Value>) -> ErrorBody {
    let message = match object.get("message") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => crate::json::text(other),
        None => String::new(),
    };
    ErrorBody {
        message,
        kind: object
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        code: object
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|code| u16::try_from(code).ok()),
    }
}

/// Classify a non-success HTTP response.
pub fn from_http_status(status: u16, body: &[u8], ctx: &RequestContext<'_>) -> ProviderError {
    let parsed = crate::json::parse_value(body)
        .ok()
        .and_then(|value| parse_error_body(&value));
    let error = parsed.unwrap_or_else(|| ErrorBody {
        message: describe_raw_body(body),
        ..ErrorBody::default()
    });
    classify(status, &error, ctx)
}

/// Classify an error that arrived inside a stream (`data: {"error":...}`).
pub fn from_stream_error(error: &ErrorBody, ctx: &RequestContext<'_>) -> ProviderError {
    // The HTTP status of a stream is 200 whatever happened; vLLM puts the
    // real one in `code`.
    let status = error.code.filter(|code| *code >= 400).unwrap_or(500);
    classify(status, error, ctx)
}

fn classify(status: u16, error: &ErrorBody, ctx: &RequestContext<'_>) -> ProviderError {
    let message = if error.message.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        error.message.clone()
    };
    match status {
        401 | 403 => ProviderError::Auth(auth_message(status, &message, ctx)),
        404 if is_model_not_found(error) => ProviderError::ModelNotFound(ModelNotFoundError {
            model: ctx.model.unwrap_or_default().to_owned(),
            available: Vec::new(),
            message,
        }),
        404 => ProviderError::Server(ServerError {
            status,
            message: format!(
                "{} was not found ({message}): check that baseUrl points at the server's /v1 API",
                ctx.url
            ),
        }),
        400 | 413 | 422 if is_context_overflow(&message) => {
            ProviderError::ContextLengthExceeded(ContextLengthError {
                limit: number_after(&message, "maximum context length is ")
                    .or_else(|| number_after(&message, "max_model_len=")),
                requested: requested_tokens(&message),
                message,
            })
        }
        400 | 413 | 422 if message.contains("Priority scheduling is not enabled") => {
            ProviderError::BadRequest(format!(
                "the server rejected the request's priority (HTTP {status}): {message} Start vLLM \
                 with --scheduling-policy priority, or send no priority"
            ))
        }
        400 | 413 | 422 => ProviderError::BadRequest(format!(
            "the server rejected the request (HTTP {status}): {message}"
        )),
        _ => ProviderError::Server(ServerError { status, message }),
    }
}

fn auth_message(status: u16, message: &str, ctx: &RequestContext<'_>) -> String {
    if ctx.key_sent {
        format!(
            "the server at {} rejected the API key (HTTP {status}: {message}): set VLLM_API_KEY \
             (or models.providers.vllm.apiKey) to the key the server was started with (--api-key)",
            ctx.authority
        )
    } else {
        format!(
            "the server at {} requires an API key (HTTP {status}: {message}) and none was sent: \
             set VLLM_API_KEY to the server's --api-key value",
            ctx.authority
        )
    }
}

fn is_model_not_found(error: &ErrorBody) -> bool {
    error.kind.as_deref() == Some("NotFoundError")
        || (error.message.contains("model") && error.message.contains("does not exist"))
}

/// vLLM's wording changed across versions; "maximum context length" stayed.
/// vLLM 0.32 words an output budget over the window as "... cannot be
/// greater than max_model_len=N".
pub fn is_context_overflow(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("maximum context length")
        || message.contains("cannot be greater than max_model_len")
}

/// The first whole number that follows `pattern` in `text`.
pub fn number_after(text: &str, pattern: &str) -> Option<u32> {
    let start = text.find(pattern)? + pattern.len();
    let digits: String = text[start..]
        .chars()
        .skip_while(|c| *c == ' ')
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The tokens a context-overflow message says were asked for in total.
fn requested_tokens(message: &str) -> Option<u32> {
    if let Some(total) = number_after(message, "you requested ") {
        return Some(total);
    }
    let input = prompt_tokens(message)?;
    match number_after(message, "is too large: ") {
        Some(output) => Some(input.saturating_add(output)),
        None => Some(input),
    }
}

/// The prompt's size in tokens, when a context-overflow message gives it.
/// Worded as "(1000 in the messages, ...)", "your request has 1000 input
/// tokens", "your prompt contains [at least] 1000 input tokens" (0.32) or
/// "(2000 > 2048 - 1000)" depending on the server version.
pub fn prompt_tokens(message: &str) -> Option<u32> {
    if let Some(tokens) = number_after(message, "your prompt contains at least ")
        .or_else(|| number_after(message, "your prompt contains "))
    {
        return Some(tokens);
    }
    if let Some(index) = message.find(" in the messages") {
        let digits: String = message[..index]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if let Ok(tokens) = digits.parse() {
            return Some(tokens);
        }
    }
    number_after(message, "your request has ").or_else(|| {
        let index = message.rfind(" - ")?;
        number_after(&message[index..], " - ")
    })
}

fn describe_raw_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    if let Some(title) = html_title(text) {
        return format!("an HTML page titled \"{title}\" (is a proxy in the way?)");
    }
    let snippet: String = text.chars().take(SNIPPET_CHARS).collect();
    if snippet.len() < text.len() {
        format!("{snippet}...")
    } else {
        snippet
    }
}

fn html_title(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(text[start..end].trim())
}

/// A connection that failed before any reply.
pub fn connection(authority: &str, what: &str) -> ProviderError {
    ProviderError::Connection(ConnectionError {
        authority: authority.to_owned(),
        message: format!(
            "could not connect to {authority} ({what}): check that vLLM is running there and that \
             baseUrl is right"
        ),
    })
}

/// Keys shorter than this are placeholders (`EMPTY`, `dummy`, `1`), not
/// secrets: scrubbing every `1` of a message would garble its addresses and
/// protect nothing. A key this long occurs in a message only where a server
/// echoed it, so every occurrence is replaced.
pub const MIN_SECRET_LEN: usize = 8;

/// Replace every occurrence of the key in an error's text, whatever a server
/// or a proxy chose to echo back.
pub fn redact(error: ProviderError, key: Option<&str>) -> ProviderError {
    let Some(key) = key.filter(|key| key.chars().count() >= MIN_SECRET_LEN) else {
        return error;
    };
    let scrub = |text: String| text.replace(key, "<redacted>");
    match error {
        ProviderError::Connection(e) => ProviderError::Connection(ConnectionError {
            authority: scrub(e.authority),
            message: scrub(e.message),
        }),
        ProviderError::Auth(m) => ProviderError::Auth(scrub(m)),
        ProviderError::ModelNotFound(e) => ProviderError::ModelNotFound(ModelNotFoundError {
            model: scrub(e.model),
            available: e.available.into_iter().map(scrub).collect(),
            message: scrub(e.message),
        }),
        ProviderError::ContextLengthExceeded(e) => {
            ProviderError::ContextLengthExceeded(ContextLengthError {
                message: scrub(e.message),
                ..e
            })
        }
        ProviderError::BadRequest(m) => ProviderError::BadRequest(scrub(m)),
        ProviderError::Server(e) => ProviderError::Server(ServerError {
            status: e.status,
            message: scrub(e.message),
        }),
        ProviderError::Timeout(m) => ProviderError::Timeout(scrub(m)),
        ProviderError::InvalidConfig(mut e) => {
            e.reason = scrub(e.reason);
            ProviderError::InvalidConfig(e)
        }
        ProviderError::InvalidResponse(m) => ProviderError::InvalidResponse(scrub(m)),
        ProviderError::Denied(m) => ProviderError::Denied(scrub(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CTX: RequestContext<'static> = RequestContext {
        authority: "127.0.0.1:8000",
        url: "http://127.0.0.1:8000/v1/chat/completions",
        model: Some("tiny"),
        key_sent: true,
    };

    #[test]
    fn reads_all_three_error_shapes() {
        let nested = json!({"error": {"message": "bad", "type": "BadRequestError", "param": null, "code": 400}});
        let flat = json!({"object": "error", "message": "bad", "type": "BadRequestError", "param": null, "code": 400});
        let string = json!({"error": "Unauthorized"});
        let expected = ErrorBody {
            message: "bad".into(),
            kind: Some("BadRequestError".into()),
            code: Some(400),
        };
        assert_eq!(parse_error_body(&nested), Some(expected.clone()));
        assert_eq!(parse_error_body(&flat), Some(expected));
        assert_eq!(
            parse_error_body(&string).map(|e| e.message),
            Some("Unauthorized".to_owned())
        );
        assert_eq!(parse_error_body(&json!({"data": []})), None);
    }

    #[test]
    fn unauthorized_string_body_is_auth_with_key_hint() {
        let error = from_http_status(401, br#"{"error":"Unauthorized"}"#, &CTX);
        let ProviderError::Auth(message) = error else {
            panic!("expected auth, got {error:?}");
        };
        assert!(message.contains("VLLM_API_KEY"), "{message}");
        assert!(message.contains("rejected the API key"), "{message}");
        let unsent = RequestContext {
            key_sent: false,
            ..CTX
        };
        let ProviderError::Auth(message) = from_http_status(401, b"", &unsent) else {
            panic!("expected auth");
        };
        assert!(message.contains("none was sent"), "{message}");
    }

    #[test]
    fn unknown_model_is_model_not_found() {
        let body = br#"{"error":{"message":"The model `nope` does not exist.","type":"NotFoundError","param":"model","code":404}}"#;
        let ctx = RequestContext {
            model: Some("nope"),
            ..CTX
        };
        match from_http_status(404, body, &ctx) {
            ProviderError::ModelNotFound(e) => {
                assert_eq!(e.model, "nope");
                assert!(e.message.contains("does not exist"));
            }
            other => panic!("expected model-not-found, got {other:?}"),
        }
        // A 404 for the path itself is a wrong base URL, not a missing model.
        match from_http_status(404, br#"{"detail":"Not Found"}"#, &ctx) {
            ProviderError::Server(e) => assert!(e.message.contains("baseUrl"), "{}", e.message),
            other => panic!("expected server, got {other:?}"),
        }
    }

    #[test]
    fn context_overflow_parses_limit_and_request_in_every_wording() {
        let old = "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens (1000 in the messages, 2000 in the completion). Please reduce the length of the messages or completion.";
        let new = "'max_tokens' or 'max_completion_tokens' is too large: 2000. This model's maximum context length is 2048 tokens and your request has 1000 input tokens (2000 > 2048 - 1000).";
        let input_only = "This model's maximum context length is 2048 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.";
        let v032 = "This model's maximum context length is 2048 tokens. However, your prompt contains 5000 input tokens, which exceeds this limit even without any output tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value=5000)";
        let v032_truncated = "This model's maximum context length is 2048 tokens. However, your prompt contains at least 2049 input tokens, which exceeds this limit even without any output tokens.";
        for (message, requested, prompt) in [
            (old, 3000, 1000),
            (new, 3000, 1000),
            (input_only, 5000, 5000),
            (v032, 5000, 5000),
            (v032_truncated, 2049, 2049),
        ] {
            let body = json!({"error": {"message": message, "type": "BadRequestError", "param": null, "code": 400}});
            match from_http_status(400, body.to_string().as_bytes(), &CTX) {
                ProviderError::ContextLengthExceeded(e) => {
                    assert_eq!(e.limit, Some(2048), "{message}");
                    assert_eq!(e.requested, Some(requested), "{message}");
                }
                other => panic!("expected context error, got {other:?}"),
            }
            assert_eq!(prompt_tokens(message), Some(prompt), "{message}");
        }
    }

    #[test]
    fn output_budget_over_the_window_is_a_context_error() {
        let message = "max_completion_tokens=5000 cannot be greater than max_model_len=2048. Please request fewer output tokens. (parameter=max_completion_tokens, value=5000)";
        let body = json!({"error": {"message": message, "type": "BadRequestError", "param": "max_completion_tokens", "code": 400}});
        match from_http_status(400, body.to_string().as_bytes(), &CTX) {
            ProviderError::ContextLengthExceeded(e) => assert_eq!(e.limit, Some(2048)),
            other => panic!("expected context error, got {other:?}"),
        }
    }

    #[test]
    fn a_priority_refused_by_the_server_names_the_flag() {
        let message = "Got priority -100 but Priority scheduling is not enabled.";
        let body = json!({"error": {"message": message, "type": "BadRequestError", "param": null, "code": 400}});
        let error = from_http_status(400, body.to_string().as_bytes(), &CTX);
        let ProviderError::BadRequest(text) = error else {
            panic!("expected bad-request, got {error:?}");
        };
        assert!(text.contains(message), "{text}");
        assert!(text.contains("--scheduling-policy priority"), "{text}");
    }

    #[test]
    fn other_statuses_and_bodies() {
        match from_http_status(
            400,
            br#"{"error":{"message":"tools is empty","type":"BadRequestError","code":400}}"#,
            &CTX,
        ) {
            ProviderError::BadRequest(m) => assert!(m.contains("tools is empty")),
            other => panic!("{other:?}"),
        }
        match from_http_status(
            502,
            b"<html><head><title>502 Bad Gateway</title></head></html>",
            &CTX,
        ) {
            ProviderError::Server(e) => {
                assert_eq!(e.status, 502);
                assert!(e.message.contains("502 Bad Gateway"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        match from_http_status(500, b"", &CTX) {
            ProviderError::Server(e) => assert!(e.message.contains("empty body")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stream_errors_use_the_code_inside() {
        let error = ErrorBody {
            message: "This model's maximum context length is 2048 tokens.".into(),
            kind: Some("BadRequestError".into()),
            code: Some(400),
        };
        assert!(matches!(
            from_stream_error(&error, &CTX),
            ProviderError::ContextLengthExceeded(_)
        ));
        let crash = ErrorBody {
            message: "engine died".into(),
            kind: None,
            code: None,
        };
        assert!(matches!(
            from_stream_error(&crash, &CTX),
            ProviderError::Server(ServerError { status: 500, .. })
        ));
    }

    #[test]
    fn redact_removes_the_key_everywhere() {
        let error = ProviderError::BadRequest("key sk-secret-123 is odd".into());
        let ProviderError::BadRequest(text) = redact(error, Some("sk-secret-123")) else {
            panic!("variant changed");
        };
        assert!(!text.contains("sk-secret-123"));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn redact_leaves_placeholder_keys_alone() {
        let message = "could not connect to 127.0.0.1:18823 (EMPTY)";
        for key in ["1", "EMPTY", "dummy"] {
            let error = ProviderError::BadRequest(message.into());
            let ProviderError::BadRequest(text) = redact(error, Some(key)) else {
                panic!("variant changed");
            };
            assert_eq!(text, message, "key {key:?}");
        }
    }
}
