//! The bindings generated from `wit/`, and the WIT types re-exported by name.
//!
//! The types are plain Rust data and compile on every target, so the logic
//! modules and their native unit tests use them directly; only the component
//! adapter touches the generated import and export glue.

wit_bindgen::generate!({
    path: "../wit/since_v0.2.0",
    world: "provider-plugin",
    generate_all,
    // Equality for tests and callers; wasi's stream error holds a resource.
    additional_derives: [PartialEq],
    additional_derives_ignore: ["stream-error"],
});

pub use self::exports::vllm::provider::provider::{CompletionStream, Guest, GuestCompletionStream};
pub use self::vllm::provider::types::{
    AssistantMessage, ChatRequest, Check, CheckStatus, Completion, ConfigError, ConfigInput,
    ConnectionError, ContentPart, ContextLengthError, FinishReason, InputKind, JsonSchemaFormat,
    KeyValue, Message, Model, ModelCompat, ModelCost, ModelNotFoundError, ProviderConfig,
    ProviderError, ProviderMode, Sampling, ServerError, StreamEvent, StructuredOutput,
    ThinkingFormat, ThinkingLevel, ThinkingProfile, Tool, ToolCall, ToolCallDelta, ToolCallStart,
    ToolChoice, ToolResult, Usage,
};
