//! `discover-models`: vLLM's model cards become model entries.
//!
//! OpenClaw never reads `max_model_len` and assumes 128000 tokens; the card
//! says the real number. LoRA adapters carry no `max_model_len` of their own
//! and run inside their parent's window.

use crate::wit::{InputKind, Model, ModelCost, ProviderError};
use serde::Deserialize;

/// OpenClaw's context window when nothing better is known.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 128_000;
/// OpenClaw's default output budget.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

#[derive(Debug, Deserialize)]
struct ModelList {
    data: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct ModelCard {
    id: String,
    #[serde(default)]
    root: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    max_model_len: Option<u64>,
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
    let list: ModelList = crate::json::parse(body).map_err(|e| {
        ProviderError::InvalidResponse(format!(
            "GET {url} did not return vLLM's model list ({e}): check that baseUrl points at \
             vLLM's /v1 API"
        ))
    })?;
    let cards = list
        .data
        .into_iter()
        .enumerate()
        .map(|(index, card)| {
            serde_json::from_value::<ModelCard>(card).map_err(|e| {
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
