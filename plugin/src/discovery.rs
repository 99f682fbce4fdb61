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

#[derive(Debug)]
struct ModelCard {
    id: String,
    root: Option<String>,
    parent: Option<String>,
    max_model_len: Option<u64>,
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
    /// A card's fields; a card may carry any others.
    fn read(card: &Value) -> Result<Self, String> {
        let Value::Object(fields) = card else {
            return Err("a model card must be an object".to_owned());
        };
        let text = |name: &str| match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("`{name}` must be a string")),
        };
        let id = match fields.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err("`id` must be a string".to_owned()),
            None => return Err("missing field `id`".to_owned()),
        };
        let max_model_len = match fields.get("max_model_len") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(_) => return Err("`max_model_len` must be a whole number".to_owned()),
        };
        Ok(Self {
            id,
            root: text("root")?,
            parent: text("parent")?,
            max_model_len,
        })
    }
}

/// OpenClaw's rule: an id that mentions r1, reasoning, think or reason.
pub fn guess_reasoning(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    ["r1", "reason", "think"]
        .iter()
        .any(|word| id.contains(word))
}

/// Parse a `GET /models` body.
pub fn parse_models(body: &[u8], url: &str) -> Result<Vec<Model>, ProviderError> {
    let list = json::utf8(body)
        .and_then(|text| json::read(text, read_list))
        .map_err(|e| {
            ProviderError::InvalidResponse(format!(
                "GET {url} did not return vLLM's model list ({e}): check that baseUrl points at \
             vLLM's /v1 API"
            ))
        })?;
    let cards = list
        .iter()
        .enumerate()
        .map(|(index, card)| {
            ModelCard::read(card).map_err(|e| {
                ProviderError::InvalidResponse(format!(
                    "GET {url}: model card data[{index}] is malformed ({e})"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let window_of = |card: &ModelCard| {
        card.max_model_len
            .map(|len| u32::try_from(len).unwrap_or(u32::MAX))
            .filter(|len| *len > 0)
    };
    Ok(cards
        .iter()
        .map(|card| {
            let inherited = card.parent.as_ref().and_then(|parent| {
                cards
                    .iter()
                    .find(|other| &other.id == parent)
                    .and_then(window_of)
            });
            let context_window = window_of(card)
                .or(inherited)
                .unwrap_or(DEFAULT_CONTEXT_WINDOW);
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
            }
        })
        .collect())
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
        let models = parse_models(body.to_string().as_bytes(), "u").expect("parses");
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
        let error = parse_models(br#"{"data":[{"object":"model"}]}"#, "u").expect_err("no id");
        assert!(matches!(error, ProviderError::InvalidResponse(m) if m.contains("data[0]")));
    }
}
