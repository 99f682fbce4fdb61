//! Values the unit tests build again and again.

use crate::usage::ZERO_COST;
use crate::wit::{ChatRequest, InputKind, Model, Tool};

/// One user message to `model`.
pub fn chat(model: &str, prompt: &str) -> ChatRequest {
    crate::request::user_text(model, prompt)
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
        compat: crate::config::no_compat(),
        thinking: None,
    }
}

/// One user message to `m` that offers tools with these names.
pub fn request_with_tools(tools: &[&str]) -> ChatRequest {
    let mut request = chat("m", "What's the weather in Paris?");
    request.tools = tools
        .iter()
        .map(|name| Tool {
            name: (*name).into(),
            description: None,
            parameters_json: r#"{"type": "object"}"#.into(),
        })
        .collect();
    request
}

/// The visible text of a stream's events, joined.
pub fn text_of(events: &[crate::wit::StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            crate::wit::StreamEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}
