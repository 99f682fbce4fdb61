//! `resolve-config`: from the host's `models.providers.vllm` section and the
//! environment it exposes to a complete `ProviderConfig`.
//!
//! Every error names the config path it is about
//! (`models.providers.vllm.models[2].contextWindow`) and never the value of a
//! secret.

use crate::discovery::{DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_TOKENS, guess_reasoning};
use crate::env_subst::{SubstError, substitute};
use crate::url::normalize_base;
use crate::wit::{
    ConfigError, ConfigInput, InputKind, Model, ModelCompat, ModelCost, ProviderConfig,
    ProviderError, ProviderMode,
};
use serde_json::{Map, Value};

mod compat;
pub(crate) mod headers;
mod keys;
mod unknown_keys;

use headers::read_headers;
use keys::check_key;

/// Where the section lives in the host's config.
pub const ROOT: &str = "models.providers.vllm";
/// OpenClaw's default for a local vLLM.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8000/v1";
/// The variable that opts in to discovery and carries the key.
pub const API_KEY_VAR: &str = "VLLM_API_KEY";
/// Long enough for a CPU server to read a large prompt before its first byte.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 120;
const MAX_TIMEOUT_SECONDS: f64 = 24.0 * 3600.0;

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(ConfigError {
        path: path.into(),
        reason: reason.into(),
    })
}

/// Resolve the host's input into the configuration every other call takes.
pub fn resolve(input: &ConfigInput) -> Result<ProviderConfig, ProviderError> {
    resolve_with_warnings(input).map(|(config, _)| config)
}

/// [`resolve`], with a warning for each key of the section or of a model
/// entry that the provider does not know (and ignores).
pub fn resolve_with_warnings(
    input: &ConfigInput,
) -> Result<(ProviderConfig, Vec<String>), ProviderError> {
    let env = |name: &str| {
        input
            .env
            .iter()
            .find(|kv| kv.name == name)
            .map(|kv| kv.value.clone())
    };
    let section = read_section(input.provider_json.as_deref(), &env)?;
    let empty = Map::new();
    let fields = section.as_ref().unwrap_or(&empty);
    let mut warnings = unknown_keys::warnings(fields, unknown_keys::SECTION_KEYS, ROOT);
    if let Some(Value::Array(models)) = fields.get("models") {
        for (index, model) in models.iter().enumerate() {
            if let Value::Object(entry) = model {
                let path = format!("{ROOT}.models[{index}]");
                warnings.extend(unknown_keys::warnings(
                    entry,
                    unknown_keys::MODEL_KEYS,
                    &path,
                ));
                warnings.extend(compat::warnings(entry, &path));
            }
        }
    }

    check_api(fields.get("api"))?;
    let base_url = read_base_url(input.base_url_override.as_deref(), fields.get("baseUrl"))?;
    let keys = Keys {
        configured: read_api_key(fields.get("apiKey"))?,
        env: env(API_KEY_VAR).filter(|key| !key.is_empty()),
        profile: input.auth_profile_key.clone().filter(|key| !key.is_empty()),
    };
    let headers = read_headers(fields.get("headers"))?;
    let timeout_ms = read_timeout(fields.get("timeoutSeconds"))?;
    let models = read_models(fields.get("models"))?;

    let (mode, reason) = choose_mode(
        section.is_some(),
        &models,
        input.base_url_override.is_some(),
        &keys,
        &base_url,
    );
    let config = ProviderConfig {
        base_url,
        api_key: keys.chosen()?,
        headers,
        timeout_ms,
        mode,
        reason,
        models,
    };
    Ok((config, warnings))
}

/// The section as an object with `${VAR}` substituted; `None` when the host
/// has none, or it is `null`.
fn read_section(
    text: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Map<String, Value>>, ProviderError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let value: Value =
        crate::json::value(text).map_err(|e| invalid(ROOT, format!("is not valid JSON: {e}")))?;
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => substitute_all(map, ROOT, env).map(Some),
        other => Err(wrong_kind(ROOT, "an object", &other)),
    }
}

/// `api`, when given, is the one API this provider speaks.
fn check_api(api: Option<&Value>) -> Result<(), ProviderError> {
    match api {
        None => Ok(()),
        Some(api) if api.as_str() == Some("openai-completions") => Ok(()),
        Some(api) => Err(invalid(
            format!("{ROOT}.api"),
            format!(
                "must be \"openai-completions\", found {}",
                crate::json::text(api)
            ),
        )),
    }
}

/// The base URL: the host's override, else `baseUrl`, else OpenClaw's
/// default.
fn read_base_url(
    base_url_override: Option<&str>,
    value: Option<&Value>,
) -> Result<String, ProviderError> {
    if let Some(url) = base_url_override {
        return normalize_base(url).map_err(|reason| invalid("--base-url", reason));
    }
    let path = format!("{ROOT}.baseUrl");
    match value {
        None => Ok(DEFAULT_BASE_URL.to_owned()),
        Some(Value::String(url)) => normalize_base(url).map_err(|reason| invalid(path, reason)),
        Some(other) => Err(wrong_kind(path, "a string", other)),
    }
}

/// `apiKey`; empty is the same as not given.
fn read_api_key(value: Option<&Value>) -> Result<Option<String>, ProviderError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(key)) if key.is_empty() => Ok(None),
        Some(Value::String(key)) => Ok(Some(key.clone())),
        Some(other) => Err(wrong_kind(format!("{ROOT}.apiKey"), "a string", other)),
    }
}

/// The places a key can come from, none of them empty.
#[derive(Debug)]
struct Keys {
    /// `apiKey` in the section.
    configured: Option<String>,
    /// [`API_KEY_VAR`] in the environment.
    env: Option<String>,
    /// The host's auth profile for vLLM.
    profile: Option<String>,
}

impl Keys {
    /// The key sent: the section's over the environment's over the
    /// profile's, checked that HTTP can carry it (an error names its source).
    fn chosen(&self) -> Result<Option<String>, ProviderError> {
        let sources = [
            (&self.configured, format!("{ROOT}.apiKey")),
            (&self.env, API_KEY_VAR.to_owned()),
            (&self.profile, "the auth profile's vLLM key".to_owned()),
        ];
        sources
            .into_iter()
            .find_map(|(key, path)| key.clone().map(|key| check_key(&path, key)))
            .transpose()
    }
}

/// Whether models are listed, discovered, or the provider is off, and why
/// in words: a listed model wins, then anything that opts in to discovery
/// (a section, a base URL, a key from the environment or a profile).
fn choose_mode(
    section_given: bool,
    models: &[Model],
    base_url_given: bool,
    keys: &Keys,
    base_url: &str,
) -> (ProviderMode, String) {
    if section_given && !models.is_empty() {
        (
            ProviderMode::Explicit,
            format!(
                "{ROOT} lists {} model(s); discovery is skipped",
                models.len()
            ),
        )
    } else if section_given {
        (
            ProviderMode::Discover,
            format!("{ROOT} lists no models; they are discovered from {base_url}/models"),
        )
    } else if base_url_given {
        (
            ProviderMode::Discover,
            format!("a base URL was given; models are discovered from {base_url}/models"),
        )
    } else if keys.env.is_some() {
        (
            ProviderMode::Discover,
            format!(
                "{API_KEY_VAR} is set and {ROOT} is not configured; models are discovered from \
                 {base_url}/models"
            ),
        )
    } else if keys.profile.is_some() {
        (
            ProviderMode::Discover,
            format!(
                "an auth profile has a vLLM key and {ROOT} is not configured; models are \
                 discovered from {base_url}/models"
            ),
        )
    } else {
        (
            ProviderMode::Disabled,
            format!(
                "{API_KEY_VAR} is not set and {ROOT} is not configured: set {API_KEY_VAR} (any \
                 value works if your server does not enforce auth) or configure {ROOT}"
            ),
        )
    }
}

/// Substitute `${VAR}` in every string of the section, naming the path of a
/// missing variable.
fn substitute_all(
    map: Map<String, Value>,
    path: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Map<String, Value>, ProviderError> {
    // One insert at a time: collecting would sort the members again,
    // with code of its own in the component.
    let mut out = Map::new();
    for (key, value) in map {
        let child = format!("{path}.{key}");
        let value = substitute_value(value, &child, env)?;
        out.insert(key, value);
    }
    Ok(out)
}

fn substitute_value(
    value: Value,
    path: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Value, ProviderError> {
    match value {
        Value::String(text) => substitute(&text, env)
            .map(Value::String)
            .map_err(|e| match e {
                SubstError::Missing(name) => invalid(
                    path,
                    format!(
                        "environment variable {name} is not set or is empty: set it, or write the \
                     value here (write $${{{name}}} for a literal ${{{name}}})"
                    ),
                ),
                SubstError::Unclosed => invalid(path, "has \"${\" without a closing \"}\""),
            }),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| substitute_value(item, &format!("{path}[{index}]"), env))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => substitute_all(map, path, env).map(Value::Object),
        other => Ok(other),
    }
}

fn read_timeout(value: Option<&Value>) -> Result<u64, ProviderError> {
    match value {
        None | Some(Value::Null) => Ok(DEFAULT_TIMEOUT_SECONDS * 1000),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(seconds) if seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS => {
                // Whole milliseconds; a positive value never rounds to zero.
                Ok(((seconds * 1000.0).round() as u64).max(1))
            }
            _ => Err(invalid(
                format!("{ROOT}.timeoutSeconds"),
                format!("must be a number of seconds above 0 and at most 86400, found {n}"),
            )),
        },
        Some(other) => Err(wrong_kind(
            format!("{ROOT}.timeoutSeconds"),
            "a number of seconds",
            other,
        )),
    }
}

fn read_models(value: Option<&Value>) -> Result<Vec<Model>, ProviderError> {
    let path = format!("{ROOT}.models");
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(wrong_kind(path, "a list of models", other));
        }
    };
    let mut models: Vec<Model> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let model = read_model(item, &format!("{path}[{index}]"))?;
        if let Some(first) = models.iter().position(|m| m.id == model.id) {
            return Err(invalid(
                format!("{path}[{index}].id"),
                format!("\"{}\" is already listed at {path}[{first}]", model.id),
            ));
        }
        models.push(model);
    }
    Ok(models)
}

fn read_model(value: &Value, path: &str) -> Result<Model, ProviderError> {
    let Value::Object(fields) = value else {
        return Err(wrong_kind(path, "an object with at least an id", value));
    };
    let field = |name: &str| (fields.get(name), format!("{path}.{name}"));

    let (id, id_path) = field("id");
    let id = match id {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        Some(other) => {
            return Err(wrong_kind(id_path, "a non-empty string", other));
        }
        None => {
            return Err(invalid(
                id_path,
                "is missing: every model needs the server's model id",
            ));
        }
    };
    // A `vllm/` reference in the id is a common slip; the server knows the bare id.
    let id = id.strip_prefix("vllm/").map(str::to_owned).unwrap_or(id);

    let name = match field("name") {
        (None | Some(Value::Null), _) => id.clone(),
        (Some(Value::String(name)), _) => name.clone(),
        (Some(other), path) => {
            return Err(wrong_kind(path, "a string", other));
        }
    };
    let reasoning = match field("reasoning") {
        (None | Some(Value::Null), _) => guess_reasoning(&id),
        (Some(Value::Bool(flag)), _) => *flag,
        (Some(other), path) => {
            return Err(wrong_kind(path, "true or false", other));
        }
    };
    let input = read_input(field("input"))?;
    let cost = read_cost(field("cost"))?;
    let context_window = read_count(field("contextWindow"))?.unwrap_or(DEFAULT_CONTEXT_WINDOW);
    let (max_tokens, max_path) = field("maxTokens");
    let max_tokens = match read_count((max_tokens, max_path.clone()))? {
        None => DEFAULT_MAX_TOKENS.min(context_window),
        Some(max) if max > context_window => {
            return Err(invalid(
                max_path,
                format!(
                    "{max} is larger than the context window ({context_window}): lower it, or \
                     raise contextWindow"
                ),
            ));
        }
        Some(max) => max,
    };
    let compat = compat::read(fields.get("compat"), &format!("{path}.compat"))?;
    let thinking = crate::thinking_control::profile(&id, reasoning, &compat);
    Ok(Model {
        id,
        name,
        reasoning,
        input,
        cost,
        context_window,
        max_tokens,
        root: None,
        parent: None,
        compat,
        thinking,
    })
}

/// A model's `compat` when the config says nothing of it.
pub fn no_compat() -> ModelCompat {
    compat::none()
}

fn read_input((value, path): (Option<&Value>, String)) -> Result<Vec<InputKind>, ProviderError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(vec![InputKind::Text]),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(wrong_kind(path, "a list like [\"text\", \"image\"]", other));
        }
    };
    let mut kinds = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let kind = match item.as_str() {
            Some("text") => InputKind::Text,
            Some("image") => InputKind::Image,
            _ => {
                return Err(invalid(
                    format!("{path}[{index}]"),
                    format!(
                        "must be \"text\" or \"image\", found {}",
                        crate::json::text(item)
                    ),
                ));
            }
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(invalid(path, "must name at least \"text\""));
    }
    Ok(kinds)
}

fn read_cost((value, path): (Option<&Value>, String)) -> Result<ModelCost, ProviderError> {
    let mut cost = ModelCost {
        input: 0.0,
        output: 0.0,
        cache_read: 0.0,
        cache_write: 0.0,
    };
    let fields = match value {
        None | Some(Value::Null) => return Ok(cost),
        Some(Value::Object(fields)) => fields,
        Some(other) => {
            return Err(wrong_kind(
                path,
                "an object {input, output, cacheRead, cacheWrite}",
                other,
            ));
        }
    };
    for (name, slot) in [
        ("input", &mut cost.input),
        ("output", &mut cost.output),
        ("cacheRead", &mut cost.cache_read),
        ("cacheWrite", &mut cost.cache_write),
    ] {
        match fields.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_f64().is_some_and(|v| v >= 0.0 && v.is_finite()) => {
                *slot = n.as_f64().unwrap_or_default();
            }
            Some(other) => {
                return Err(invalid(
                    format!("{path}.{name}"),
                    format!(
                        "must be a price per million tokens (0 or more), found {}",
                        crate::json::text(other)
                    ),
                ));
            }
        }
    }
    Ok(cost)
}

fn read_count((value, path): (Option<&Value>, String)) -> Result<Option<u32>, ProviderError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(count) if count > 0 => Ok(Some(count)),
            _ => Err(invalid(
                path,
                format!("must be a whole number of tokens above 0, found {n}"),
            )),
        },
        Some(other) => Err(wrong_kind(path, "a whole number of tokens", other)),
    }
}

/// The error for a value of the wrong kind at `path`: what it must be, and
/// the kind found (never the value itself, which may be a secret).
fn wrong_kind(path: impl Into<String>, expected: &str, found: &Value) -> ProviderError {
    invalid(
        path,
        format!("must be {expected}, found {}", kind_of(found)),
    )
}

/// A JSON value's kind, for error messages that must not echo the value.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::KeyValue;
    use serde_json::json;

    fn input(section: Option<Value>, env: &[(&str, &str)]) -> ConfigInput {
        ConfigInput {
            provider_json: section.map(|v| v.to_string()),
            env: env
                .iter()
                .map(|(name, value)| KeyValue {
                    name: (*name).into(),
                    value: (*value).into(),
                })
                .collect(),
            auth_profile_key: None,
            base_url_override: None,
        }
    }

    fn config_error(result: Result<ProviderConfig, ProviderError>) -> ConfigError {
        match result {
            Err(ProviderError::InvalidConfig(e)) => e,
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn nothing_configured_is_disabled_with_a_reason() {
        let config = resolve(&input(None, &[])).expect("resolves");
        assert_eq!(config.mode, ProviderMode::Disabled);
        assert!(config.reason.contains("VLLM_API_KEY"));
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.api_key, None);
    }

    #[test]
    fn key_alone_opts_in_to_discovery() {
        let config = resolve(&input(None, &[("VLLM_API_KEY", "vllm-local")])).expect("resolves");
        assert_eq!(config.mode, ProviderMode::Discover);
        assert_eq!(config.api_key.as_deref(), Some("vllm-local"));
        let empty = resolve(&input(None, &[("VLLM_API_KEY", "")])).expect("resolves");
        assert_eq!(empty.mode, ProviderMode::Disabled);
    }

    #[test]
    fn auth_profile_and_base_url_override_opt_in_too() {
        let mut with_profile = input(None, &[]);
        with_profile.auth_profile_key = Some("p".into());
        let config = resolve(&with_profile).expect("resolves");
        assert_eq!(config.mode, ProviderMode::Discover);
        assert_eq!(config.api_key.as_deref(), Some("p"));

        let mut with_url = input(None, &[]);
        with_url.base_url_override = Some("http://127.0.0.1:9/v1/".into());
        let config = resolve(&with_url).expect("resolves");
        assert_eq!(config.mode, ProviderMode::Discover);
        assert_eq!(config.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(config.api_key, None);
    }

    #[test]
    fn explicit_models_skip_discovery() {
        let section = json!({
            "baseUrl": "http://10.0.0.5:9000/v1/",
            "apiKey": "${VLLM_API_KEY}",
            "api": "openai-completions",
            "headers": {"X-Team": "a"},
            "timeoutSeconds": 30,
            "models": [
                {"id": "qwen-r1", "contextWindow": 32768},
                {"id": "vllm/llama", "name": "Llama", "reasoning": false, "input": ["text", "image"],
                 "cost": {"input": 1, "output": 2, "cacheRead": 0.5, "cacheWrite": 0},
                 "contextWindow": 4096, "maxTokens": 1024}
            ]
        });
        let config = resolve(&input(Some(section), &[("VLLM_API_KEY", "sk-1")])).expect("resolves");
        assert_eq!(config.mode, ProviderMode::Explicit);
        assert_eq!(config.base_url, "http://10.0.0.5:9000/v1");
        assert_eq!(config.api_key.as_deref(), Some("sk-1"));
        assert_eq!(config.timeout_ms, 30_000);
        assert_eq!(config.headers.len(), 1);
        let [first, second] = config.models.as_slice() else {
            panic!("two models");
        };
        assert!(first.reasoning, "r1 in the id means reasoning");
        assert_eq!(first.max_tokens, 8192);
        assert_eq!(first.context_window, 32768);
        assert_eq!(second.id, "llama");
        assert_eq!(second.input, vec![InputKind::Text, InputKind::Image]);
        assert_eq!(second.cost.cache_read, 0.5);
        assert_eq!(second.max_tokens, 1024);
    }

    #[test]
    fn section_without_models_discovers() {
        let config = resolve(&input(Some(json!({"baseUrl": "http://h:1/v1"})), &[])).expect("ok");
        assert_eq!(config.mode, ProviderMode::Discover);
        assert!(config.reason.contains("lists no models"));
    }

    #[test]
    fn small_context_caps_default_max_tokens() {
        let section = json!({"models": [{"id": "tiny", "contextWindow": 2048}]});
        let config = resolve(&input(Some(section), &[])).expect("ok");
        assert_eq!(config.models[0].max_tokens, 2048);
    }

    #[test]
    fn missing_variable_names_the_path_not_the_value() {
        let section = json!({"apiKey": "${MY_KEY}"});
        let error = config_error(resolve(&input(Some(section), &[("VLLM_API_KEY", "sk-x")])));
        assert_eq!(error.path, "models.providers.vllm.apiKey");
        assert!(error.reason.contains("MY_KEY"));
        assert!(!error.reason.contains("sk-x"));

        let nested = json!({"headers": {"X-Auth": "${TOKEN}"}});
        assert_eq!(
            config_error(resolve(&input(Some(nested), &[]))).path,
            "models.providers.vllm.headers.X-Auth"
        );
    }

    #[test]
    fn literal_dollar_braces_survive() {
        let section = json!({"headers": {"X-Tpl": "$${NOT_A_VAR}"}});
        let config = resolve(&input(Some(section), &[])).expect("ok");
        assert_eq!(config.headers[0].value, "${NOT_A_VAR}");
    }

    #[test]
    fn bad_values_name_their_paths() {
        let cases = [
            (
                json!({"models": [{"id": "a"}, {"id": "b", "contextWindow": "big"}]}),
                "models.providers.vllm.models[1].contextWindow",
            ),
            (
                json!({"models": [{"id": "a"}, {"id": "b"}, {"id": "c", "contextWindow": 0}]}),
                "models.providers.vllm.models[2].contextWindow",
            ),
            (
                json!({"models": [{"id": "a", "contextWindow": 1000, "maxTokens": 2000}]}),
                "models.providers.vllm.models[0].maxTokens",
            ),
            (
                json!({"models": [{"name": "no id"}]}),
                "models.providers.vllm.models[0].id",
            ),
            (
                json!({"models": [{"id": "a"}, {"id": "a"}]}),
                "models.providers.vllm.models[1].id",
            ),
            (
                json!({"models": [{"id": "a", "input": ["audio"]}]}),
                "models.providers.vllm.models[0].input[0]",
            ),
            (
                json!({"models": [{"id": "a", "cost": {"input": -1}}]}),
                "models.providers.vllm.models[0].cost.input",
            ),
            (
                json!({"baseUrl": "localhost:8000"}),
                "models.providers.vllm.baseUrl",
            ),
            (json!({"api": "anthropic"}), "models.providers.vllm.api"),
            (
                json!({"timeoutSeconds": -5}),
                "models.providers.vllm.timeoutSeconds",
            ),
            (json!({"headers": ["x"]}), "models.providers.vllm.headers"),
            (
                json!({"models": {"id": "a"}}),
                "models.providers.vllm.models",
            ),
        ];
        for (section, path) in cases {
            let error = config_error(resolve(&input(Some(section.clone()), &[])));
            assert_eq!(error.path, path, "{section}: {}", error.reason);
        }
        let mut bad_override = input(None, &[]);
        bad_override.base_url_override = Some("nope".into());
        assert_eq!(config_error(resolve(&bad_override)).path, "--base-url");
    }

    #[test]
    fn non_json_and_non_object_sections_are_errors() {
        let mut bad = input(None, &[]);
        bad.provider_json = Some("{not json".into());
        assert_eq!(config_error(resolve(&bad)).path, ROOT);
        bad.provider_json = Some("[1]".into());
        assert!(config_error(resolve(&bad)).reason.contains("a list"));
    }
}
