//! Bindings for `vllm:provider@0.1.0`, and its data to and from the newest
//! version's: what a call sends goes down (fields 0.1.0 lacks are left
//! out, and named), what comes back goes up (fields 0.1.0 lacks get their
//! "nothing" value: no compat, no thinking profile, calls not from text).

#![allow(
    missing_docs,
    reason = "bindgen-generated code; the WIT carries the docs"
)]

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "vllm:provider/provider-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
    require_store_data_send: true,
    additional_derives: [PartialEq],
});

use self::vllm::provider::types as old;
use super::latest::vllm::provider::types as new;

/// A value of one version as the other version's.
pub(crate) trait Convert<T> {
    fn convert(self) -> T;
}

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Vec<B> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

macro_rules! same {
    ($($ty:ty),*) => {$(
        impl Convert<$ty> for $ty {
            fn convert(self) -> $ty {
                self
            }
        }
    )*};
}
same!(String, bool, u16, u32, u64, i32, i64, f32, f64);

/// A record, field by field; `extra` fields of the target get the values given.
macro_rules! record {
    ($from:ty => $to:ident :: $name:ident { $($field:ident),* $(,)? } $(+ { $($extra:ident: $value:expr),* $(,)? })?) => {
        impl Convert<$to::$name> for $from {
            fn convert(self) -> $to::$name {
                $to::$name {
                    $($field: self.$field.convert(),)*
                    $($($extra: $value,)*)?
                }
            }
        }
    };
}

/// A variant or enum, case by case: plain cases, then cases with a payload.
macro_rules! cases {
    ($from:ident :: $name:ident => $to:ident { $($plain:ident),* ; $($payload:ident),* $(,)? }) => {
        impl Convert<$to::$name> for $from::$name {
            fn convert(self) -> $to::$name {
                match self {
                    $($from::$name::$plain => $to::$name::$plain,)*
                    $($from::$name::$payload(value) => $to::$name::$payload(value.convert()),)*
                }
            }
        }
    };
}

/// Both ways.
macro_rules! both {
    (record $name:ident { $($field:ident),* $(,)? }) => {
        record!(old::$name => new::$name { $($field),* });
        record!(new::$name => old::$name { $($field),* });
    };
    (cases $name:ident { $($plain:ident),* ; $($payload:ident),* $(,)? }) => {
        cases!(old::$name => new { $($plain),* ; $($payload),* });
        cases!(new::$name => old { $($plain),* ; $($payload),* });
    };
}

// Both ways: the configuration goes in and comes back.
both!(record KeyValue { name, value });
both!(cases ProviderMode { Explicit, Discover, Disabled; });
both!(record ModelCost { input, output, cache_read, cache_write });
both!(cases InputKind { Text, Image; });
both!(record ProviderConfig { base_url, api_key, headers, timeout_ms, mode, reason, models });
record!(new::Model => old::Model {
    id, name, reasoning, input, cost, context_window, max_tokens, root, parent
});
record!(old::Model => new::Model {
    id, name, reasoning, input, cost, context_window, max_tokens, root, parent
} + {
    compat: new::ModelCompat {
        thinking_format: None,
        supported_reasoning_efforts: Vec::new(),
        reasoning_effort_map: Vec::new(),
        supports_reasoning_effort: None,
    },
    thinking: None,
});
record!(new::ToolCall => old::ToolCall { id, name, arguments });
record!(old::ToolCall => new::ToolCall { id, name, arguments } + { from_text: false });

// Down: what a call sends.
record!(new::ConfigInput => old::ConfigInput {
    provider_json, env, auth_profile_key, base_url_override
});
record!(new::Tool => old::Tool { name, description, parameters_json });
cases!(new::ToolChoice => old { Auto, None, Required; Named });
cases!(new::ContentPart => old { ; Text, ImageUrl });
record!(new::AssistantMessage => old::AssistantMessage { text, reasoning, tool_calls });
record!(new::ToolResult => old::ToolResult { tool_call_id, content });
cases!(new::Message => old { ; System, User, Assistant, Tool });
record!(new::Sampling => old::Sampling {
    temperature, top_p, max_tokens, stop, seed, presence_penalty, frequency_penalty, top_k,
    min_p, repetition_penalty
});
record!(new::JsonSchemaFormat => old::JsonSchemaFormat { name, schema_json });
cases!(new::StructuredOutput => old { JsonObject; JsonSchema, Vllm });
record!(new::ChatRequest => old::ChatRequest {
    model, messages, tools, tool_choice, sampling, chat_template_kwargs_json, structured_output
});

// Up: what a call returns.
cases!(old::FinishReason => new { Stop, Length, ToolCalls, Abort; Other });
record!(old::Usage => new::Usage { input, output, cache_read, total, cost });
record!(old::Completion => new::Completion {
    model, text, reasoning, tool_calls, finish_reason, usage
});
record!(old::ToolCallStart => new::ToolCallStart { index, id, name });
record!(old::ToolCallDelta => new::ToolCallDelta { index, arguments });
cases!(old::StreamEvent => new {
    ; Model, TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, ToolCallEnd, Usage, Finish
});
record!(old::ConnectionError => new::ConnectionError { authority, message });
record!(old::ModelNotFoundError => new::ModelNotFoundError { model, available, message });
record!(old::ContextLengthError => new::ContextLengthError { limit, requested, message });
record!(old::ServerError => new::ServerError { status, message });
record!(old::ConfigError => new::ConfigError { path, reason });
cases!(old::ProviderError => new {
    ; Connection, Auth, ModelNotFound, ContextLengthExceeded, BadRequest, Server, Timeout,
    InvalidConfig, InvalidResponse, Denied
});
cases!(old::CheckStatus => new { Pass, Warn, Fail, Skip; });
record!(old::Check => new::Check { name, status, detail, fix, error });

impl<T: Convert<U>, U> Convert<Result<U, new::ProviderError>> for Result<T, old::ProviderError> {
    fn convert(self) -> Result<U, new::ProviderError> {
        match self {
            Ok(value) => Ok(value.convert()),
            Err(error) => Err(error.convert()),
        }
    }
}

/// What of `request` 0.1.0 has no place for, by its WIT names.
pub(crate) fn left_out(request: &new::ChatRequest) -> Vec<&'static str> {
    let mut left = Vec::new();
    if request.thinking.is_some() {
        left.push("thinking");
    }
    if request.priority.is_some() {
        left.push("priority");
    }
    if request.session_id.is_some() {
        left.push("session-id");
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_goes_down_without_what_0_1_0_lacks() {
        let mut request = crate::ChatRequest::new(
            "m",
            vec![new::Message::User(vec![new::ContentPart::Text(
                "hi".into(),
            )])],
        );
        assert!(left_out(&request).is_empty());
        request.thinking = Some(new::ThinkingLevel::Off);
        request.priority = Some(-100);
        request.session_id = Some("s-1".into());
        assert_eq!(left_out(&request), ["thinking", "priority", "session-id"]);
        let down: old::ChatRequest = request.clone().convert();
        assert_eq!(down.model, "m");
        assert_eq!(
            down.messages,
            [old::Message::User(vec![old::ContentPart::Text(
                "hi".into()
            )])]
        );
    }

    #[test]
    fn results_come_up_with_nothing_for_what_0_1_0_lacks() {
        let call = old::ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: "{}".into(),
        };
        let up: new::StreamEvent = old::StreamEvent::ToolCallEnd(call).convert();
        assert_eq!(
            up,
            new::StreamEvent::ToolCallEnd(new::ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
                from_text: false,
            })
        );
        let error: Result<new::Completion, new::ProviderError> =
            Err::<old::Completion, _>(old::ProviderError::Auth("no".into())).convert();
        assert_eq!(error, Err(new::ProviderError::Auth("no".into())));
    }
}
