//! `headers`: extra request headers, checked here so that a header HTTP or
//! the host would refuse is a configuration error naming it, not a failed
//! request that blames the server.

use serde_json::Value;

use super::{ROOT, invalid, wrong_kind};
use crate::wit::{KeyValue, ProviderError};

/// Headers the HTTP client sets itself, from the base URL and the body:
/// the host refuses to let a plugin set the connection-level ones, and a
/// configured `Content-Length` would contradict the body.
const MANAGED: [&str; 12] = [
    "connection",
    "content-length",
    "host",
    "http2-settings",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `headers` as name/value pairs, each name a valid HTTP token the client
/// does not manage itself and each value free of control characters.
pub(super) fn read_headers(value: Option<&Value>) -> Result<Vec<KeyValue>, ProviderError> {
    let path = format!("{ROOT}.headers");
    let map = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(wrong_kind(
                path,
                "an object of header names to strings",
                other,
            ));
        }
    };
    map.iter()
        .map(|(name, value)| {
            check_name(name, &path)?;
            let value_path = format!("{path}.{name}");
            match value {
                Value::String(text) => {
                    check_value(text, &value_path)?;
                    Ok(KeyValue {
                        name: name.clone(),
                        value: text.clone(),
                    })
                }
                other => Err(wrong_kind(value_path, "a string", other)),
            }
        })
        .collect()
}

fn check_name(name: &str, path: &str) -> Result<(), ProviderError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Err(invalid(
            path,
            format!(
                "{} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only, no \
                 spaces or colons): correct or remove it",
                crate::quote::quoted(name)
            ),
        ));
    }
    let lower = name.to_ascii_lowercase();
    if MANAGED.contains(&lower.as_str()) {
        let why = if lower == "host" {
            "it follows from baseUrl; point baseUrl at the server instead"
        } else {
            "the HTTP client sets it from the connection and the body"
        };
        return Err(invalid(
            format!("{path}.{name}"),
            format!("cannot be configured ({why}): remove it"),
        ));
    }
    Ok(())
}

/// Values may hold any text but control characters (a tab is allowed): a
/// line break would end the header, and HTTP refuses the others.
pub(crate) fn check_value(text: &str, path: &str) -> Result<(), ProviderError> {
    match text.chars().find(|c| c.is_control() && *c != '\t') {
        None => Ok(()),
        Some(c @ ('\r' | '\n')) => Err(invalid(
            path,
            format!(
                "holds a line break ({}), which would end the header: remove it",
                crate::quote::escaped_char(c)
            ),
        )),
        Some(c) => Err(invalid(
            path,
            format!(
                "holds the control character {}, which HTTP does not allow in a header: remove it",
                crate::quote::escaped_char(c)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::ConfigError;
    use serde_json::json;

    fn refused(headers: Value) -> ConfigError {
        match read_headers(Some(&headers)) {
            Err(ProviderError::InvalidConfig(e)) => e,
            other => panic!("expected invalid-config for {headers}, got {other:?}"),
        }
    }

    #[test]
    fn managed_headers_are_refused_whatever_their_case() {
        for name in [
            "Host",
            "connection",
            "Content-Length",
            "TRANSFER-ENCODING",
            "Upgrade",
        ] {
            let e = refused(json!({ name: "x" }));
            assert_eq!(e.path, format!("{ROOT}.headers.{name}"));
            assert!(e.reason.contains("cannot be configured"), "{}", e.reason);
        }
        assert!(refused(json!({"Host": "x"})).reason.contains("baseUrl"));
    }

    #[test]
    fn names_must_be_tokens_and_values_free_of_control_characters() {
        let e = refused(json!({"X Team": "a"}));
        assert_eq!(e.path, format!("{ROOT}.headers"));
        assert!(
            e.reason.contains("\"X Team\" is not a valid header name"),
            "{}",
            e.reason
        );
        let e = refused(json!({"X-Team": "a\r\nEvil: 1"}));
        assert_eq!(e.path, format!("{ROOT}.headers.X-Team"));
        assert!(e.reason.contains("line break (\\r)"), "{}", e.reason);
        let e = refused(json!({"X-Team": "a\u{7}"}));
        assert!(e.reason.contains("\\u{7}"), "{}", e.reason);
        let ok = read_headers(Some(
            &json!({"X-Team": "a\tb", "Authorization": "Bearer x"}),
        ));
        assert_eq!(ok.map(|h| h.len()).ok(), Some(2));
    }
}
