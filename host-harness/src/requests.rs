//! Conveniences for building chat requests.

use crate::bindings::{ChatRequest, ContentPart, Message, ModelCompat, Sampling};

impl Default for Sampling {
    /// No sampling setting: the server's (and the model's) defaults.
    fn default() -> Self {
        Self {
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
}

impl ModelCompat {
    /// No thinking settings: what a model gets when the config says none.
    pub fn none() -> Self {
        Self {
            thinking_format: None,
            supported_reasoning_efforts: Vec::new(),
            reasoning_effort_map: Vec::new(),
            supports_reasoning_effort: None,
        }
    }
}

impl ChatRequest {
    /// A request with the given messages and nothing else set.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        Self {
            model: model.into(),
            messages,
            tools: Vec::new(),
            tool_choice: None,
            sampling: Sampling::default(),
            chat_template_kwargs_json: None,
            structured_output: None,
            thinking: None,
            priority: None,
            session_id: None,
        }
    }

    /// A request with one user message of plain text.
    pub fn user_text(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self::new(
            model,
            vec![Message::User(vec![ContentPart::Text(prompt.into())])],
        )
    }
}
