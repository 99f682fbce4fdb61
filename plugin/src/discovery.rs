//! `discover-models`: vLLM's model cards become model entries.
//!
//! OpenClaw never reads `max_model_len` and assumes 128000 tokens; the card
//! says the real number. LoRA adapters carry no `max_model_len` of their own
//! and run inside their parent's window.

use crate::json::{self, Reader};
use crate::wit::{InputKind, Model, ModelCost, ProviderError};
use serde_json::Value;

/// OpenClaw's context window when nothing better is known.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 128_000;
/// OpenClaw's default output budget.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// What discovery found: the models, and a warning for each card that was
/// skipped or read with a fallback (the component writes them to stderr as
/// `warning:` lines, which hosts show).
#[derive(Debug, Default)]
pub struct Discovered {
    /// One model per usable card, each id once, in the server's order.
    pub models: Vec<Model>,
    /// What was wrong with the other cards, and what was done instead.
    pub warnings: Vec<String>,
}

#[derive(Debug)]
struct ModelCard {
    id: String,
    root: Option<String>,
    parent: Option<String>,
    /// A usable window, if the card gave one.
    max_model_len: Option<u32>,
    /// The card gave a `max_model_len` that is not a token count: what it
    /// was, in words.
    bad_max_model_len: Option<String>,
}

/// The `data` of `{"object":"list","data":[card, ...]}`, each card as it is.
fn read_list(reader: &mut Reader<'_>) -> Result<Vec<Value>, json::Error> {
    let mut data = None;
    json::fields!(reader, "a model list object", {
        "data" => {
            let mut cards = Vec::new();
            reader.array("a list of model cards", &mut |reader| {
                cards.push(reader.value()?);
                Ok(())
            })?;
            data = Some(cards);
        },
    });
    data.ok_or_else(|| reader.error("missing field `data`"))
}

impl ModelCard {
    /// A card's fields; a card may carry any others. Without a usable id
    /// the card cannot be used at all: the error says why.
    fn read(card: &Value) -> Result<Self, String> {
        let Value::Object(fields) = card else {
            return Err("it is not an object".to_owned());
        };
        let text = |name: &str| match fields.get(name) {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        let id = match fields.get("id") {
            Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
            Some(Value::String(_)) => return Err("its `id` is empty".to_owned()),
            Some(_) => return Err("its `id` is not a string".to_owned()),
            None => return Err("it has no `id`".to_owned()),
        };
        let (max_model_len, bad_max_model_len) = match fields.get("max_model_len") {
            None | Some(Value::Null) => (None, None),
            Some(Value::Number(n)) => match n.as_u64().map(u32::try_from) {
                Some(Ok(len)) if len > 0 => (Some(len), None),
                Some(Ok(_)) => (None, Some("0".to_owned())),
                Some(Err(_)) => (None, Some(format!("{n}, more than a window can hold"))),
                None => (None, Some(format!("{n}, not a token count"))),
            },
            Some(other) => (
                None,
                Some(format!(
                    "{}, not a number",
                    crate::quote::truncated(&json::text(other), 60)
                )),
            ),
        };
        Ok(Self {
            id,
            root: text("root"),
            parent: text("parent"),
            max_model_len,
            bad_max_model_len,
        })
    }
}

/// OpenClaw's rule: an id that mentions r1, reasoning, think or reason; and
/// a DeepSeek-V4 id.
pub fn guess_reasoning(id: &str) -> bool {
    let lower = id.to_ascii_lowercase();
    ["r1", "reason", "think"]
        .iter()
        .any(|word| lower.contains(word))
        // DeepSeek-V4 thinks unless its template is told not to.
        || crate::thinking_control::is_deepseek_v4(id)
}

/// Parse a `GET /models` body. A body that is not a model list is an error;
/// a card that cannot be used, or has a bad field, only costs a warning.
pub fn parse_models(body: &[u8], url: &str) -> Result<Discovered, ProviderError> {
    let list = json::utf8(body)
        .and_then(|text| json::read(text, read_list))
        .map_err(|e| {
            ProviderError::InvalidResponse(format!(
                "GET {url} did not return vLLM's model list ({e}): check that baseUrl points at \
             vLLM's /v1 API"
            ))
        })?;
    // Each warning with the index of its card, to be told in card order.
    let mut warnings: Vec<(usize, String)> = Vec::new();
    let mut cards: Vec<(usize, ModelCard)> = Vec::with_capacity(list.len());
    for (index, card) in list.iter().enumerate() {
        match ModelCard::read(card) {
            Err(why) => warnings.push((
                index,
                format!("GET {url}: model card data[{index}] is skipped: {why}"),
            )),
            Ok(card) => match cards.iter().find(|(_, other)| other.id == card.id) {
                Some((first, _)) => warnings.push((
                    index,
                    format!(
                        "GET {url}: model `{}` is listed again at data[{index}]; the card at \
                     data[{first}] is used",
                        crate::quote::escaped(&card.id)
                    ),
                )),
                None => cards.push((index, card)),
            },
        }
    }
    let models = cards
        .iter()
        .map(|(index, card)| {
            let inherited = card.parent.as_ref().and_then(|parent| {
                cards
                    .iter()
                    .find(|(_, other)| &other.id == parent)
                    .and_then(|(_, parent)| parent.max_model_len)
            });
            let context_window = card
                .max_model_len
                .or(inherited)
                .unwrap_or(DEFAULT_CONTEXT_WINDOW);
            if let Some(bad) = &card.bad_max_model_len {
                let used = if inherited.is_some() {
                    "its parent's"
                } else {
                    "OpenClaw's default"
                };
                warnings.push((
                    *index,
                    format!(
                        "GET {url}: model `{}` (data[{index}]) has max_model_len {bad}; its \
                         context window is taken as {context_window} ({used}): set \
                         contextWindow for it in models.providers.vllm.models if that is wrong",
                        crate::quote::escaped(&card.id)
                    ),
                ));
            }
            Model {
                id: card.id.clone(),
                name: card.id.clone(),
                reasoning: guess_reasoning(&card.id),
                input: vec![InputKind::Text],
                cost: ModelCost {
                    input: 0.0,
                    output: 0.0,
                    cache_read: 0.0,
                    cache_write: 0.0,
                },
                context_window,
                max_tokens: DEFAULT_MAX_TOKENS.min(context_window),
                root: card.root.clone(),
                parent: card.parent.clone(),
                compat: crate::config::no_compat(),
                thinking: crate::thinking_control::profile(
                    &card.id,
                    guess_reasoning(&card.id),
                    &crate::config::no_compat(),
                ),
            }
        })
        .collect();
    warnings.sort_unstable_by_key(|(index, _)| *index);
    let warnings = warnings.into_iter().map(|(_, text)| text).collect();
    Ok(Discovered { models, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cards_become_models_with_real_windows() {
        let body = json!({"object": "list", "data": [
            {"id": "tiny", "object": "model", "created": 1, "owned_by": "vllm", "root": "/models/tiny",
             "parent": null, "max_model_len": 2048, "permission": [{"object": "model_permission"}]},
            {"id": "tiny-lora", "object": "model", "created": 1, "owned_by": "vllm", "root": "/loras/a",
             "parent": "tiny", "permission": []},
            {"id": "DeepSeek-R1-Distill", "object": "model", "max_model_len": 131072}
        ]});
        let found = parse_models(body.to_string().as_bytes(), "u").expect("parses");
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        let models = found.models;
        assert_eq!(models.len(), 3);
        assert_eq!(models[0].context_window, 2048);
        assert_eq!(
            models[0].max_tokens, 2048,
            "max tokens never above the window"
        );
        assert_eq!(models[0].root.as_deref(), Some("/models/tiny"));
        assert!(!models[0].reasoning);
        assert_eq!(
            models[1].context_window, 2048,
            "LoRA inherits the parent's window"
        );
        assert_eq!(models[1].parent.as_deref(), Some("tiny"));
        assert_eq!(models[2].context_window, 131072);
        assert_eq!(models[2].max_tokens, 8192);
        assert!(models[2].reasoning);
    }

    #[test]
    fn reasoning_guess_follows_openclaw() {
        for id in ["deepseek-r1", "QwQ-Reasoning", "my-thinker", "reason-7b"] {
            assert!(guess_reasoning(id), "{id}");
        }
        for id in ["llama-3", "qwen2.5-coder"] {
            assert!(!guess_reasoning(id), "{id}");
        }
    }

    #[test]
    fn malformed_lists_say_what_is_wrong() {
        let error = parse_models(b"<html></html>", "http://h/v1/models").expect_err("html");
        let ProviderError::InvalidResponse(message) = error else {
            panic!("expected invalid-response");
        };
        assert!(message.contains("http://h/v1/models"));
    }

    #[test]
    fn bad_cards_cost_a_warning_each_and_the_good_ones_are_kept() {
        let body = json!({"object": "list", "data": [
            {"id": "good", "max_model_len": 4096},
            {"id": "neg", "max_model_len": -1},
            {"id": "str", "max_model_len": "abc"},
            {"id": "big", "max_model_len": 1e20},
            {"id": "zero", "max_model_len": 0},
            {"id": "huge", "max_model_len": 4_294_967_301_u64},
            {"id": "lora", "parent": "good", "max_model_len": -5},
            {"id": "good", "max_model_len": 8},
            {"object": "model"},
            {"id": ""},
            {"id": 7},
            "not a card",
        ]});
        let found = parse_models(body.to_string().as_bytes(), "u").expect("parses");
        let ids: Vec<&str> = found.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["good", "neg", "str", "big", "zero", "huge", "lora"]);
        let windows: Vec<u32> = found.models.iter().map(|m| m.context_window).collect();
        assert_eq!(
            windows,
            [4096, 128_000, 128_000, 128_000, 128_000, 128_000, 4096]
        );
        let w = &found.warnings;
        assert_eq!(w.len(), 11, "{w:#?}");
        assert!(
            w[0].contains("model `neg` (data[1]) has max_model_len -1, not a token count"),
            "{}",
            w[0]
        );
        assert!(
            w[0].contains("taken as 128000 (OpenClaw's default)"),
            "{}",
            w[0]
        );
        assert!(
            w.iter()
                .any(|m| m.contains("`str` (data[2]) has max_model_len \"abc\", not a number")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("`huge` (data[5]) has max_model_len 4294967301, more than")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("`zero` (data[4]) has max_model_len 0")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("`lora` (data[6])") && m.contains("4096 (its parent's)")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m
                    .contains("`good` is listed again at data[7]; the card at data[0] is used")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("data[8] is skipped: it has no `id`")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("data[9] is skipped: its `id` is empty")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("data[11] is skipped: it is not an object")),
            "{w:#?}"
        );
    }
}
