//! Secrets, and keeping them out of what the user sees.

use crate::bindings::{ConfigInput, ProviderConfig};

/// Values shorter than this are placeholders (`EMPTY`, `dummy`, `1`), not
/// secrets: scrubbing every `1` of a message would garble its addresses and
/// numbers and protect nothing. A value this long occurs in a message only
/// where it was echoed, so every occurrence is replaced.
pub const MIN_SECRET_LEN: usize = 8;

/// `text` with every occurrence of each secret of at least
/// [`MIN_SECRET_LEN`] characters replaced by `<redacted>`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| is_scrubbed(s))
        .fold(text.to_owned(), |acc, secret| {
            acc.replace(secret.as_str(), "<redacted>")
        })
}

/// Whether a value is long enough to be treated as a secret.
fn is_scrubbed(value: &str) -> bool {
    value.chars().count() >= MIN_SECRET_LEN
}

/// Whether a header (or variable) name marks a credential: it contains
/// `auth`, `key`, `token`, `cookie`, `secret` or `password`. Such values are
/// redacted from output and scrubbed from errors.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "cookie", "secret", "password"]
        .iter()
        .any(|word| name.contains(word))
}

/// What a resolve-config call could leak: the auth-profile key, secret-named
/// variables, and literal keys and secret headers in the provider section.
pub(crate) fn input_secrets(input: &ConfigInput) -> Vec<String> {
    let mut secrets: Vec<String> = input.auth_profile_key.iter().cloned().collect();
    secrets.extend(
        input
            .env
            .iter()
            .filter(|kv| is_secret_name(&kv.name))
            .map(|kv| kv.value.clone()),
    );
    if let Some(section) = input
        .provider_json
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
    {
        if let Some(key) = section.get("apiKey").and_then(|v| v.as_str()) {
            secrets.push(key.to_owned());
        }
        if let Some(headers) = section.get("headers").and_then(|v| v.as_object()) {
            secrets.extend(
                headers
                    .iter()
                    .filter(|(name, _)| is_secret_name(name))
                    .filter_map(|(_, v)| v.as_str().map(str::to_owned)),
            );
        }
    }
    // A value that is nothing but `${NAME}` references holds no secret (the
    // variables' values are covered above); scrubbing it would garble the
    // plugin's own hint about which variable to set.
    secrets.retain(|secret| !only_env_refs(secret));
    secrets
}

/// Whether `text` consists only of `${NAME}` references and whitespace.
fn only_env_refs(text: &str) -> bool {
    let mut rest = text.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix("${") else {
            return false;
        };
        let Some(end) = inner.find('}') else {
            return false;
        };
        let name = &inner[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return false;
        }
        rest = inner[end + 1..].trim_start();
    }
    true
}

/// What a call with a resolved config could leak: the key and secret headers.
pub(crate) fn config_secrets(config: &ProviderConfig) -> Vec<String> {
    let mut secrets: Vec<String> = config.api_key.iter().cloned().collect();
    secrets.extend(
        config
            .headers
            .iter()
            .filter(|kv| is_secret_name(&kv.name))
            .map(|kv| kv.value.clone()),
    );
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::KeyValue;

    #[test]
    fn placeholders_are_left_alone_and_secrets_go_everywhere() {
        let message = "could not connect to 127.0.0.1:18823 (EMPTY)";
        let placeholders = ["1".to_owned(), "EMPTY".to_owned(), "dummy".to_owned()];
        assert_eq!(redact(message, &placeholders), message);
        let secrets = ["sk-live-0123".to_owned()];
        assert_eq!(
            redact("key sk-live-0123 and xsk-live-0123y", &secrets),
            "key <redacted> and x<redacted>y"
        );
    }

    #[test]
    fn secret_names() {
        for name in [
            "Authorization",
            "X-API-Key",
            "x-auth-token",
            "Cookie",
            "VLLM_API_KEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["Content-Type", "X-Request-Id", "VLLM_BASE_URL"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn input_secrets_cover_env_profile_and_literal_keys() {
        let input = ConfigInput {
            provider_json: Some(
                r#"{"apiKey":"sk-literal","headers":{"X-Api-Key":"hdr-secret","Accept":"x"}}"#
                    .into(),
            ),
            env: vec![
                KeyValue {
                    name: "VLLM_API_KEY".into(),
                    value: "env-secret".into(),
                },
                KeyValue {
                    name: "VLLM_HOST".into(),
                    value: "localhost".into(),
                },
            ],
            auth_profile_key: Some("profile-secret".into()),
            base_url_override: None,
        };
        let mut secrets = input_secrets(&input);
        secrets.sort();
        assert_eq!(
            secrets,
            ["env-secret", "hdr-secret", "profile-secret", "sk-literal"]
        );
    }

    #[test]
    fn variable_references_are_not_secrets() {
        let input = ConfigInput {
            provider_json: Some(
                r#"{"apiKey":"${MY_KEY}","headers":{"X-Api-Key":"sk-${PART}","Authorization":"${A} ${B}"}}"#
                    .into(),
            ),
            env: Vec::new(),
            auth_profile_key: None,
            base_url_override: None,
        };
        assert_eq!(input_secrets(&input), ["sk-${PART}"]);
        assert!(only_env_refs("${VLLM_API_KEY}"));
        assert!(!only_env_refs("$${VLLM_API_KEY}"));
        assert!(!only_env_refs("${lower}"));
        assert!(!only_env_refs(""));
    }
}
