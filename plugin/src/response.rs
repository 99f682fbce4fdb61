//! A non-streamed `chat.completion` body to a `Completion`.

use crate::error::{RequestContext, from_http_status, parse_error_body};
use crate::think::split_complete;
use crate::usage::{UsageJson, finish_reason};
use crate::wit::{Completion, FinishReason, ModelCost, ProviderError, ToolCall};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<UsageJson>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    object: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallJson>>,
}

#[derive(Debug, Deserialize)]
struct ToolCallJson {
    #[serde(default)]
    id: Option<String>,
    function: FunctionJson,
}

#[derive(Debug, Deserialize)]
struct FunctionJson {
    name: String,
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

/// Parse a 200 body of `POST /chat/completions`.
pub fn parse_completion(
    body: &[u8],
    cost: &ModelCost,
    ctx: &RequestContext<'_>,
) -> Result<Completion, ProviderError> {
    let response: Response = crate::json::parse(body).map_err(|e| {
        ProviderError::InvalidResponse(format!(
            "the chat completion from {} is not vLLM's JSON ({e})",
            ctx.url
        ))
    })?;
    if response.error.is_some() || response.object.as_deref() == Some("error") {
        // A 200 that carries an error body is still an error.
        let value = crate::json::parse::<serde_json::Value>(body).unwrap_or_default();
        let status = parse_error_body(&value)
            .and_then(|e| e.code)
            .filter(|c| *c >= 400)
            .unwrap_or(500);
        return Err(from_http_status(status, body, ctx));
    }
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(ProviderError::InvalidResponse(format!(
            "the chat completion from {} has no choices",
            ctx.url
        )));
    };
    let message = choice.message;
    let content = message.content.unwrap_or_default();
    let (text, reasoning) = match message.reasoning.or(message.reasoning_content) {
        Some(reasoning) => (content, reasoning),
        None => split_complete(&content),
    };
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, call)| ToolCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{index}")),
            name: call.function.name,
            arguments: match call.function.arguments {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(text)) => text,
                Some(other) => crate::json::text(&other),
            },
        })
        .collect();
    Ok(Completion {
        model: response.model,
        text,
        reasoning,
        tool_calls,
        finish_reason: choice
            .finish_reason
            .as_deref()
            .map_or(FinishReason::Stop, finish_reason),
        usage: response.usage.map(|u| u.to_usage(cost)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::ZERO_COST;
    use serde_json::json;

    const CTX: RequestContext<'static> = RequestContext {
        authority: "h:1",
        url: "http://h:1/v1/chat/completions",
        model: Some("tiny"),
        key_sent: false,
    };

    fn body(message: serde_json::Value, finish: &str) -> Vec<u8> {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "tiny",
               "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish, "stop_reason": null}],
               "usage": {"prompt_tokens": 10, "total_tokens": 15, "completion_tokens": 5, "prompt_tokens_details": null},
               "prompt_logprobs": null})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn text_reasoning_usage() {
        let completion = parse_completion(
            &body(json!({"role": "assistant", "content": "Hi", "reasoning": "greet", "tool_calls": []}), "stop"),
            &ZERO_COST,
            &CTX,
        )
        .expect("parses");
        assert_eq!(completion.model, "tiny");
        assert_eq!(completion.text, "Hi");
        assert_eq!(completion.reasoning, "greet");
        assert!(
            completion.tool_calls.is_empty(),
            "tool_calls: [] means none"
        );
        assert_eq!(completion.finish_reason, FinishReason::Stop);
        assert_eq!(completion.usage.map(|u| u.total), Some(15));
    }

    #[test]
    fn reasoning_content_and_think_tags() {
        let legacy = parse_completion(
            &body(json!({"content": "A", "reasoning_content": "r"}), "stop"),
            &ZERO_COST,
            &CTX,
        )
        .expect("parses");
        assert_eq!(legacy.reasoning, "r");
        let tagged = parse_completion(
            &body(json!({"content": "<think>r2</think>B"}), "stop"),
            &ZERO_COST,
            &CTX,
        )
        .expect("parses");
        assert_eq!(
            (tagged.text.as_str(), tagged.reasoning.as_str()),
            ("B", "r2")
        );
    }

    #[test]
    fn tool_calls() {
        let completion = parse_completion(
            &body(json!({"content": null, "tool_calls": [
                {"id": "chatcmpl-tool-1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]}), "tool_calls"),
            &ZERO_COST,
            &CTX,
        )
        .expect("parses");
        assert_eq!(completion.tool_calls[0].name, "weather");
        assert_eq!(completion.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
        assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    }

    #[test]
    fn errors_and_garbage() {
        let error = parse_completion(br#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","code":404}"#, &ZERO_COST, &CTX)
            .expect_err("error body");
        assert!(matches!(error, ProviderError::ModelNotFound(_)));
        assert!(matches!(
            parse_completion(b"<html>", &ZERO_COST, &CTX),
            Err(ProviderError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_completion(br#"{"choices":[]}"#, &ZERO_COST, &CTX),
            Err(ProviderError::InvalidResponse(_))
        ));
    }
}
