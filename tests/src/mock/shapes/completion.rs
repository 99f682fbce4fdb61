//! Non-streamed `chat.completion` bodies (`model_dump()`: every field, `null` included).

use serde::Serialize;

use super::{ChunkFactory, Null, ReasoningDetails, ReasoningField, Usage, to_json};

/// Non-streamed usage: every field, `null` included.
#[derive(Serialize)]
struct FullUsage {
    prompt_tokens: u32,
    total_tokens: u32,
    completion_tokens: u32,
    prompt_tokens_details: Null,
    completion_tokens_details: Option<ReasoningDetails>,
}

impl From<Usage> for FullUsage {
    fn from(u: Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            total_tokens: u.prompt_tokens + u.completion_tokens,
            completion_tokens: u.completion_tokens,
            prompt_tokens_details: Null,
            completion_tokens_details: u
                .reasoning_tokens
                .map(|reasoning_tokens| ReasoningDetails { reasoning_tokens }),
        }
    }
}

/// One tool call of a non-streamed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// `chatcmpl-tool-<hex>`.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
}

/// The assistant message of a non-streamed completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `content`; `None` writes `null`.
    pub content: Option<String>,
    /// Reasoning text; `None` writes `null`.
    pub reasoning: Option<String>,
    /// Tool calls; empty ones are omitted unless `empty_tool_calls`.
    pub tool_calls: Vec<ToolCall>,
}

#[derive(Serialize)]
struct FunctionJson<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct ToolCallJson<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionJson<'a>,
}

#[derive(Serialize)]
struct MessageJson<'a> {
    role: &'static str,
    content: Option<&'a str>,
    refusal: Null,
    annotations: Null,
    audio: Null,
    function_call: Null,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<ToolCallJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<Option<&'a str>>,
}

#[derive(Serialize)]
struct ChoiceJson<'a> {
    index: u32,
    message: MessageJson<'a>,
    logprobs: Null,
    finish_reason: &'a str,
    stop_reason: Null,
    token_ids: Null,
    routed_experts: Null,
}

#[derive(Serialize)]
struct CompletionJson<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChoiceJson<'a>>,
    service_tier: Null,
    system_fingerprint: &'a str,
    usage: FullUsage,
    prompt_logprobs: Null,
    prompt_token_ids: Null,
    prompt_text: Null,
    kv_transfer_params: Null,
    ec_transfer_params: Null,
    metrics: Null,
}

/// How to write a non-streamed completion.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompletionStyle {
    /// Which reasoning field to write.
    pub reasoning_field: ReasoningField,
    /// Write `"tool_calls": []` when there are none (older vLLM).
    pub empty_tool_calls: bool,
}

/// The body of a non-streamed `chat.completion`, as vLLM's `model_dump()`.
pub fn completion_body(
    ids: &ChunkFactory,
    message: &Message,
    finish_reason: &str,
    usage: Usage,
    style: CompletionStyle,
) -> String {
    let tool_calls: Vec<ToolCallJson<'_>> = message
        .tool_calls
        .iter()
        .map(|c| ToolCallJson {
            id: &c.id,
            kind: "function",
            function: FunctionJson {
                name: &c.name,
                arguments: &c.arguments,
            },
        })
        .collect();
    let tool_calls = (style.empty_tool_calls || !tool_calls.is_empty()).then_some(tool_calls);
    let reasoning = Some(message.reasoning.as_deref());
    let (reasoning, reasoning_content) = match style.reasoning_field {
        ReasoningField::Reasoning => (reasoning, None),
        ReasoningField::ReasoningContent => (None, reasoning),
    };
    let body = CompletionJson {
        id: &ids.id,
        object: "chat.completion",
        created: ids.created,
        model: &ids.model,
        choices: vec![ChoiceJson {
            index: 0,
            message: MessageJson {
                role: "assistant",
                content: message.content.as_deref(),
                refusal: Null,
                annotations: Null,
                audio: Null,
                function_call: Null,
                tool_calls,
                reasoning,
                reasoning_content,
            },
            logprobs: Null,
            finish_reason,
            stop_reason: Null,
            token_ids: Null,
            routed_experts: Null,
        }],
        service_tier: Null,
        system_fingerprint: &ids.system_fingerprint,
        usage: usage.into(),
        prompt_logprobs: Null,
        prompt_token_ids: Null,
        prompt_text: Null,
        kv_transfer_params: Null,
        ec_transfer_params: Null,
        metrics: Null,
    };
    to_json(&body)
}
