//! `POST /v1/chat/completions`: validation in vLLM 0.32's order, with its
//! status codes, error types and messages.
//!
//! Order: JSON decoding and content type (FastAPI), the request model's
//! validators (`tools`, `tool_choice`, `stream_options`), field validation
//! (`messages`), the model check (404), the tool-parser check, the output
//! budget against `max_model_len`, the prompt length, and finally the
//! sampling parameters' `max_tokens >= 1`.

use serde_json::Value;

use super::generate::{self, Plan, ToolChoice};
use super::options::MockOptions;
use super::reply::Reply;
use super::shapes::error_body;
use super::tokens;

/// Validates a chat request and answers it with a generated reply.
pub(crate) fn handle(
    opts: &MockOptions,
    content_type: Option<&str>,
    request_id: Option<&str>,
    body: &[u8],
) -> Reply {
    match validate(opts, content_type, body) {
        Ok(plan) => generate::reply(opts, &plan, request_id),
        Err(reply) => reply,
    }
}

/// An error reply in the server's configured shape.
pub(crate) fn error(
    opts: &MockOptions,
    code: u16,
    kind: &str,
    message: &str,
    param: Option<&str>,
) -> Reply {
    Reply::json_text(
        code,
        error_body(opts.legacy_error_shape, code, kind, message, param),
    )
}

/// A `VLLMValidationError` as vLLM renders it: `BadRequestError`, the
/// parameter as `param`, and `str(exc)` (which appends
/// ` (parameter=..., value=...)`) as the message.
fn validation_error(
    opts: &MockOptions,
    message: &str,
    parameter: Option<&str>,
    value: Option<&str>,
) -> Reply {
    let mut extras = Vec::new();
    if let Some(p) = parameter {
        extras.push(format!("parameter={p}"));
    }
    if let Some(v) = value {
        extras.push(format!("value={v}"));
    }
    let message = if extras.is_empty() {
        message.to_owned()
    } else {
        format!("{message} ({})", extras.join(", "))
    };
    error(opts, 400, "BadRequestError", &message, parameter)
}

/// FastAPI's `RequestValidationError`, as vLLM's handler renders it.
fn request_validation_error(opts: &MockOptions, detail: &str, param: Option<&str>) -> Reply {
    let message = format!("1 validation error:\n  {detail}");
    error(opts, 400, "Bad Request", &message, param)
}

/// The media type of a `content-type` value, lowercased.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether FastAPI would try to decode the body as JSON.
fn json_like(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => {
            let media = media_type(ct);
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json"))
        }
    }
}

/// A Python-ish rendering of a JSON value, for messages that embed one.
fn py_repr(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

/// Python's truthiness of a JSON value (`data.get(...)` in validators).
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    }
}

fn validate(opts: &MockOptions, content_type: Option<&str>, body: &[u8]) -> Result<Plan, Reply> {
    let json: Option<Value> = if !body.is_empty() && json_like(content_type) {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => Some(v),
            Err(e) => {
                let pos = byte_offset(body, e.line(), e.column());
                let reason = python_json_error(&e);
                let detail = format!(
                    "{{'type': 'json_invalid', 'loc': 'body.{pos}', 'msg': 'JSON decode error', 'input': '<dict of 0 items>', 'ctx': {{'error': '{reason}'}}}}"
                );
                return Err(request_validation_error(
                    opts,
                    &detail,
                    Some(&format!("body.{pos}")),
                ));
            }
        }
    } else {
        None
    };
    if content_type.map(media_type).as_deref() != Some("application/json") {
        return Err(request_validation_error(
            opts,
            "Unsupported Media Type: Only 'application/json' is allowed",
            None,
        ));
    }
    let Some(Value::Object(data)) = json else {
        let detail = if body.is_empty() {
            "{'type': 'missing', 'loc': 'body', 'msg': 'Field required', 'input': None}"
        } else {
            "{'type': 'model_attributes_type', 'loc': 'body', 'msg': 'Input should be a valid dictionary or object to extract fields from', 'input': None}"
        };
        return Err(request_validation_error(opts, detail, Some("body")));
    };
    let tool_choice = check_tool_usage(opts, &data)?;
    if opts.refuses_priority
        && let Some(priority) = data.get("priority").and_then(Value::as_i64)
        && priority != 0
    {
        // Older vLLM without --scheduling-policy priority (0.32 ignores it).
        return Err(error(
            opts,
            400,
            "BadRequestError",
            &format!("Got priority {priority} but Priority scheduling is not enabled."),
            None,
        ));
    }
    if truthy(data.get("stream_options")) && !truthy(data.get("stream")) {
        return Err(validation_error(
            opts,
            "Stream options can only be defined when `stream=True`.",
            Some("stream_options"),
            None,
        ));
    }
    let Some(messages) = data.get("messages").and_then(Value::as_array) else {
        let (kind, msg) = if data.contains_key("messages") {
            ("list_type", "Input should be a valid list")
        } else {
            ("missing", "Field required")
        };
        let detail = format!(
            "{{'type': '{kind}', 'loc': 'body.messages', 'msg': '{msg}', 'input': '<dict of {} items>'}}",
            data.len()
        );
        return Err(request_validation_error(
            opts,
            &detail,
            Some("body.messages"),
        ));
    };

    let requested = data.get("model").and_then(Value::as_str);
    let Some(model) = opts.find_model(requested) else {
        let name = requested.unwrap_or_default();
        let message = if opts.legacy_error_shape {
            format!("The model `{name}` does not exist.")
        } else {
            format!(
                "The model `{name}` does not exist. Valid aliases: {}.",
                opts.base_names()
            )
        };
        return Err(error(opts, 404, "NotFoundError", &message, Some("model")));
    };

    if !opts.auto_tool_choice {
        match &tool_choice {
            ToolChoice::None => {}
            ToolChoice::Auto => {
                return Err(error(
                    opts,
                    400,
                    "BadRequestError",
                    "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set",
                    None,
                ));
            }
            ToolChoice::Required | ToolChoice::Named(_) => {
                let desc = match &tool_choice {
                    ToolChoice::Named(name) => format!("function \"{name}\""),
                    _ => "\"required\"".to_owned(),
                };
                let message = format!("tool_choice={desc} requires --tool-call-parser to be set");
                return Err(error(opts, 400, "BadRequestError", &message, None));
            }
        }
    }

    let max_model_len = i64::from(opts.context_length(model));
    let prompt = tokens::prompt_tokens(messages);
    let (requested_max, max_param) = match data.get("max_completion_tokens").and_then(Value::as_i64)
    {
        Some(n) => (Some(n), "max_completion_tokens"),
        None => (data.get("max_tokens").and_then(Value::as_i64), "max_tokens"),
    };
    let max_tokens = if opts.legacy_context_error {
        legacy_budget(opts, max_model_len, i64::from(prompt), requested_max)?
    } else {
        budget(
            opts,
            max_model_len,
            i64::from(prompt),
            requested_max,
            max_param,
        )?
    };

    let thinking_flag = data
        .get("chat_template_kwargs")
        .and_then(|k| k.get("enable_thinking"))
        .and_then(Value::as_bool);
    Ok(Plan {
        model_name: opts.response_model_name(model),
        model_id: model.id.clone(),
        stream: truthy(data.get("stream")),
        // Any `stream_options` object, even `{}`, defaults `include_usage` to true.
        include_usage: data
            .get("stream_options")
            .and_then(Value::as_object)
            .is_some_and(|o| match o.get("include_usage") {
                None => true,
                Some(v) => truthy(Some(v)),
            }),
        prompt_tokens: prompt,
        max_tokens: u32::try_from(max_tokens).unwrap_or(u32::MAX),
        tool_choice,
        tools: data
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        last_role: messages
            .last()
            .and_then(|m| m.get("role"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        last_text: messages
            .last()
            .and_then(|m| m.get("content"))
            .map(tokens::content_text)
            .unwrap_or_default(),
        last_user_text: last_user_text(messages),
        thinking_flag,
        include_reasoning: data
            .get("include_reasoning")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// vLLM 0.32: the output budget is clamped to what fits; only a prompt that
/// alone overflows, or a budget above the context length, is an error.
fn budget(
    opts: &MockOptions,
    max_model_len: i64,
    prompt: i64,
    requested: Option<i64>,
    param: &str,
) -> Result<i64, Reply> {
    let requested_or_zero = requested.unwrap_or(0);
    if requested_or_zero > max_model_len {
        let message = format!(
            "{param}={requested_or_zero} cannot be greater than max_model_len={max_model_len}. Please request fewer output tokens."
        );
        return Err(validation_error(
            opts,
            &message,
            Some(param),
            Some(&requested_or_zero.to_string()),
        ));
    }
    if prompt > max_model_len {
        // vLLM tokenizes at most max_model_len + 1 tokens of a prompt, so a
        // longer one is reported as "at least" that many.
        let counted = prompt.min(max_model_len + 1);
        let qualifier = if counted == max_model_len + 1 {
            "at least "
        } else {
            ""
        };
        let message = format!(
            "This model's maximum context length is {max_model_len} tokens. However, your prompt contains {qualifier}{counted} input tokens, which exceeds this limit even without any output tokens. Please reduce the length of the input prompt."
        );
        return Err(validation_error(
            opts,
            &message,
            Some("input_tokens"),
            Some(&counted.to_string()),
        ));
    }
    let max_tokens = requested.map_or(max_model_len - prompt, |r| r.min(max_model_len - prompt));
    if max_tokens < 1 {
        let message = format!("max_tokens must be at least 1, got {max_tokens}.");
        return Err(validation_error(
            opts,
            &message,
            Some("max_tokens"),
            Some(&max_tokens.to_string()),
        ));
    }
    Ok(max_tokens)
}

/// vLLM before 0.10: prompt + requested output must fit.
fn legacy_budget(
    opts: &MockOptions,
    max_model_len: i64,
    prompt: i64,
    requested: Option<i64>,
) -> Result<i64, Reply> {
    let message = match requested {
        None if prompt >= max_model_len => format!(
            "This model's maximum context length is {max_model_len} tokens. However, you requested {prompt} tokens in the messages, Please reduce the length of the messages."
        ),
        Some(r) if prompt + r > max_model_len => format!(
            "This model's maximum context length is {max_model_len} tokens. However, you requested {} tokens ({prompt} in the messages, {r} in the completion). Please reduce the length of the messages or completion.",
            prompt + r
        ),
        _ => return Ok(requested.unwrap_or(max_model_len - prompt).max(1)),
    };
    Err(error(opts, 400, "BadRequestError", &message, None))
}

/// The request validator `check_tool_usage`; returns the effective choice
/// (`auto` when tools are given without one).
fn check_tool_usage(
    opts: &MockOptions,
    data: &serde_json::Map<String, Value>,
) -> Result<ToolChoice, Reply> {
    let tools = data.get("tools");
    if tools.and_then(Value::as_array).is_some_and(Vec::is_empty) {
        return Err(validation_error(
            opts,
            "`tools` must not be an empty array. Either provide at least one tool or omit the field entirely.",
            Some("tools"),
            None,
        ));
    }
    let has_tools = truthy(tools);
    let choice = match data.get("tool_choice") {
        None if has_tools => return Ok(ToolChoice::Auto),
        None | Some(Value::Null) => return Ok(ToolChoice::None),
        Some(Value::String(s)) if s == "none" => return Ok(ToolChoice::None),
        Some(choice) => choice,
    };
    if matches!(tools, None | Some(Value::Null)) {
        return Err(validation_error(
            opts,
            "When using `tool_choice`, `tools` must be set.",
            Some("tool_choice"),
            None,
        ));
    }
    let usage = r#"Correct usage: `{"type": "function", "function": {"name": "my_function"}}`"#;
    match choice {
        Value::String(s) if s == "auto" => Ok(ToolChoice::Auto),
        Value::String(s) if s == "required" => Ok(ToolChoice::Required),
        Value::Object(obj) => {
            let function = obj.get("function");
            let Some(Value::Object(function)) = function else {
                let shown = function.map_or_else(|| "None".to_owned(), py_repr);
                let message =
                    format!("Invalid value for `function`: `{shown}` in `tool_choice`! {usage}");
                return Err(validation_error(
                    opts,
                    &message,
                    Some("tool_choice.function"),
                    None,
                ));
            };
            let Some(name) = function.get("name") else {
                let message =
                    format!("Expected field `name` in `function` in `tool_choice`! {usage}");
                return Err(validation_error(
                    opts,
                    &message,
                    Some("tool_choice.function.name"),
                    None,
                ));
            };
            let Some(name) = name.as_str().filter(|n| !n.is_empty()) else {
                let message = format!(
                    "Invalid `name` in `function`: `{}` in `tool_choice`! {usage}",
                    py_repr(name)
                );
                return Err(validation_error(
                    opts,
                    &message,
                    Some("tool_choice.function.name"),
                    None,
                ));
            };
            let known = tools
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|t| {
                    t.get("function")
                        .and_then(|f| f.get("name"))
                        .and_then(Value::as_str)
                        == Some(name)
                });
            if !known {
                return Err(validation_error(
                    opts,
                    "The tool specified in `tool_choice` does not match any of the specified `tools`",
                    Some("tool_choice"),
                    None,
                ));
            }
            Ok(ToolChoice::Named(name.to_owned()))
        }
        other => {
            let message = format!(
                "Invalid value for `tool_choice`: {}! Only named tools, \"none\", \"auto\" or \"required\" are supported.",
                py_repr(other)
            );
            Err(validation_error(opts, &message, Some("tool_choice"), None))
        }
    }
}

/// The text of the last `user` message.
fn last_user_text(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| m.get("content"))
        .map(tokens::content_text)
        .unwrap_or_default()
}

/// The character offset of a (1-based) line and column, as Python's JSON
/// decoder reports positions.
/// Python's `json` module's words for a decode error (what vLLM's pydantic
/// report quotes), from serde's.
fn python_json_error(error: &serde_json::Error) -> &'static str {
    let text = error.to_string();
    if text.contains("key must be a string") {
        "Expecting property name enclosed in double quotes"
    } else if text.contains("expected `:`") {
        "Expecting ':' delimiter"
    } else if text.contains("expected `,`") {
        "Expecting ',' delimiter"
    } else if text.contains("trailing characters") {
        "Extra data"
    } else if text.contains("EOF while parsing a string") {
        "Unterminated string starting at"
    } else if text.contains("control character") {
        "Invalid control character at"
    } else {
        "Expecting value"
    }
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(body);
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += l.chars().count() + 1;
    }
    offset
}
