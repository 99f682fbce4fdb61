//! `config`: the resolved provider configuration, secrets redacted.

use serde::Serialize;
use serde::ser::SerializeMap as _;
use vllm_harness::{KeyValue, ProviderConfig, is_secret_name};

use super::models::{ModelJson, list_table, mode_name};

const REDACTED: &str = "<redacted>";

/// A header value as shown: redacted when the name marks a credential or
/// the value contains the API key.
pub fn shown_header_value<'a>(header: &'a KeyValue, api_key: Option<&str>) -> &'a str {
    let holds_key = api_key.is_some_and(|k| !k.is_empty() && header.value.contains(k));
    if is_secret_name(&header.name) || holds_key {
        REDACTED
    } else {
        &header.value
    }
}

fn key_state(config: &ProviderConfig) -> bool {
    config.api_key.as_deref().is_some_and(|k| !k.is_empty())
}

/// `config --json`, fields in this order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigJson<'a> {
    base_url: &'a str,
    api_key: Option<&'static str>,
    headers: Headers<'a>,
    timeout_ms: u64,
    mode: &'static str,
    reason: &'a str,
    models: Vec<ModelJson<'a>>,
}

/// Headers as a JSON object, in the config's order, values as shown.
#[derive(Debug)]
struct Headers<'a>(Vec<(&'a str, &'a str)>);

impl Serialize for Headers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// `--json`: `{"baseUrl","apiKey","headers","timeoutMs","mode","reason","models"}`.
pub fn to_json(config: &ProviderConfig) -> String {
    let json = ConfigJson {
        base_url: &config.base_url,
        api_key: key_state(config).then_some(REDACTED),
        headers: Headers(
            config
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.as_str(),
                        shown_header_value(h, config.api_key.as_deref()),
                    )
                })
                .collect(),
        ),
        timeout_ms: config.timeout_ms,
        mode: mode_name(config.mode),
        reason: &config.reason,
        models: ModelJson::all(&config.models),
    };
    serde_json::to_string(&json).unwrap_or_default()
}

/// The human form.
pub fn to_text(config: &ProviderConfig, primary: Option<&str>) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: &str| {
        let line = format!("{name:<9} {}", crate::cli::terminal::line(value));
        out.push_str(line.trim_end());
        out.push('\n');
    };
    field("Base URL", &config.base_url);
    field(
        "API key",
        if key_state(config) {
            "set (redacted)"
        } else {
            "not set"
        },
    );
    if config.headers.is_empty() {
        field("Headers", "none");
    } else {
        for (i, h) in config.headers.iter().enumerate() {
            let line = format!(
                "{}: {}",
                h.name,
                shown_header_value(h, config.api_key.as_deref())
            );
            field(if i == 0 { "Headers" } else { "" }, &line);
        }
    }
    field("Timeout", &format!("{} ms", config.timeout_ms));
    field(
        "Mode",
        &format!("{} ({})", mode_name(config.mode), config.reason.trim()),
    );
    if config.models.is_empty() {
        field("Models", "none configured");
    } else {
        field("Models", "");
        out.push_str(&list_table(&config.models, config, primary));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::models::tests::{config, model};
    use serde_json::{Value, json};
    use vllm_harness::ProviderMode;

    fn secret_config() -> ProviderConfig {
        let mut cfg = config(ProviderMode::Explicit, vec![model("m1")]);
        cfg.api_key = Some("sk-top-secret".into());
        cfg.headers = vec![
            KeyValue {
                name: "X-Team".into(),
                value: "blue".into(),
            },
            KeyValue {
                name: "X-Api-Key".into(),
                value: "hdr-secret".into(),
            },
            KeyValue {
                name: "Cookie".into(),
                value: "session=1".into(),
            },
            KeyValue {
                name: "X-Echo".into(),
                value: "Bearer sk-top-secret".into(),
            },
            KeyValue {
                name: "Proxy-Authorization".into(),
                value: "basic".into(),
            },
        ];
        cfg
    }

    #[test]
    fn json_redacts_key_and_secret_headers() {
        let text = to_json(&secret_config());
        let v: Value = serde_json::from_str(&text).expect("valid JSON");
        assert!(!text.contains("sk-top-secret"), "{text}");
        assert!(!text.contains("hdr-secret"), "{text}");
        assert!(!text.contains("session=1"), "{text}");
        assert_eq!(v["apiKey"], "<redacted>");
        assert_eq!(v["headers"]["X-Team"], "blue");
        assert_eq!(v["headers"]["X-Echo"], "<redacted>");
        assert_eq!(v["headers"]["Proxy-Authorization"], "<redacted>");
        assert_eq!(v["mode"], "explicit");
        assert_eq!(v["timeoutMs"], 60_000);
        assert_eq!(v["models"][0]["key"], "vllm/m1");
    }

    #[test]
    fn json_without_key_is_null() {
        let text = to_json(&config(ProviderMode::Disabled, vec![]));
        assert!(text.starts_with(r#"{"baseUrl":"http://127.0.0.1:8000/v1","apiKey":null,"headers":{},"timeoutMs":60000,"mode":"disabled""#), "{text}");
        let v: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["apiKey"], Value::Null);
        assert_eq!(v["mode"], "disabled");
        assert_eq!(v["models"], json!([]));
    }

    #[test]
    fn text_never_shows_secrets() {
        let text = to_text(&secret_config(), Some("vllm/m1"));
        assert!(text.contains("API key   set (redacted)"), "{text}");
        assert!(text.contains("X-Team: blue"), "{text}");
        assert!(!text.contains("sk-top-secret"), "{text}");
        assert!(!text.contains("hdr-secret"), "{text}");
        assert!(text.contains("vllm/m1"), "{text}");
        let none = to_text(&config(ProviderMode::Disabled, vec![]), None);
        assert!(none.contains("API key   not set"), "{none}");
        assert!(none.contains("Mode      disabled (test)"), "{none}");
    }
}
