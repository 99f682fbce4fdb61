//! Replies the mock makes up when no scripted reply is queued.
//!
//! The "model" is deterministic. It answers `Hello! You said: <the first
//! words of the last user message>` (or `The tool said: ...` after a tool
//! result). It thinks first (`<think>The user wrote N words.</think>`) when
//! its id contains `think`, `reason` or `r1`, when the user's message
//! begins with "Think" (as the local tiny model was trained to), or when
//! `chat_template_kwargs.enable_thinking` is true (false switches thinking
//! off). With [`MockOptions::reasoning_parser`] it follows vLLM 0.32's
//! qwen3 parser: unless `enable_thinking` is false, everything before
//! `</think>` is reasoning, so an answer without any think block comes back
//! entirely as reasoning (recorded from the real server). With tools and `tool_choice` `required`, a named function, or
//! `auto` (which needs [`MockOptions::auto_tool_choice`]), and unless the
//! last message is a tool result, it calls the named or first tool with
//! arguments built from the schema's required string properties (the
//! first `enum` value, else `"test"`). One word is one token, the stop
//! token counts as one more.

use serde_json::Value;

use super::options::MockOptions;
use super::reply::Reply;
use super::shapes::{
    ChunkFactory, ChunkKind, CompletionStyle, Delta, DeltaToolCall, Message, ReasoningField,
    ToolCall, Usage, completion_body, fingerprint, next_hex_id, now_secs, py_object,
};
use super::tokens::{split_tokens, words};

/// How many words of the user's message the answer repeats.
const ECHO_WORDS: usize = 12;

/// The effective `tool_choice` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToolChoice {
    /// No tools, or `"none"`.
    None,
    /// `"auto"`, also the default when tools are given.
    Auto,
    /// `"required"`.
    Required,
    /// `{"type":"function","function":{"name":...}}`.
    Named(String),
}

/// A validated request, reduced to what generation needs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The model name the reply carries.
    pub(crate) model_name: String,
    /// The model the request named (decides whether it thinks).
    pub(crate) model_id: String,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    pub(crate) prompt_tokens: u32,
    /// The output budget after clamping.
    pub(crate) max_tokens: u32,
    pub(crate) tool_choice: ToolChoice,
    pub(crate) tools: Vec<Value>,
    /// The role and text of the last message.
    pub(crate) last_role: String,
    pub(crate) last_text: String,
    pub(crate) last_user_text: String,
    /// `chat_template_kwargs.enable_thinking`.
    pub(crate) thinking_flag: Option<bool>,
    pub(crate) include_reasoning: bool,
}

/// What a generated token turns into on the wire.
#[derive(Debug, Clone)]
enum Emit {
    Content,
    Reasoning,
    /// Swallowed by a parser (`<think>`, `<tool_call>` markup).
    Silent,
    /// The first token of a tool call; `arguments` for forced calls.
    ToolStart {
        id: String,
        name: String,
        arguments: Option<String>,
    },
    ToolArgs,
}

#[derive(Debug, Clone)]
struct Token {
    raw: String,
    emit: Emit,
}

impl Token {
    fn new(raw: &str, emit: Emit) -> Self {
        Self {
            raw: raw.to_owned(),
            emit,
        }
    }
}

/// The generated reply to `plan`.
pub(crate) fn reply(opts: &MockOptions, plan: &Plan, request_id: Option<&str>) -> Reply {
    let mut tokens = model_output(opts, plan);
    let budget = usize::try_from(plan.max_tokens).unwrap_or(usize::MAX);
    let cut = tokens.len() >= budget;
    tokens.truncate(budget);
    let factory = ChunkFactory {
        id: format!(
            "chatcmpl-{}",
            request_id.map_or_else(next_hex_id, str::to_owned)
        ),
        created: now_secs(),
        model: plan.model_name.clone(),
        reasoning_field: if opts.legacy_reasoning_field {
            ReasoningField::ReasoningContent
        } else {
            ReasoningField::Reasoning
        },
        system_fingerprint: fingerprint(&opts.version),
    };
    let completion_tokens = u32::try_from(tokens.len()).unwrap_or(u32::MAX) + u32::from(!cut);
    let reasoning_tokens = tokens
        .iter()
        .filter(|t| matches!(t.emit, Emit::Reasoning))
        .count();
    let usage = Usage {
        prompt_tokens: plan.prompt_tokens,
        completion_tokens,
        reasoning_tokens: opts
            .reasoning_parser
            .then(|| u32::try_from(reasoning_tokens).unwrap_or(u32::MAX)),
    };
    if plan.stream {
        stream_reply(opts, plan, &factory, &tokens, cut, usage)
    } else {
        full_reply(opts, plan, &factory, &tokens, cut, usage)
    }
}

/// Whether the model thinks before answering.
fn thinks(plan: &Plan) -> bool {
    plan.thinking_flag.unwrap_or_else(|| {
        let id = plan.model_id.to_ascii_lowercase();
        ["think", "reason", "r1"].iter().any(|k| id.contains(k))
            || plan
                .last_user_text
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("think")
    })
}

/// The tool the model calls, if any.
fn chosen_tool<'a>(opts: &MockOptions, plan: &'a Plan) -> Option<&'a Value> {
    match &plan.tool_choice {
        ToolChoice::None => None,
        ToolChoice::Named(name) => plan
            .tools
            .iter()
            .find(|t| tool_name(t) == Some(name.as_str())),
        ToolChoice::Required => plan.tools.first(),
        ToolChoice::Auto if opts.auto_tool_choice && plan.last_role != "tool" => plan.tools.first(),
        ToolChoice::Auto => None,
    }
}

/// `function.name` of a tool.
fn tool_name(tool: &Value) -> Option<&str> {
    tool.get("function")?.get("name")?.as_str()
}

/// Arguments from the schema's required string properties, Python style.
fn tool_arguments(tool: &Value) -> String {
    let params = tool.get("function").and_then(|f| f.get("parameters"));
    let required = params
        .and_then(|p| p.get("required"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let fields: Vec<(String, String)> = required
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|name| {
            let schema = params?.get("properties")?.get(name)?;
            if schema.get("type").and_then(Value::as_str) != Some("string") {
                return None;
            }
            let value = schema
                .get("enum")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
                .and_then(Value::as_str)
                .unwrap_or("test");
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    py_object(&fields)
}

/// The model's raw output as tokens, each marked with how it is emitted.
fn model_output(opts: &MockOptions, plan: &Plan) -> Vec<Token> {
    let mut out = Vec::new();
    let parse_reasoning = opts.reasoning_parser;
    let thought = thinks(plan);
    if thought {
        let marker = if parse_reasoning {
            Emit::Silent
        } else {
            Emit::Content
        };
        let body = if parse_reasoning {
            Emit::Reasoning
        } else {
            Emit::Content
        };
        out.push(Token::new("<think>", marker.clone()));
        let thought = format!("The user wrote {} words.", words(&plan.last_user_text));
        out.extend(
            split_tokens(&thought)
                .iter()
                .map(|w| Token::new(w, body.clone())),
        );
        out.push(Token::new("</think>", marker));
    }
    if let Some(tool) = chosen_tool(opts, plan) {
        let name = tool_name(tool).unwrap_or_default().to_owned();
        let id = format!("chatcmpl-tool-{}", next_hex_id());
        let fragments = split_tokens(&tool_arguments(tool));
        if plan.tool_choice == ToolChoice::Auto {
            // Hermes: `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>`.
            out.push(Token::new("<tool_call>", Emit::Silent));
            let head = format!("\n{{\"name\": \"{name}\", \"arguments\": ");
            out.push(Token::new(
                &head,
                Emit::ToolStart {
                    id,
                    name,
                    arguments: None,
                },
            ));
            out.extend(fragments.iter().map(|f| Token::new(f, Emit::ToolArgs)));
            out.push(Token::new("}\n</tool_call>", Emit::Silent));
            if opts.parser_misses_calls {
                for token in out.iter_mut() {
                    if !matches!(token.emit, Emit::Reasoning)
                        && token.raw != "<think>"
                        && token.raw != "</think>"
                    {
                        token.emit = Emit::Content;
                    }
                }
            }
        } else {
            // Forced calls: the output is the arguments JSON itself.
            for (i, fragment) in fragments.iter().enumerate() {
                let emit = if i == 0 {
                    Emit::ToolStart {
                        id: id.clone(),
                        name: name.clone(),
                        arguments: Some(fragment.clone()),
                    }
                } else {
                    Emit::ToolArgs
                };
                out.push(Token::new(fragment, emit));
            }
        }
        return out;
    }
    let answer = if plan.last_role == "tool" {
        echo("The tool said:", &plan.last_text)
    } else if plan.last_user_text.trim().is_empty() {
        "Hello! How can I help you today?".to_owned()
    } else {
        echo("Hello! You said:", &plan.last_user_text)
    };
    // The qwen3 parser starts in reasoning: without a `</think>` before
    // it, the answer is reasoning too.
    let emit = if parse_reasoning && !thought && plan.thinking_flag != Some(false) {
        Emit::Reasoning
    } else {
        Emit::Content
    };
    out.extend(
        split_tokens(&answer)
            .iter()
            .map(|w| Token::new(w, emit.clone())),
    );
    out
}

fn echo(prefix: &str, text: &str) -> String {
    let said: Vec<&str> = text.split_whitespace().take(ECHO_WORDS).collect();
    format!("{prefix} {}", said.join(" "))
}

/// The finish reason when the model stopped by itself.
fn natural_finish(plan: &Plan, called_tool: bool) -> &'static str {
    match (&plan.tool_choice, called_tool) {
        (ToolChoice::Named(_), _) => "stop",
        (ToolChoice::Auto | ToolChoice::Required, true) => "tool_calls",
        _ => "stop",
    }
}

fn full_reply(
    opts: &MockOptions,
    plan: &Plan,
    f: &ChunkFactory,
    tokens: &[Token],
    cut: bool,
    usage: Usage,
) -> Reply {
    let collect = |pred: fn(&Emit) -> bool| -> Option<String> {
        let parts: Vec<&str> = tokens
            .iter()
            .filter(|t| pred(&t.emit))
            .map(|t| t.raw.as_str())
            .collect();
        (!parts.is_empty()).then(|| parts.concat())
    };
    let reasoning = collect(|e| matches!(e, Emit::Reasoning)).filter(|_| plan.include_reasoning);
    let mut content = collect(|e| matches!(e, Emit::Content));
    let mut tool_calls = Vec::new();
    let start = tokens.iter().find_map(|t| match &t.emit {
        Emit::ToolStart { id, name, .. } => Some((id.clone(), name.clone())),
        _ => None,
    });
    if let Some((id, name)) = start {
        let args: String = tokens
            .iter()
            .filter(|t| {
                matches!(t.emit, Emit::ToolArgs)
                    || matches!(
                        &t.emit,
                        Emit::ToolStart {
                            arguments: Some(_),
                            ..
                        }
                    )
            })
            .map(|t| t.raw.as_str())
            .collect();
        let complete = !cut || plan.tool_choice != ToolChoice::Auto;
        if complete {
            tool_calls.push(ToolCall {
                id,
                name,
                arguments: if args.is_empty() {
                    "{}".to_owned()
                } else {
                    args
                },
            });
        } else {
            // Hermes cannot parse a cut call and returns the raw text.
            let raw: String = tokens
                .iter()
                .filter(|t| {
                    !(matches!(t.emit, Emit::Reasoning)
                        || (matches!(t.emit, Emit::Silent)
                            && (t.raw == "<think>" || t.raw == "</think>")))
                })
                .map(|t| t.raw.as_str())
                .collect();
            content = Some(raw);
        }
        if plan.tool_choice != ToolChoice::Auto {
            content = Some(content.unwrap_or_default());
        }
    }
    let finish = if cut {
        "length"
    } else {
        natural_finish(plan, !tool_calls.is_empty())
    };
    let message = Message {
        content,
        reasoning,
        tool_calls,
    };
    let style = CompletionStyle {
        reasoning_field: f.reasoning_field,
        empty_tool_calls: opts.empty_tool_calls,
    };
    Reply::json_text(200, completion_body(f, &message, finish, usage, style))
}

fn stream_reply(
    opts: &MockOptions,
    plan: &Plan,
    f: &ChunkFactory,
    tokens: &[Token],
    cut: bool,
    usage: Usage,
) -> Reply {
    let mut called_tool = false;
    let mut events = vec![f.role()];
    for (i, token) in tokens.iter().enumerate() {
        // vLLM streams every tool call (auto, required or named) the same
        // way: `"content": null`, a first delta with id and name only, then
        // the arguments in fragments.
        let delta = match &token.emit {
            Emit::Content => Some(Delta::content(&token.raw)),
            Emit::Reasoning => plan
                .include_reasoning
                .then(|| Delta::reasoning(f.reasoning_field, &token.raw)),
            Emit::Silent => None,
            Emit::ToolStart {
                id,
                name,
                arguments,
            } => {
                called_tool = true;
                let start = Delta::hermes_tool_calls(vec![DeltaToolCall::start(0, id, name, None)]);
                match arguments {
                    Some(fragment) => {
                        events.push(f.render(start, ChunkKind::Token));
                        Some(Delta::hermes_tool_calls(vec![DeltaToolCall::arguments(
                            0, fragment,
                        )]))
                    }
                    None => Some(start),
                }
            }
            Emit::ToolArgs => Some(Delta::hermes_tool_calls(vec![DeltaToolCall::arguments(
                0, &token.raw,
            )])),
        };
        if cut && i + 1 == tokens.len() {
            events.push(f.render(
                delta.unwrap_or_default(),
                ChunkKind::Finish {
                    reason: "length".to_owned(),
                    fingerprint: !plan.include_usage,
                },
            ));
        } else if let Some(delta) = delta {
            events.push(f.render(delta, ChunkKind::Token));
        }
    }
    if !cut {
        // The stop token decodes to "", which a tool parser swallows.
        let delta = if opts.auto_tool_choice {
            Delta::default()
        } else {
            Delta::content("")
        };
        events.push(f.render(
            delta,
            ChunkKind::Finish {
                reason: natural_finish(plan, called_tool).to_owned(),
                fingerprint: !plan.include_usage,
            },
        ));
    }
    if plan.include_usage {
        events.push(f.usage(usage));
    }
    let reply = Reply::Sse {
        events,
        split: opts.stream_split,
        done: true,
    };
    match opts.event_delay {
        Some(interval) => reply.paced(interval),
        None => reply,
    }
}
