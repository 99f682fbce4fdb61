//! A request's thinking level, put on the wire the way each model's chat
//! template takes it, as OpenClaw's vLLM provider does:
//!
//! - `compat.thinkingFormat: "qwen-chat-template"`:
//!   `chat_template_kwargs.enable_thinking`, and `reasoning_effort` inside
//!   `chat_template_kwargs` when the model declares efforts;
//! - `compat.thinkingFormat: "qwen"`: a top-level `enable_thinking` (and
//!   `reasoning_effort` beside it);
//! - a DeepSeek-V4 id: `chat_template_kwargs` `thinking` and
//!   `enable_thinking` (vLLM turns thinking on if either is true), and
//!   `reasoning_effort` when thinking is on;
//! - a Nemotron-3 id with thinking off: `chat_template_kwargs`
//!   `{enable_thinking: false, force_nonempty_content: true}`;
//! - any other model: nothing.
//!
//! `chat_template_kwargs` the request gives win over these defaults. A model
//! marked `reasoning: false` gets none of them (but the Nemotron rule, which
//! only ever turns thinking off).

use crate::wit::{Model, ModelCompat, ThinkingFormat, ThinkingLevel, ThinkingProfile};
use serde_json::{Map, Value};

/// The levels from least to most thinking.
pub const LEVELS: [ThinkingLevel; 7] = [
    ThinkingLevel::Off,
    ThinkingLevel::Minimal,
    ThinkingLevel::Low,
    ThinkingLevel::Medium,
    ThinkingLevel::High,
    ThinkingLevel::Xhigh,
    ThinkingLevel::Max,
];

/// A level's name, as OpenClaw writes it.
pub fn name(level: ThinkingLevel) -> &'static str {
    match level {
        ThinkingLevel::Off => "off",
        ThinkingLevel::Minimal => "minimal",
        ThinkingLevel::Low => "low",
        ThinkingLevel::Medium => "medium",
        ThinkingLevel::High => "high",
        ThinkingLevel::Xhigh => "xhigh",
        ThinkingLevel::Max => "max",
    }
}

/// How a model's thinking is switched, if the provider can switch it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Switch {
    ChatTemplate,
    TopLevel,
    DeepSeek,
    /// Only off can be said (Nemotron 3).
    OffOnly,
}

fn switch(id: &str, reasoning: bool, compat: &ModelCompat) -> Option<Switch> {
    match compat.thinking_format {
        _ if !reasoning => None,
        Some(ThinkingFormat::QwenChatTemplate) => Some(Switch::ChatTemplate),
        Some(ThinkingFormat::Qwen) => Some(Switch::TopLevel),
        None if is_deepseek_v4(id) => Some(Switch::DeepSeek),
        None if is_nemotron_3(id) => Some(Switch::OffOnly),
        None => None,
    }
}

/// The thinking levels a host should offer for a model; none when a
/// level would change nothing on the wire.
pub fn profile(id: &str, reasoning: bool, compat: &ModelCompat) -> Option<ThinkingProfile> {
    switch(id, reasoning, compat)?;
    let mut levels = vec![ThinkingLevel::Off];
    if efforts(compat).is_some() {
        levels.extend(
            LEVELS[1..]
                .iter()
                .copied()
                .filter(|level| declared_effort(compat, *level).is_some()),
        );
    }
    if levels.len() == 1 {
        // A switch without efforts: off, and on (OpenClaw shows `low` as "on").
        levels.push(ThinkingLevel::Low);
    }
    Some(ThinkingProfile {
        levels,
        default_level: ThinkingLevel::Off,
    })
}

/// Puts `level` into a chat request's `body` for `model` (the model the
/// request names; `None` when the config does not list it, then judged by
/// `id` alone).
pub fn apply(body: &mut Map<String, Value>, id: &str, model: Option<&Model>, level: ThinkingLevel) {
    let none = crate::config::no_compat();
    let (reasoning, compat) = match model {
        Some(model) => (model.reasoning, &model.compat),
        None => (crate::discovery::guess_reasoning(id), &none),
    };
    let on = level != ThinkingLevel::Off;
    let effort = || on.then(|| effort(compat, id, level)).flatten();
    // The Nemotron rule holds whatever the model's `reasoning` says.
    let switch =
        switch(id, reasoning, compat).or((!on && is_nemotron_3(id)).then_some(Switch::OffOnly));
    match switch {
        Some(Switch::ChatTemplate) => {
            let mut defaults = Map::new();
            defaults.insert("enable_thinking".into(), on.into());
            if let Some(effort) = effort() {
                defaults.insert("reasoning_effort".into(), effort.into());
            }
            template_defaults(body, defaults);
        }
        Some(Switch::TopLevel) => {
            body.insert("enable_thinking".into(), on.into());
            if let Some(effort) = effort() {
                body.insert("reasoning_effort".into(), effort.into());
            }
        }
        Some(Switch::DeepSeek) => {
            let mut defaults = Map::new();
            defaults.insert("thinking".into(), on.into());
            defaults.insert("enable_thinking".into(), on.into());
            if let Some(effort) = effort() {
                defaults.insert("reasoning_effort".into(), effort.into());
            }
            template_defaults(body, defaults);
        }
        Some(Switch::OffOnly) if !on => {
            let mut defaults = Map::new();
            defaults.insert("enable_thinking".into(), false.into());
            defaults.insert("force_nonempty_content".into(), true.into());
            template_defaults(body, defaults);
        }
        Some(Switch::OffOnly) | None => {}
    }
}

/// `chat_template_kwargs` = `defaults` under what the request already set.
fn template_defaults(body: &mut Map<String, Value>, mut defaults: Map<String, Value>) {
    if let Some(Value::Object(given)) = body.remove("chat_template_kwargs") {
        defaults.extend(given);
    }
    body.insert("chat_template_kwargs".into(), Value::Object(defaults));
}

/// The efforts a model declares, when its template takes any.
fn efforts(compat: &ModelCompat) -> Option<&[String]> {
    let efforts = compat.supported_reasoning_efforts.as_slice();
    (compat.supports_reasoning_effort != Some(false) && !efforts.is_empty()).then_some(efforts)
}

/// The declared effort that `level` maps to exactly: the map's entry for
/// it, or its own name, when the model declares that effort.
fn declared_effort(compat: &ModelCompat, level: ThinkingLevel) -> Option<String> {
    let efforts = efforts(compat)?;
    let wanted = mapped(compat, level);
    efforts.iter().find(|e| **e == wanted).cloned()
}

/// The effort asked for by `level`: the map's entry, else the level's name.
fn mapped(compat: &ModelCompat, level: ThinkingLevel) -> String {
    compat
        .reasoning_effort_map
        .iter()
        .find(|kv| kv.name == name(level))
        .map_or_else(|| name(level).to_owned(), |kv| kv.value.clone())
}

/// The `reasoning_effort` sent for a level that is not off: with declared
/// efforts, the declared one it maps to, else the nearest declared level
/// below it, else above it; none when the model declares efforts but none
/// fits. Without declared efforts, efforts go only to DeepSeek-V4, as the
/// level's (mapped) name.
fn effort(compat: &ModelCompat, id: &str, level: ThinkingLevel) -> Option<String> {
    if compat.supports_reasoning_effort == Some(false) {
        return None;
    }
    if efforts(compat).is_none() {
        return (compat.thinking_format.is_none() && is_deepseek_v4(id))
            .then(|| mapped(compat, level));
    }
    if let Some(exact) = declared_effort(compat, level) {
        return Some(exact);
    }
    let at = LEVELS.iter().position(|l| *l == level)?;
    let below = LEVELS[1..at].iter().rev();
    let above = LEVELS[at + 1..].iter();
    below.chain(above).find_map(|l| declared_effort(compat, *l))
}

/// `deepseek-v4`, `deepseek_v4-pro`, `DeepSeek-V4-Flash`, ... in the id
/// (OpenClaw's `/deepseek[-_]?v4(?:[-_](?:pro|flash))?\b/i`).
pub(crate) fn is_deepseek_v4(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    id.match_indices("deepseek").any(|(at, _)| {
        let rest = &id[at + "deepseek".len()..];
        let rest = rest.strip_prefix(['-', '_']).unwrap_or(rest);
        rest.strip_prefix("v4")
            .is_some_and(|rest| ends_word(rest, &["_pro", "_flash"]))
    })
}

/// `nemotron-3`, `nemotron-3-nano`, ... as a word of the id (OpenClaw's
/// `/\bnemotron-3(?:[-_](?:nano|super|ultra))?\b/i`).
fn is_nemotron_3(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    id.match_indices("nemotron-3").any(|(at, _)| {
        let starts_word = !id[..at].ends_with(is_word_char);
        let rest = &id[at + "nemotron-3".len()..];
        starts_word && ends_word(rest, &["_nano", "_super", "_ultra"])
    })
}

/// A regex `\b` before `rest`, or after one of `suffixes` at its start (a
/// suffix after `-` needs no check: `-` already ends the word).
fn ends_word(rest: &str, suffixes: &[&str]) -> bool {
    !rest.starts_with(is_word_char)
        || suffixes.iter().any(|suffix| {
            rest.strip_prefix(suffix)
                .is_some_and(|rest| !rest.starts_with(is_word_char))
        })
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests;
