//! API keys: sent as `Authorization: Bearer <key>`, so a key HTTP cannot
//! carry is a configuration error naming where it came from. The commonest
//! is a key read from a file with its trailing newline.

use super::invalid;
use crate::wit::ProviderError;

/// The key as given, or an error at `path` (`VLLM_API_KEY`,
/// `models.providers.vllm.apiKey`, ...) when it has surrounding whitespace
/// or a control character. The error never shows the key.
pub(super) fn check_key(path: &str, key: String) -> Result<String, ProviderError> {
    let trimmed = key.trim();
    if trimmed.is_empty() {
        return Err(invalid(
            path,
            "is only whitespace: set it to the server's key, or unset it if the server needs none",
        ));
    }
    if trimmed.len() != key.len() {
        let line_break = key.ends_with(['\n', '\r']);
        let reason = if line_break {
            "ends with a line break, which cannot be sent in an HTTP header (a key read from a \
             file keeps the file's newline): remove it, e.g. with \"$(tr -d '\\r\\n' < keyfile)\""
        } else {
            "starts or ends with whitespace, which cannot be part of a key: remove it"
        };
        return Err(invalid(path, reason));
    }
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        return Err(invalid(
            path,
            format!(
                "holds the control character {}, which cannot be sent in an HTTP header: \
                 remove it",
                crate::quote::escaped_char(c)
            ),
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(key: &str) -> String {
        match check_key("VLLM_API_KEY", key.to_owned()) {
            Err(ProviderError::InvalidConfig(e)) => {
                assert_eq!(e.path, "VLLM_API_KEY");
                assert!(!e.reason.contains("sk-abc"), "{}", e.reason);
                e.reason
            }
            other => panic!("expected invalid-config for {key:?}, got {other:?}"),
        }
    }

    #[test]
    fn keys_from_files_and_pastes_are_refused_with_the_reason() {
        assert!(reason("sk-abc\n").contains("ends with a line break"));
        assert!(reason("sk-abc\r\n").contains("ends with a line break"));
        assert!(reason(" sk-abc").contains("whitespace"));
        assert!(reason("   ").contains("only whitespace"));
        assert!(reason("sk\u{0}abc").contains("\\u{0}"));
        assert_eq!(
            check_key("k", "EMPTY".into()).ok().as_deref(),
            Some("EMPTY")
        );
    }
}
