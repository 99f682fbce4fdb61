//! The OpenClaw-style config file (`openclaw.json`, JSON5).
//!
//! Only two things are read from it: the `models.providers.vllm` section,
//! handed to the plugin as JSON text (the plugin validates it and reports
//! errors by config path), and `agents.defaults.model.primary`, the default
//! chat model. The environment variables the section refers to as `${NAME}`
//! are collected too, so the plugin can substitute them: the host exposes
//! `VLLM_API_KEY` plus exactly those names, nothing else.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fail::Failure;
use super::json5_tree;

/// What the CLI takes from the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// `models.providers.vllm` as JSON text.
    pub provider_json: Option<String>,
    /// `agents.defaults.model.primary` (or `agents.defaults.model` when it
    /// is a plain string).
    pub primary_model: Option<String>,
    /// `${NAME}` references in the provider section, in order, each once.
    pub env_refs: Vec<String>,
}

/// Where the config file is: `--config`, else `$OPENCLAW_CONFIG_PATH`, else
/// `~/.openclaw/openclaw.json` when that exists, else nowhere.
pub fn locate(
    explicit: Option<&Path>,
    env_path: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_owned());
    }
    if let Some(path) = env_path.filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let default = PathBuf::from(home.filter(|h| !h.is_empty())?)
        .join(".openclaw")
        .join("openclaw.json");
    default.is_file().then_some(default)
}

/// Reads and parses the config file, if there is one.
pub fn load(explicit: Option<&Path>) -> Result<ConfigFile, Failure> {
    let Some(path) = locate(
        explicit,
        std::env::var_os("OPENCLAW_CONFIG_PATH"),
        std::env::var_os("HOME"),
    ) else {
        return Ok(ConfigFile::default());
    };
    let text = std::fs::read_to_string(&path).map_err(|err| {
        Failure::usage(format!("cannot read config file {}: {err}", path.display()))
    })?;
    let mut file = parse(&path.display().to_string(), &text)?;
    file.path = Some(path);
    Ok(file)
}

/// Parses config text; `name` is how errors refer to the file.
pub fn parse(name: &str, text: &str) -> Result<ConfigFile, Failure> {
    let value: Value = json5_tree::parse(text).map_err(|err| match err {
        json5_tree::ReadError::Syntax(json5::Error::Message { msg, location }) => {
            let reason = short_reason(&msg);
            Failure::usage(match location {
                Some(at) => format!("{name}:{}:{}: {reason}", at.line, at.column),
                None => format!("{name}: {reason}"),
            })
        }
        non_finite => Failure::usage(format!("{name}: {non_finite}")),
    })?;
    if !value.is_object() {
        return Err(Failure::usage(format!(
            "{name}: the config must be an object at the top level"
        )));
    }
    let provider = value.pointer("/models/providers/vllm");
    let primary = match value.pointer("/agents/defaults/model") {
        Some(Value::String(model)) => Some(model.clone()),
        Some(model) => model
            .get("primary")
            .and_then(Value::as_str)
            .map(str::to_owned),
        None => None,
    };
    let mut env_refs = Vec::new();
    if let Some(section) = provider {
        collect_env_refs(section, &mut env_refs);
    }
    Ok(ConfigFile {
        path: None,
        provider_json: provider.map(Value::to_string),
        primary_model: primary.filter(|m| !m.trim().is_empty()),
        env_refs,
    })
}

/// The one line of a json5 (pest) message that says what was expected,
/// without the source excerpt: that excerpt could be the line holding a key.
fn short_reason(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("= "))
        .or_else(|| {
            msg.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("-->"))
        })
        .unwrap_or("not valid JSON5")
        .to_owned()
}

/// Every `${NAME}` (NAME = `[A-Z_][A-Z0-9_]*`) in the strings of `value`;
/// `$${...}` is a literal and not a reference.
fn collect_env_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            for name in env_refs_in(text) {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_env_refs(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_env_refs(v, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn env_refs_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            rest = after; // a literal `${`
        } else if let Some(after) = tail.strip_prefix("${") {
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    if is_env_name(name) {
                        names.push(name.to_owned());
                    }
                    rest = &after[end + 1..];
                }
                None => break,
            }
        } else {
            rest = &tail[1..];
        }
    }
    names
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ConfigFile {
        match parse("openclaw.json", text) {
            Ok(file) => file,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn extracts_the_provider_section_and_primary_model() {
        let file = parsed(
            r#"{
              // OpenClaw config, JSON5
              agents: { defaults: { model: { primary: "vllm/m1" } } },
              models: { providers: { vllm: {
                baseUrl: "http://127.0.0.1:8000/v1",
                apiKey: "${VLLM_API_KEY}",
                headers: { "X-Team": "${TEAM_ID}-${TEAM_ID}", Lit: "$${NOT_A_REF}" },
                models: [{ id: "m1", contextWindow: 2048, }],
              } } },
            }"#,
        );
        assert_eq!(file.primary_model.as_deref(), Some("vllm/m1"));
        let section: Value =
            serde_json::from_str(file.provider_json.as_deref().expect("section")).expect("json");
        assert_eq!(section["baseUrl"], "http://127.0.0.1:8000/v1");
        assert_eq!(section["models"][0]["contextWindow"], 2048);
        assert_eq!(file.env_refs, ["VLLM_API_KEY", "TEAM_ID"]);
    }

    #[test]
    fn absent_sections_are_none() {
        let file = parsed("{ agents: { defaults: { model: \"vllm/x\" } } }");
        assert_eq!(file.provider_json, None);
        assert_eq!(file.primary_model.as_deref(), Some("vllm/x"));
        assert!(file.env_refs.is_empty());
        assert_eq!(parsed("{}"), ConfigFile::default());
    }

    #[test]
    fn syntax_errors_give_file_line_col_and_no_source_excerpt() {
        let text = "{\n  models: {\n    apiKey: \"sk-very-secret\" oops\n  }\n}";
        let err = parse("cfg.json5", text).expect_err("invalid JSON5");
        assert_eq!(err.code, 2);
        assert!(err.message.starts_with("cfg.json5:3:"), "{}", err.message);
        assert!(!err.message.contains("sk-very-secret"), "{}", err.message);
        assert!(!err.message.contains('\n'), "{}", err.message);
    }

    #[test]
    fn top_level_must_be_an_object() {
        let err = parse("c.json", "[1, 2]").expect_err("not an object");
        assert!(err.message.contains("object"), "{}", err.message);
    }

    #[test]
    fn env_reference_names() {
        assert_eq!(env_refs_in("${A}${B_1}x${_C}"), ["A", "B_1", "_C"]);
        assert!(env_refs_in("${lower} ${1X} ${} $${ESC} ${UNTERMINATED").is_empty());
        assert_eq!(env_refs_in("$$${X}"), Vec::<String>::new());
        assert_eq!(env_refs_in("$ ${Y}"), ["Y"]);
    }

    #[test]
    fn location_precedence() {
        let explicit = Path::new("/explicit.json");
        assert_eq!(
            locate(Some(explicit), Some("/env.json".into()), None),
            Some(explicit.to_owned())
        );
        assert_eq!(
            locate(None, Some("/env.json".into()), Some("/home".into())),
            Some(PathBuf::from("/env.json"))
        );
        assert_eq!(
            locate(None, None, Some("/nonexistent-home-dir".into())),
            None
        );
        assert_eq!(locate(None, Some("".into()), None), None);
    }
}
