//! Words for a person: what failed and what to do about it.
//!
//! `bindgen!` gives every WIT error type a `Display` that prints its `Debug`
//! form, so the user-facing text is [`ProviderError::user_message`] (and the
//! `Display` of [`crate::CallError`], which uses it).

use crate::bindings::ProviderError;
use crate::redaction::redact;

impl ProviderError {
    /// One line that says what failed and what to do.
    ///
    /// The plugin's own messages usually say both already; the host adds
    /// what is missing (the authority, the variable to set, ...) and
    /// leaves out what is there, so the line never says it twice.
    pub fn user_message(&self) -> String {
        match self {
            Self::Connection(e) => {
                let message = e.message.trim();
                let text = if message.contains(e.authority.as_str()) {
                    message.to_owned()
                } else {
                    format!("cannot connect to {}: {message}", e.authority)
                };
                let hint = format!(
                    "check that vLLM is running at {} and that the base URL is right",
                    e.authority
                );
                with_hint(text, "vllm", &hint)
            }
            Self::Auth(message) => {
                let message = message.trim();
                let text = if contains_ci(message, "key") {
                    message.to_owned()
                } else {
                    format!("the server rejected the API key: {message}")
                };
                with_hint(
                    text,
                    "VLLM_API_KEY",
                    "set VLLM_API_KEY to a key the server accepts",
                )
            }
            Self::ModelNotFound(e) => {
                let available = if e.available.is_empty() {
                    "the server listed none".to_owned()
                } else {
                    e.available.join(", ")
                };
                format!(
                    "the server does not serve model `{}`; available: {available}{}",
                    e.model,
                    detail(&e.message)
                )
            }
            Self::ContextLengthExceeded(e) => {
                let number = |n: Option<u32>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
                with_hint(
                    format!(
                        "the request does not fit the model's context window (limit {} tokens, requested {}){}",
                        number(e.limit),
                        number(e.requested),
                        detail(&e.message)
                    ),
                    "shorten",
                    "shorten the prompt or lower max tokens",
                )
            }
            Self::BadRequest(message) => {
                let message = message.trim();
                if contains_ci(message, "the server rejected") {
                    message.to_owned()
                } else {
                    format!("the server rejected the request: {message}")
                }
            }
            // A redirect is not a failure of the server; its message says
            // where it leads and what to do.
            Self::Server(e) if (300..400).contains(&e.status) => e.message.trim().to_owned(),
            Self::Server(e) => {
                format!(
                    "the server failed with HTTP {}: {}",
                    e.status,
                    e.message.trim()
                )
            }
            Self::Timeout(message) => with_hint(
                format!("the server took too long: {}", message.trim()),
                "timeoutSeconds",
                "raise timeoutSeconds if the model is just slow",
            ),
            // The plugin refuses a call's own arguments as `request.<field>`.
            Self::InvalidConfig(e) if e.path == "request" || e.path.starts_with("request.") => {
                format!("the request was not sent: {} {}", e.path, e.reason.trim())
            }
            Self::InvalidConfig(e) => {
                format!("invalid configuration at {}: {}", e.path, e.reason.trim())
            }
            Self::InvalidResponse(message) => format!(
                "the server's reply could not be understood: {}",
                message.trim()
            ),
            Self::Denied(message) => {
                format!(
                    "the sandbox refused an outgoing request: {}",
                    message.trim()
                )
            }
        }
    }

    /// The WIT case name (`connection`, `auth`, `model-not-found`, ...),
    /// stable for scripts and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connection(_) => "connection",
            Self::Auth(_) => "auth",
            Self::ModelNotFound(_) => "model-not-found",
            Self::ContextLengthExceeded(_) => "context-length-exceeded",
            Self::BadRequest(_) => "bad-request",
            Self::Server(_) => "server",
            Self::Timeout(_) => "timeout",
            Self::InvalidConfig(_) => "invalid-config",
            Self::InvalidResponse(_) => "invalid-response",
            Self::Denied(_) => "denied",
        }
    }

    /// Replaces every occurrence of a secret in the error's text with
    /// `<redacted>`: a second line of defence behind the plugin's promise
    /// never to echo the key.
    pub(crate) fn redact(&mut self, secrets: &[String]) {
        let fix = |text: &mut String| *text = redact(text, secrets);
        match self {
            Self::Connection(e) => {
                fix(&mut e.authority);
                fix(&mut e.message);
            }
            Self::ModelNotFound(e) => {
                fix(&mut e.model);
                fix(&mut e.message);
                e.available.iter_mut().for_each(fix);
            }
            Self::ContextLengthExceeded(e) => fix(&mut e.message),
            Self::Server(e) => fix(&mut e.message),
            Self::InvalidConfig(e) => {
                fix(&mut e.path);
                fix(&mut e.reason);
            }
            Self::Auth(m)
            | Self::BadRequest(m)
            | Self::Timeout(m)
            | Self::InvalidResponse(m)
            | Self::Denied(m) => fix(m),
        }
    }
}

/// `text (hint)`, unless `text` already mentions `marker`.
fn with_hint(text: String, marker: &str, hint: &str) -> String {
    if contains_ci(&text, marker) {
        text
    } else {
        format!("{text} ({hint})")
    }
}

fn contains_ci(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

fn detail(message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{ConfigError, ConnectionError, ContextLengthError, ModelNotFoundError};

    #[test]
    fn connection_names_the_authority_and_says_to_check_vllm() {
        let msg = ProviderError::Connection(ConnectionError {
            authority: "127.0.0.1:8000".into(),
            message: "connection refused".into(),
        })
        .user_message();
        assert_eq!(
            msg,
            "cannot connect to 127.0.0.1:8000: connection refused (check that vLLM is running at 127.0.0.1:8000 and that the base URL is right)"
        );
    }

    #[test]
    fn plugin_hints_are_not_repeated() {
        let msg = ProviderError::Connection(ConnectionError {
            authority: "127.0.0.1:1".into(),
            message: "could not connect to 127.0.0.1:1: check that vLLM is running there".into(),
        })
        .user_message();
        assert_eq!(
            msg,
            "could not connect to 127.0.0.1:1: check that vLLM is running there"
        );
        let msg = ProviderError::Auth(
            "the server rejected the API key: set VLLM_API_KEY to the server's key".into(),
        )
        .user_message();
        assert_eq!(
            msg,
            "the server rejected the API key: set VLLM_API_KEY to the server's key"
        );
        let msg = ProviderError::Timeout("no answer: raise timeoutSeconds".into()).user_message();
        assert_eq!(
            msg,
            "the server took too long: no answer: raise timeoutSeconds"
        );
    }

    #[test]
    fn auth_says_to_set_a_real_key() {
        let msg = ProviderError::Auth("HTTP 401".into()).user_message();
        assert_eq!(
            msg,
            "the server rejected the API key: HTTP 401 (set VLLM_API_KEY to a key the server accepts)"
        );
    }

    #[test]
    fn model_not_found_lists_the_available_ids() {
        let msg = ProviderError::ModelNotFound(ModelNotFoundError {
            model: "nope".into(),
            available: vec!["m1".into(), "m2".into()],
            message: "The model `nope` does not exist.".into(),
        })
        .user_message();
        assert!(msg.contains("`nope`"), "{msg}");
        assert!(msg.contains("available: m1, m2"), "{msg}");
    }

    #[test]
    fn context_length_shows_limit_and_request() {
        let known = ProviderError::ContextLengthExceeded(ContextLengthError {
            limit: Some(2048),
            requested: Some(5000),
            message: String::new(),
        })
        .user_message();
        assert!(
            known.contains("limit 2048 tokens, requested 5000"),
            "{known}"
        );
        let unknown = ProviderError::ContextLengthExceeded(ContextLengthError {
            limit: None,
            requested: None,
            message: "too long".into(),
        })
        .user_message();
        assert!(
            unknown.contains("limit ? tokens, requested ?) (too long)"),
            "{unknown}"
        );
    }

    #[test]
    fn invalid_config_is_path_colon_reason() {
        let msg = ProviderError::InvalidConfig(ConfigError {
            path: "models.providers.vllm.models[2].contextWindow".into(),
            reason: "must be a positive integer".into(),
        })
        .user_message();
        assert_eq!(
            msg,
            "invalid configuration at models.providers.vllm.models[2].contextWindow: must be a positive integer"
        );
    }

    #[test]
    fn kinds_are_the_wit_names() {
        assert_eq!(ProviderError::Denied(String::new()).kind(), "denied");
        assert_eq!(ProviderError::Auth(String::new()).kind(), "auth");
    }

    #[test]
    fn redaction_removes_secrets_everywhere() {
        let secrets = vec!["sk-secret-123".to_owned(), "abc".to_owned()];
        let mut error = ProviderError::Auth("key sk-secret-123 rejected (abc)".into());
        error.redact(&secrets);
        assert_eq!(
            error,
            ProviderError::Auth("key <redacted> rejected (abc)".into())
        );

        let mut error = ProviderError::ModelNotFound(ModelNotFoundError {
            model: "m".into(),
            available: vec!["sk-secret-123".into()],
            message: "x sk-secret-123".into(),
        });
        error.redact(&secrets);
        assert!(!format!("{error:?}").contains("sk-secret-123"));
    }
}
