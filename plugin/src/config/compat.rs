//! A model entry's `compat`: what its chat template understands about
//! thinking, in OpenClaw's words (`thinkingFormat`,
//! `supportedReasoningEfforts`, `reasoningEffortMap`,
//! `supportsReasoningEffort`). OpenClaw's other `compat` keys are its own
//! and are left alone.

use super::{invalid, wrong_kind};
use crate::wit::{KeyValue, ModelCompat, ProviderError, ThinkingFormat};
use serde_json::{Map, Value};

/// The `thinkingFormat` values this provider sends, with what they mean.
const FORMATS: [(&str, ThinkingFormat); 2] = [
    ("qwen-chat-template", ThinkingFormat::QwenChatTemplate),
    ("qwen", ThinkingFormat::Qwen),
];

/// No thinking settings.
pub fn none() -> ModelCompat {
    ModelCompat {
        thinking_format: None,
        supported_reasoning_efforts: Vec::new(),
        reasoning_effort_map: Vec::new(),
        supports_reasoning_effort: None,
    }
}

/// Reads the `compat` at `path` (absent or `null`: none).
pub(super) fn read(value: Option<&Value>, path: &str) -> Result<ModelCompat, ProviderError> {
    let fields = match value {
        None | Some(Value::Null) => return Ok(none()),
        Some(Value::Object(fields)) => fields,
        Some(other) => return Err(wrong_kind(path, "an object", other)),
    };
    let at = |name: &str| format!("{path}.{name}");
    let thinking_format = match fields.get("thinkingFormat") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => FORMATS
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, format)| *format),
        Some(other) => return Err(wrong_kind(at("thinkingFormat"), "a string", other)),
    };
    let supported_reasoning_efforts = match fields.get("supportedReasoningEfforts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                effort(
                    item,
                    &format!("{}[{index}]", at("supportedReasoningEfforts")),
                )
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(wrong_kind(
                at("supportedReasoningEfforts"),
                "a list of strings",
                other,
            ));
        }
    };
    let reasoning_effort_map = match fields.get("reasoningEffortMap") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(level, value)| {
                Ok(KeyValue {
                    name: level.trim().to_ascii_lowercase(),
                    value: effort(value, &format!("{}.{level}", at("reasoningEffortMap")))?,
                })
            })
            .collect::<Result<_, ProviderError>>()?,
        Some(other) => {
            return Err(wrong_kind(
                at("reasoningEffortMap"),
                "an object of thinking levels to efforts",
                other,
            ));
        }
    };
    let supports_reasoning_effort = match fields.get("supportsReasoningEffort") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(other) => {
            return Err(wrong_kind(
                at("supportsReasoningEffort"),
                "true or false",
                other,
            ));
        }
    };
    Ok(ModelCompat {
        thinking_format,
        supported_reasoning_efforts,
        reasoning_effort_map,
        supports_reasoning_effort,
    })
}

/// One effort name: a non-empty string, trimmed.
fn effort(value: &Value, path: &str) -> Result<String, ProviderError> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(name.trim().to_owned()),
        Value::String(_) => Err(invalid(path, "is empty: name an effort, e.g. \"high\"")),
        other => Err(wrong_kind(path, "an effort name (a string)", other)),
    }
}

/// A warning when the entry's `compat.thinkingFormat` is one this provider
/// does not send (OpenClaw knows formats for other providers): thinking is
/// then not controlled for that model, which a typo would hide.
pub(super) fn warnings(entry: &Map<String, Value>, path: &str) -> Option<String> {
    let Some(Value::String(name)) = entry.get("compat")?.get("thinkingFormat") else {
        return None;
    };
    if FORMATS.iter().any(|(known, _)| known == name) {
        return None;
    }
    Some(format!(
        "{path}.compat.thinkingFormat {} is not a format this provider sends (qwen-chat-template, \
         qwen): a thinking level changes nothing for this model",
        crate::quote::quoted(name)
    ))
}
