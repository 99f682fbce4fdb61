//! Values the unit tests build again and again.

use crate::usage::ZERO_COST;
use crate::wit::{ChatRequest, ContentPart, InputKind, Message, Model, Sampling};

/// Sampling with nothing set.
pub fn sampling() -> Sampling {
    Sampling {
        temperature: None,
        top_p: None,
        max_tokens: None,
        stop: Vec::new(),
        seed: None,
        presence_penalty: None,
        frequency_penalty: None,
        top_k: None,
        min_p: None,
        repetition_penalty: None,
    }
}

/// One user message to `model`.
pub fn chat(model: &str, prompt: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![Message::User(vec![ContentPart::Text(prompt.into())])],
        tools: Vec::new(),
        tool_choice: None,
        sampling: sampling(),
        chat_template_kwargs_json: None,
        structured_output: None,
    }
}

/// A text model with this window and output budget.
pub fn model(id: &str, window: u32, max: u32) -> Model {
    Model {
        id: id.into(),
        name: id.into(),
        reasoning: false,
        input: vec![InputKind::Text],
        cost: ZERO_COST,
        context_window: window,
        max_tokens: max,
        root: None,
        parent: None,
    }
}
