//! Tool calls a model wrote as text because the server did not parse them.
//!
//! A vLLM started without `--enable-auto-tool-choice`, or with the tool
//! parser of another model family, passes a model's calls on as plain text:
//!
//! - Hermes and Qwen: `<tool_call>{"name": ..., "arguments": ...}</tool_call>`,
//!   one block per call, possibly with text around them;
//! - Llama 3's JSON form: a reply that is nothing but call objects
//!   (`{"name": ..., "parameters": ...}`, separated by `;` or blanks), maybe
//!   after `<|python_tag|>`;
//! - Mistral: `[TOOL_CALLS]` and then a JSON list of call objects.
//!
//! When the request offered tools, such text becomes tool calls again, but
//! only calls to a tool the request offered, with arguments that are a JSON
//! object: anything else stays text, exactly as it came. [`Streaming`] does
//! the same to a streamed reply, holding back only text that may still turn
//! out to be a call.

pub mod streaming;

pub use streaming::Streaming;

use crate::json;
use crate::wit::{ChatRequest, FinishReason, ToolChoice};
use serde_json::Value;

/// Opens a Hermes/Qwen call block.
const HERMES_OPEN: &str = "<tool_call>";
/// Closes a Hermes/Qwen call block.
const HERMES_CLOSE: &str = "</tool_call>";
/// Starts Mistral's list of calls.
const MISTRAL_CALLS: &str = "[TOOL_CALLS]";
/// May precede Llama 3's calls.
const PYTHON_TAG: &str = "<|python_tag|>";

/// The tools a model may call, as the request offered them; none when the
/// request offered no tools or forbade calling them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offered {
    names: Vec<String>,
}

impl Offered {
    /// The tools `request` lets the model call.
    pub fn by(request: &ChatRequest) -> Self {
        let names = match &request.tool_choice {
            Some(ToolChoice::None) => Vec::new(),
            Some(ToolChoice::Named(name)) => request
                .tools
                .iter()
                .filter(|tool| &tool.name == name)
                .map(|tool| tool.name.clone())
                .collect(),
            _ => request.tools.iter().map(|tool| tool.name.clone()).collect(),
        };
        Self { names }
    }

    /// Tools with these names (for hosts and tests that have no request).
    pub fn named(names: &[&str]) -> Self {
        Self {
            names: names.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// Whether no call can be recovered at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn offers(&self, name: &str) -> bool {
        self.names.iter().any(|offered| offered == name)
    }
}

/// One call found in text.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundCall {
    /// The function name, one the request offered.
    pub name: String,
    /// The arguments, as JSON object text.
    pub arguments: String,
}

/// What a whole reply's text holds: the calls, and the text that is left.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// The text without the calls (blank when it was nothing but calls).
    pub text: String,
    /// The calls, in the order written.
    pub calls: Vec<FoundCall>,
}

/// The calls in a whole reply's `text`, or `None` when it holds none that
/// can be recovered (then the text stands as it is).
pub fn recover(text: &str, offered: &Offered) -> Option<Recovered> {
    if offered.is_empty() {
        return None;
    }
    let recovered = json_calls(text, offered)
        .map(|calls| Recovered {
            text: String::new(),
            calls,
        })
        .or_else(|| mistral_calls(text, offered))
        .or_else(|| hermes_calls(text, offered))?;
    (!recovered.calls.is_empty()).then_some(recovered)
}

/// The id of the `index`th call of the reply with id `reply_id` (vLLM's
/// `chatcmpl-...`), so that calls of different replies differ as the
/// server's own ids do.
pub fn call_id(reply_id: Option<&str>, index: usize) -> String {
    match reply_id.filter(|id| !id.is_empty() && id.len() <= 100) {
        Some(id) => format!("{id}-call-{index}"),
        None => format!("call_{index}"),
    }
}

/// What to tell the user when `count` calls came from a reply's text.
pub fn warning(count: usize) -> Option<String> {
    let calls = match count {
        0 => return None,
        1 => "1 tool call".to_owned(),
        n => format!("{n} tool calls"),
    };
    Some(format!(
        "the server passed {calls} on as text; they were recovered from it. Start vLLM with          --enable-auto-tool-choice and the --tool-call-parser of this model's family (hermes          for Qwen and Hermes, llama3_json for Llama 3, mistral for Mistral) so that it parses          them itself"
    ))
}

/// The finish reason of a reply whose text held calls: the model stopped to
/// have them run, whatever the server thought of the text.
pub fn finish_after_recovery(finish: FinishReason) -> FinishReason {
    match finish {
        FinishReason::Stop | FinishReason::Length => FinishReason::ToolCalls,
        other => other,
    }
}

/// A call object `{"name": ..., "arguments" | "parameters": {...}}` to an
/// offered tool; arguments given as a string must hold an object.
fn call(value: &Value, offered: &Offered) -> Option<FoundCall> {
    let object = value.as_object()?;
    let name = object.get("name")?.as_str()?;
    if !offered.offers(name) {
        return None;
    }
    let arguments = match object.get("arguments").or_else(|| object.get("parameters")) {
        None => {
            return Some(FoundCall {
                name: name.to_owned(),
                arguments: "{}".to_owned(),
            });
        }
        Some(Value::Object(arguments)) => String::from_utf8(json::object_bytes(arguments)).ok()?,
        Some(Value::String(text)) if json::value(text).is_ok_and(|v| v.is_object()) => {
            text.trim().to_owned()
        }
        Some(_) => return None,
    };
    Some(FoundCall {
        name: name.to_owned(),
        arguments,
    })
}

/// The call in one JSON text (a block's content), which must be one object.
fn call_in(text: &str, offered: &Offered) -> Option<FoundCall> {
    let value = json::value(text.trim()).ok()?;
    call(&value, offered)
}

/// Llama 3's form: the whole text is call objects, each to an offered tool.
fn json_calls(text: &str, offered: &Offered) -> Option<Vec<FoundCall>> {
    let mut rest = text.trim_start();
    rest = rest.strip_prefix(PYTHON_TAG).unwrap_or(rest);
    let mut calls = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ';');
        if rest.is_empty() {
            break;
        }
        let end = json::object_end(rest)?;
        calls.push(call_in(&rest[..end], offered)?);
        rest = &rest[end..];
    }
    (!calls.is_empty()).then_some(calls)
}

/// Mistral's form: text, `[TOOL_CALLS]`, then a list of calls (or one call)
/// and nothing after it.
fn mistral_calls(text: &str, offered: &Offered) -> Option<Recovered> {
    let (before, after) = text.split_once(MISTRAL_CALLS)?;
    let calls = match json::value(after.trim()).ok()? {
        Value::Array(items) => items
            .iter()
            .map(|item| call(item, offered))
            .collect::<Option<Vec<_>>>()?,
        object @ Value::Object(_) => vec![call(&object, offered)?],
        _ => return None,
    };
    Some(Recovered {
        text: before.trim().to_owned(),
        calls,
    })
}

/// The Hermes/Qwen form: each `<tool_call>` block that holds a call to an
/// offered tool becomes a call; every other block stays text. A last block
/// may lack its closing tag when the reply ends with the call.
fn hermes_calls(text: &str, offered: &Offered) -> Option<Recovered> {
    let mut left = String::new();
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(HERMES_OPEN) {
        left.push_str(&rest[..open]);
        let block = &rest[open..];
        let content = &block[HERMES_OPEN.len()..];
        let (inside, block_len) = match content.find(HERMES_CLOSE) {
            Some(close) => (
                &content[..close],
                HERMES_OPEN.len() + close + HERMES_CLOSE.len(),
            ),
            None => (content, block.len()),
        };
        match call_in(inside, offered) {
            Some(found) => calls.push(found),
            None => left.push_str(&block[..block_len]),
        }
        rest = &block[block_len..];
    }
    left.push_str(rest);
    (!calls.is_empty()).then(|| Recovered {
        text: left.trim().to_owned(),
        calls,
    })
}

#[cfg(test)]
mod tests;
