//! How a mock server is configured: the models it serves and the vLLM flags
//! it pretends to have been started with.

use std::time::Duration;

/// The vLLM version the mock reports by default (`GET /version`, fingerprint).
pub const DEFAULT_VERSION: &str = "0.32.0";

/// The context length given to models made by [`MockModel::base`].
pub const DEFAULT_MAX_MODEL_LEN: u32 = 2048;

/// One entry of `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockModel {
    /// The served name (`--served-model-name`, or the LoRA adapter's name).
    pub id: String,
    /// The model path or hub id (`root` in the card).
    pub root: String,
    /// The base model's id for a LoRA adapter; `None` for base models.
    pub parent: Option<String>,
    /// The context length; vLLM gives it only for base models (a LoRA card
    /// carries `"max_model_len": null`).
    pub max_model_len: Option<u32>,
}

impl MockModel {
    /// A base model served under `id`, with root `/models/<id>` and
    /// [`DEFAULT_MAX_MODEL_LEN`].
    pub fn base(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            root: format!("/models/{id}"),
            parent: None,
            max_model_len: Some(DEFAULT_MAX_MODEL_LEN),
        }
    }

    /// The same base model with another context length.
    pub fn with_max_model_len(mut self, max_model_len: u32) -> Self {
        self.max_model_len = Some(max_model_len);
        self
    }

    /// A LoRA adapter `id` on top of the base model `parent`, as
    /// `--lora-modules id=/adapters/id` lists it: no `max_model_len`.
    pub fn lora(id: &str, parent: &str) -> Self {
        Self {
            id: id.to_owned(),
            root: format!("/adapters/{id}"),
            parent: Some(parent.to_owned()),
            max_model_len: None,
        }
    }
}

/// The server's flags. `Default` is a plain `vllm serve` of one base model
/// `mock-model` (2048 tokens), version 0.32.0, no key, no parsers.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Models in `GET /v1/models` order. Base models first, as vLLM lists
    /// them; responses name the first base model (or the LoRA requested).
    pub models: Vec<MockModel>,
    /// Like `--api-key`: every `/v1` route then needs
    /// `Authorization: Bearer <key>`. `/health`, `/version` and `/tokenize`
    /// stay open.
    pub api_key: Option<String>,
    /// Like `--enable-auto-tool-choice --tool-call-parser hermes`. Without
    /// it any `tool_choice` other than `none` (and so any request with
    /// `tools` but no `tool_choice`) is a 400, as in vLLM 0.32.
    pub auto_tool_choice: bool,
    /// With `auto_tool_choice`: a tool parser of another model family
    /// (`--tool-call-parser llama3_json` for a Hermes-style model), which
    /// finds no call and passes the model's `<tool_call>` blocks on as
    /// content.
    pub parser_misses_calls: bool,
    /// Like vLLM before 0.32 without `--scheduling-policy priority`: a
    /// non-zero `priority` is a 400.
    pub refuses_priority: bool,
    /// Like `--reasoning-parser qwen3`: `<think>` text goes to `reasoning`.
    pub reasoning_parser: bool,
    /// What `GET /version` reports.
    pub version: String,
    /// Errors in the flat pre-0.10.1 shape
    /// `{"object":"error","message","type","param","code"}`, with the older
    /// messages (no "Valid aliases" list).
    pub legacy_error_shape: bool,
    /// Emit `reasoning_content` instead of `reasoning` (vLLM before late 2025).
    pub legacy_reasoning_field: bool,
    /// Always emit `tool_calls` in a non-streamed message, `[]` when no tool
    /// was called (older vLLM). vLLM 0.32 omits the empty list.
    pub empty_tool_calls: bool,
    /// The pre-0.10 context check: a 400 whenever prompt + requested output
    /// exceeds `max_model_len` ("However, you requested N tokens (P in the
    /// messages, C in the completion)"). vLLM 0.32 instead clamps the output
    /// and fails only when the prompt alone does not fit.
    pub legacy_context_error: bool,
    /// Write generated streams in frames of this many bytes, so SSE events
    /// arrive split at arbitrary byte boundaries. `None`: one frame per event.
    pub stream_split: Option<usize>,
    /// Wait this long before each frame of a generated stream (a slow server).
    pub event_delay: Option<Duration>,
    /// `GET /health` answers 503, as when vLLM's engine is dead.
    pub unhealthy: bool,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            models: vec![MockModel::base("mock-model")],
            api_key: None,
            auto_tool_choice: false,
            parser_misses_calls: false,
            refuses_priority: false,
            reasoning_parser: false,
            version: DEFAULT_VERSION.to_owned(),
            legacy_error_shape: false,
            legacy_reasoning_field: false,
            empty_tool_calls: false,
            legacy_context_error: false,
            stream_split: None,
            event_delay: None,
            unhealthy: false,
        }
    }
}

impl MockOptions {
    /// Default options serving exactly `models`.
    pub fn with_models(models: Vec<MockModel>) -> Self {
        Self {
            models,
            ..Self::default()
        }
    }

    /// The model a request names, or the first base model when it names none
    /// (vLLM accepts a missing `model`).
    pub(crate) fn find_model(&self, id: Option<&str>) -> Option<&MockModel> {
        match id {
            None | Some("") => self.models.iter().find(|m| m.parent.is_none()),
            Some(id) => self.models.iter().find(|m| m.id == id),
        }
    }

    /// The context length that applies to `model`: its own, else its parent's.
    pub(crate) fn context_length(&self, model: &MockModel) -> u32 {
        model
            .max_model_len
            .or_else(|| {
                let parent = model.parent.as_deref()?;
                self.models.iter().find(|m| m.id == parent)?.max_model_len
            })
            .unwrap_or(DEFAULT_MAX_MODEL_LEN)
    }

    /// The name responses carry: the LoRA adapter's own name, else the first
    /// base model's (vLLM always answers with its first served alias).
    pub(crate) fn response_model_name(&self, model: &MockModel) -> String {
        if model.parent.is_some() {
            return model.id.clone();
        }
        self.models
            .iter()
            .find(|m| m.parent.is_none())
            .map_or_else(|| model.id.clone(), |m| m.id.clone())
    }

    /// The base models' names, as vLLM lists them in a 404.
    pub(crate) fn base_names(&self) -> String {
        self.models
            .iter()
            .filter(|m| m.parent.is_none())
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
