//! Building the `POST /chat/completions` body, proxy-style.
//!
//! vLLM is an OpenAI-compatible backend, not OpenAI: the body never carries
//! `store`, `service_tier`, `prompt_cache_key`, OpenAI reasoning-compat fields,
//! `strict` on tools, an empty `tools` array, or the removed `guided_*` fields.

use crate::wit::{
    ChatRequest, ConfigError, ContentPart, Message, Model, ProviderError, Sampling,
    StructuredOutput, ToolChoice,
};
use serde_json::{Map, Value};

/// A chat body and what the client needs to know about it.
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    /// The JSON body.
    pub body: Map<String, Value>,
    /// The server-side model id (without `vllm/`).
    pub model: String,
    /// Whether `max_completion_tokens` was lowered to fit the window.
    pub clamped: bool,
    /// Headers this request adds to the configured ones.
    pub headers: Vec<(String, String)>,
}

/// The header that carries a request's session id.
pub const SESSION_HEADER: &str = "X-Session-ID";

/// Sampling with nothing set: every option is the server's default.
pub fn default_sampling() -> Sampling {
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

/// A request of one user message to `model`, nothing else set.
pub fn user_text(model: &str, prompt: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![Message::User(vec![ContentPart::Text(prompt.into())])],
        tools: Vec::new(),
        tool_choice: None,
        sampling: default_sampling(),
        chat_template_kwargs_json: None,
        structured_output: None,
        thinking: None,
        priority: None,
        session_id: None,
    }
}

/// The server's id for a model reference: `vllm/<id>` names the provider
/// and the server knows only `<id>`, so one `vllm/` is stripped, unless the
/// reference is itself the id of one of `models` (a server may serve a
/// model called `vllm/x`; `vllm/vllm/x` then names it too).
pub fn server_model_id<'r>(reference: &'r str, models: &[Model]) -> &'r str {
    if models.iter().any(|m| m.id == reference) {
        return reference;
    }
    reference.strip_prefix("vllm/").unwrap_or(reference)
}

/// A cheap, deliberately low estimate of the prompt's tokens: about four bytes
/// a token for English text. An estimate that is too low costs one retry with
/// the server's exact count; one that is too high would cut replies short.
pub fn estimate_prompt_tokens(request: &ChatRequest) -> u32 {
    let mut bytes = 0usize;
    let mut messages = 0usize;
    for message in &request.messages {
        messages += 1;
        bytes += match message {
            Message::System(text) => text.len(),
            Message::User(parts) => parts
                .iter()
                .map(|part| match part {
                    ContentPart::Text(text) => text.len(),
                    ContentPart::ImageUrl(_) => 0,
                })
                .sum(),
            Message::Assistant(a) => {
                a.text.as_ref().map_or(0, String::len)
                    + a.tool_calls
                        .iter()
                        .map(|c| c.name.len() + c.arguments.len())
                        .sum::<usize>()
            }
            Message::Tool(result) => result.content.len(),
        };
    }
    bytes += request
        .tools
        .iter()
        .map(|t| {
            t.name.len() + t.description.as_ref().map_or(0, String::len) + t.parameters_json.len()
        })
        .sum::<usize>();
    u32::try_from(bytes / 4 + messages * 4).unwrap_or(u32::MAX)
}

/// The output budget: what was asked for (or the model's default), lowered so
/// that prompt and output fit the context window.
pub fn output_budget(
    asked: Option<u32>,
    model: Option<&Model>,
    prompt_tokens: u32,
) -> (Option<u32>, bool) {
    let Some(model) = model else {
        // Unknown window: send what was asked, or nothing and let vLLM use
        // max_model_len - prompt.
        return (asked, false);
    };
    let wanted = asked.unwrap_or(model.max_tokens);
    let room = model.context_window.saturating_sub(prompt_tokens).max(1);
    if wanted > room {
        (Some(room), true)
    } else {
        (Some(wanted), false)
    }
}

/// Build the body for `request`; `models` are the known models (for the
/// context window), `stream` selects SSE.
pub fn build(
    request: &ChatRequest,
    models: &[Model],
    stream: bool,
    prompt_tokens: Option<u32>,
) -> Result<BuiltRequest, ProviderError> {
    let model_id = server_model_id(request.model.trim(), models);
    if model_id.is_empty() {
        return Err(refused(
            "model",
            "is empty: name one of the server's models (e.g. vllm/<id>)",
        ));
    }
    if request.messages.is_empty() {
        return Err(refused(
            "messages",
            "is empty: send at least one user message",
        ));
    }
    if request.sampling.max_tokens == Some(0) {
        return Err(refused(
            "sampling.max-tokens",
            "is 0: ask for at least 1 output token, or leave it unset for the model's default",
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), Value::from(model_id));
    body.insert(
        "messages".into(),
        Value::Array(request.messages.iter().map(message_json).collect()),
    );
    if stream {
        body.insert("stream".into(), Value::Bool(true));
        body.insert(
            "stream_options".into(),
            object(vec![("include_usage", Value::Bool(true))]),
        );
    }

    let model = models.iter().find(|m| m.id == model_id);
    let prompt = prompt_tokens.unwrap_or_else(|| estimate_prompt_tokens(request));
    let (max_tokens, clamped) = output_budget(request.sampling.max_tokens, model, prompt);
    if let Some(max) = max_tokens {
        body.insert("max_completion_tokens".into(), Value::from(max));
    }

    let sampling = &request.sampling;
    let floats = [
        ("temperature", sampling.temperature),
        ("top_p", sampling.top_p),
        ("presence_penalty", sampling.presence_penalty),
        ("frequency_penalty", sampling.frequency_penalty),
        ("min_p", sampling.min_p),
        ("repetition_penalty", sampling.repetition_penalty),
    ];
    for (name, value) in floats {
        if let Some(value) = value {
            body.insert(name.into(), float_json(name, value)?);
        }
    }
    if let Some(top_k) = sampling.top_k {
        body.insert("top_k".into(), Value::from(top_k));
    }
    if let Some(seed) = sampling.seed {
        body.insert("seed".into(), Value::from(seed));
    }
    if !sampling.stop.is_empty() {
        body.insert("stop".into(), Value::from(sampling.stop.clone()));
    }

    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                let parameters: Value = crate::json::value(&tool.parameters_json).map_err(|e| {
                    refused(
                        "tools",
                        format!("tool `{}`: parameters is not valid JSON ({e})", tool.name),
                    )
                })?;
                let mut function = Map::new();
                function.insert("name".into(), Value::from(tool.name.clone()));
                if let Some(description) = &tool.description {
                    function.insert("description".into(), Value::from(description.clone()));
                }
                function.insert("parameters".into(), parameters);
                Ok(object(vec![
                    ("type", text("function")),
                    ("function", Value::Object(function)),
                ]))
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), tool_choice_json(choice, request)?);
        }
    }

    if let Some(kwargs) = &request.chat_template_kwargs_json {
        let value: Value = crate::json::value(kwargs).map_err(|e| {
            refused(
                "chat-template-kwargs-json",
                format!("is not valid JSON ({e})"),
            )
        })?;
        if !value.is_object() {
            return Err(refused(
                "chat-template-kwargs-json",
                "must be a JSON object, e.g. {\"enable_thinking\": false}",
            ));
        }
        body.insert("chat_template_kwargs".into(), value);
    }
    match &request.structured_output {
        None => {}
        Some(StructuredOutput::JsonObject) => {
            body.insert(
                "response_format".into(),
                object(vec![("type", text("json_object"))]),
            );
        }
        Some(StructuredOutput::JsonSchema(format)) => {
            let schema: Value = crate::json::value(&format.schema_json).map_err(|e| {
                refused(
                    "structured-output",
                    format!("the schema is not valid JSON ({e})"),
                )
            })?;
            let json_schema = object(vec![("name", text(&format.name)), ("schema", schema)]);
            body.insert(
                "response_format".into(),
                object(vec![
                    ("type", text("json_schema")),
                    ("json_schema", json_schema),
                ]),
            );
        }
        Some(StructuredOutput::Vllm(text)) => {
            let value: Value = crate::json::value(text)
                .map_err(|e| refused("structured-output", format!("is not valid JSON ({e})")))?;
            if !value.is_object() {
                return Err(refused(
                    "structured-output",
                    "must be an object such as {\"json\": {...}} or {\"regex\": \"...\"}",
                ));
            }
            body.insert("structured_outputs".into(), value);
        }
    }
    if let Some(level) = request.thinking {
        let model = models.iter().find(|m| m.id == model_id);
        crate::thinking_control::apply(&mut body, model_id, model, level);
    }
    if let Some(priority) = request.priority {
        body.insert("priority".into(), priority.into());
    }
    let mut headers = Vec::new();
    if let Some(session) = request.session_id.as_deref().map(str::trim) {
        if session.is_empty() {
            return Err(refused(
                "session-id",
                "is empty: leave it out, or give the conversation's id",
            ));
        }
        crate::config::headers::check_value(session, &format!("{REQUEST_PATH}.session-id"))?;
        headers.push((SESSION_HEADER.to_owned(), session.to_owned()));
    }
    Ok(BuiltRequest {
        body,
        model: model_id.to_owned(),
        clamped,
        headers,
    })
}

fn float_json(name: &str, value: f32) -> Result<Value, ProviderError> {
    if !value.is_finite() {
        return Err(refused(
            &format!("sampling.{}", name.replace('_', "-")),
            // Named, not formatted: `f32`'s `Display` would bring core's
            // float formatting into the component.
            format!(
                "must be a finite number, found {}",
                if value.is_nan() { "NaN" } else { "an infinity" }
            ),
        ));
    }
    Ok(Value::from(crate::json::f32_as_written(value)))
}

fn tool_choice_json(choice: &ToolChoice, request: &ChatRequest) -> Result<Value, ProviderError> {
    Ok(match choice {
        ToolChoice::Auto => text("auto"),
        ToolChoice::None => text("none"),
        ToolChoice::Required => text("required"),
        ToolChoice::Named(name) => {
            if !request.tools.iter().any(|tool| &tool.name == name) {
                let offered: Vec<String> = request.tools.iter().map(|t| t.name.clone()).collect();
                return Err(refused(
                    "tool-choice",
                    format!(
                        "names `{name}`, which is not among the tools offered ({})",
                        offered.join(", ")
                    ),
                ));
            }
            object(vec![
                ("type", text("function")),
                ("function", object(vec![("name", text(name))])),
            ])
        }
    })
}

/// A request the plugin will not send: an `invalid-config` error at
/// `request.<field>` (the WIT field's name), which hosts report as a usage
/// error of the call, not as a server's rejection.
pub fn refused(field: &str, reason: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(ConfigError {
        path: format!("{REQUEST_PATH}.{field}"),
        reason: reason.into(),
    })
}

/// The root of the paths of [`refused`] requests.
pub const REQUEST_PATH: &str = "request";

/// A JSON object of these fields.
fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut object = Map::new();
    for (name, value) in fields {
        object.insert(name.to_owned(), value);
    }
    Value::Object(object)
}

/// A JSON string.
fn text(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn message_json(message: &Message) -> Value {
    match message {
        Message::System(content) => {
            object(vec![("role", text("system")), ("content", text(content))])
        }
        Message::User(parts) => {
            let content = match parts.as_slice() {
                [ContentPart::Text(content)] => text(content),
                parts => Value::Array(
                    parts
                        .iter()
                        .map(|part| match part {
                            ContentPart::Text(content) => {
                                object(vec![("type", text("text")), ("text", text(content))])
                            }
                            ContentPart::ImageUrl(url) => object(vec![
                                ("type", text("image_url")),
                                ("image_url", object(vec![("url", text(url))])),
                            ]),
                        })
                        .collect(),
                ),
            };
            object(vec![("role", text("user")), ("content", content)])
        }
        Message::Assistant(assistant) => {
            let mut fields = vec![
                ("role", text("assistant")),
                (
                    "content",
                    assistant.text.as_deref().map_or(Value::Null, text),
                ),
            ];
            if let Some(reasoning) = &assistant.reasoning {
                fields.push(("reasoning", text(reasoning)));
            }
            if !assistant.tool_calls.is_empty() {
                let calls = assistant
                    .tool_calls
                    .iter()
                    .map(|call| {
                        let function = object(vec![
                            ("name", text(&call.name)),
                            ("arguments", text(&call.arguments)),
                        ]);
                        object(vec![
                            ("id", text(&call.id)),
                            ("type", text("function")),
                            ("function", function),
                        ])
                    })
                    .collect();
                fields.push(("tool_calls", Value::Array(calls)));
            }
            object(fields)
        }
        Message::Tool(result) => object(vec![
            ("role", text("tool")),
            ("tool_call_id", text(&result.tool_call_id)),
            ("content", text(&result.content)),
        ]),
    }
}

/// Fields this provider must never send to vLLM.
pub const FORBIDDEN_FIELDS: &[&str] = &[
    "store",
    "service_tier",
    "prompt_cache_key",
    "reasoning_effort",
    "reasoning",
    "parallel_tool_calls",
    "user",
    "metadata",
    "guided_json",
    "guided_regex",
    "guided_choice",
    "guided_grammar",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::model;
    use serde_json::json;

    fn request(model: &str) -> ChatRequest {
        crate::fixtures::chat(model, "hi")
    }
    use crate::wit::{AssistantMessage, JsonSchemaFormat, Sampling, Tool, ToolCall, ToolResult};

    #[test]
    fn zero_max_tokens_is_refused_before_sending() {
        let mut zero = request("m");
        zero.sampling.max_tokens = Some(0);
        match build(&zero, &[model("m", 2048, 2048)], false, None) {
            Err(ProviderError::InvalidConfig(e)) => {
                assert_eq!(e.path, "request.sampling.max-tokens");
                assert!(e.reason.contains("at least 1"), "{}", e.reason);
            }
            other => panic!("{other:?}"),
        }
    }

    fn tool(name: &str) -> Tool {
        Tool {
            name: name.into(),
            description: Some("d".into()),
            parameters_json: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
        }
    }

    #[test]
    fn one_provider_prefix_is_stripped_unless_the_reference_is_a_served_id() {
        let served = [model("vllm/x", 2048, 2048), model("y", 2048, 2048)];
        assert_eq!(server_model_id("vllm/x", &served), "vllm/x");
        assert_eq!(server_model_id("vllm/vllm/x", &served), "vllm/x");
        assert_eq!(server_model_id("vllm/y", &served), "y");
        assert_eq!(server_model_id("y", &served), "y");
        let built = build(&request("vllm/vllm/x"), &served, false, None).expect("builds");
        assert_eq!(built.body["model"], "vllm/x");
    }

    #[test]
    fn strips_the_provider_prefix_and_streams_with_usage() {
        let built = build(&request("vllm/tiny"), &[], true, None).expect("builds");
        assert_eq!(built.body["model"], "tiny");
        assert_eq!(built.body["stream"], true);
        assert_eq!(built.body["stream_options"], json!({"include_usage": true}));
        assert!(
            !built.body.contains_key("max_completion_tokens"),
            "unknown window: let vLLM decide"
        );
        let plain = build(&request("tiny"), &[], false, None).expect("builds");
        assert!(
            !plain.body.contains_key("stream_options"),
            "include_usage only with stream"
        );
        assert!(!plain.body.contains_key("stream"));
    }

    #[test]
    fn max_tokens_clamped_to_the_window() {
        let models = [model("tiny", 2048, 2048)];
        let built = build(&request("tiny"), &models, false, Some(100)).expect("builds");
        assert_eq!(built.body["max_completion_tokens"], 1948);
        assert!(built.clamped);
        let mut asked = request("tiny");
        asked.sampling.max_tokens = Some(50);
        let built = build(&asked, &models, false, Some(100)).expect("builds");
        assert_eq!(built.body["max_completion_tokens"], 50);
        assert!(!built.clamped);
        asked.sampling.max_tokens = Some(100_000);
        let built = build(&asked, &models, false, Some(100)).expect("builds");
        assert_eq!(built.body["max_completion_tokens"], 1948);
        assert!(built.clamped);
        assert!(
            !built.body.contains_key("max_tokens"),
            "the deprecated field is never sent"
        );
    }

    #[test]
    fn messages_of_every_kind() {
        let mut req = request("tiny");
        req.messages = vec![
            Message::System("be brief".into()),
            Message::User(vec![
                ContentPart::Text("what is this?".into()),
                ContentPart::ImageUrl("data:image/png;base64,AAAA".into()),
            ]),
            Message::Assistant(AssistantMessage {
                text: None,
                reasoning: Some("look it up".into()),
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "get".into(),
                    arguments: "{}".into(),
                    from_text: false,
                }],
            }),
            Message::Tool(ToolResult {
                tool_call_id: "c1".into(),
                content: "a cat".into(),
            }),
        ];
        let built = build(&req, &[], false, None).expect("builds");
        let messages = built.body["messages"].as_array().expect("array");
        assert_eq!(
            messages[0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(
            messages[1]["content"][1]["image_url"]["url"],
            "data:image/png;base64,AAAA"
        );
        assert_eq!(messages[2]["content"], Value::Null);
        assert_eq!(messages[2]["tool_calls"][0]["function"]["name"], "get");
        assert_eq!(messages[2]["reasoning"], "look it up");
        assert_eq!(
            messages[3],
            json!({"role": "tool", "tool_call_id": "c1", "content": "a cat"})
        );
        assert_eq!(
            build(&request("tiny"), &[], false, None).expect("ok").body["messages"][0]["content"],
            "hi"
        );
    }

    #[test]
    fn tools_and_choices() {
        let mut req = request("tiny");
        assert!(
            !build(&req, &[], false, None)
                .expect("ok")
                .body
                .contains_key("tools"),
            "no empty tools array"
        );
        req.tool_choice = Some(ToolChoice::Auto);
        assert!(
            !build(&req, &[], false, None)
                .expect("ok")
                .body
                .contains_key("tool_choice"),
            "no choice without tools"
        );
        req.tools = vec![tool("weather")];
        for (choice, expected) in [
            (ToolChoice::Auto, json!("auto")),
            (ToolChoice::None, json!("none")),
            (ToolChoice::Required, json!("required")),
            (
                ToolChoice::Named("weather".into()),
                json!({"type": "function", "function": {"name": "weather"}}),
            ),
        ] {
            req.tool_choice = Some(choice);
            let body = build(&req, &[], false, None).expect("ok").body;
            assert_eq!(body["tool_choice"], expected);
            assert_eq!(body["tools"][0]["type"], "function");
            assert!(body["tools"][0]["function"].get("strict").is_none());
            assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
        }
        req.tool_choice = Some(ToolChoice::Named("other".into()));
        assert!(
            matches!(build(&req, &[], false, None), Err(ProviderError::InvalidConfig(e)) if e.reason.contains("weather"))
        );
        req.tool_choice = None;
        req.tools[0].parameters_json = "{".into();
        assert!(
            matches!(build(&req, &[], false, None), Err(ProviderError::InvalidConfig(e)) if e.reason.contains("weather"))
        );
    }

    #[test]
    fn sampling_and_vllm_extras() {
        let mut req = request("tiny");
        req.sampling = Sampling {
            temperature: Some(0.7),
            top_p: Some(0.9),
            max_tokens: Some(10),
            stop: vec!["END".into()],
            seed: Some(42),
            presence_penalty: Some(0.1),
            frequency_penalty: Some(0.2),
            top_k: Some(20),
            min_p: Some(0.05),
            repetition_penalty: Some(1.1),
        };
        req.chat_template_kwargs_json = Some(r#"{"enable_thinking": false}"#.into());
        req.structured_output = Some(StructuredOutput::JsonSchema(JsonSchemaFormat {
            name: "answer".into(),
            schema_json: r#"{"type":"object"}"#.into(),
        }));
        let body = build(&req, &[], false, None).expect("ok").body;
        assert_eq!(body["temperature"], json!(0.7));
        assert_eq!(body["top_p"], json!(0.9));
        assert_eq!(body["max_completion_tokens"], 10);
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(body["seed"], 42);
        assert_eq!(body["top_k"], 20);
        assert_eq!(body["min_p"], json!(0.05));
        assert_eq!(body["repetition_penalty"], json!(1.1));
        assert_eq!(
            body["chat_template_kwargs"],
            json!({"enable_thinking": false})
        );
        assert_eq!(body["response_format"]["json_schema"]["name"], "answer");
        req.structured_output = Some(StructuredOutput::Vllm(r#"{"choice": ["a", "b"]}"#.into()));
        let body = build(&req, &[], false, None).expect("ok").body;
        assert_eq!(body["structured_outputs"], json!({"choice": ["a", "b"]}));
        for field in FORBIDDEN_FIELDS {
            assert!(!body.contains_key(*field), "{field} must never be sent");
        }
        req.chat_template_kwargs_json = Some("[1]".into());
        assert!(build(&req, &[], false, None).is_err());
        req.chat_template_kwargs_json = None;
        req.sampling.temperature = Some(f32::NAN);
        assert!(matches!(
            build(&req, &[], false, None),
            Err(ProviderError::InvalidConfig(e)) if e.path == "request.sampling.temperature"
        ));
    }

    #[test]
    fn empty_model_or_messages_are_refused_before_sending() {
        assert!(matches!(
            build(&request("vllm/"), &[], false, None),
            Err(ProviderError::InvalidConfig(e)) if e.path == "request.model"
        ));
        let mut req = request("tiny");
        req.messages.clear();
        assert!(matches!(
            build(&req, &[], false, None),
            Err(ProviderError::InvalidConfig(e)) if e.path == "request.messages"
        ));
    }
}
