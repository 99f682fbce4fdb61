//! Rendering replies shaped like vLLM 0.32's (`tests/fixtures/vllm-0.32/`):
//! field sets and order are copied from the recordings; ids and timestamps
//! are fixed values.
//!
//! Everything a stream repeats is rendered once per model id
//! ([`StreamParts`]), so serving an event is a copy of bytes already made.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::scenario::{Kind, MAX_TOKENS, Scenario};

/// `created` of every object (the recordings' time).
const CREATED: u64 = 1_795_619_791;
/// `id` of every completion.
const COMPLETION_ID: &str = "chatcmpl-9841528eaf6b104e";
/// `id` of the one tool call.
const TOOL_CALL_ID: &str = "chatcmpl-tool-a4c32631fc4f8b3b";
/// The function the `tools` kind calls.
const TOOL_NAME: &str = "get_weather";
/// vLLM's `system_fingerprint`.
const FINGERPRINT: &str = "vllm-0.32.0-e2c3e065";
/// `usage.prompt_tokens` of every reply (the recordings' "Hello!" prompt).
const PROMPT_TOKENS: u64 = 11;
/// `max_model_len` `/v1/models` shows.
const MAX_MODEL_LEN: u64 = 131_072;
/// The ids `/v1/models` lists (any id of the grammar is accepted).
pub const LISTED_MODELS: [&str; 4] = ["text", "text-w64", "reasoning", "tools"];
/// Most model ids whose parts are kept; ids beyond it are rendered per request.
const CACHE_ENTRIES: usize = 256;

/// Content deltas of `text`, repeated: vLLM's first reply, then some
/// characters a client must decode (escapes and UTF-8).
const TEXT_TOKENS: [&str; 20] = [
    "Hello",
    "!",
    " How",
    " can",
    " I",
    " help",
    " you",
    " today",
    "?",
    "\n",
    " The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " \"over\"",
    " the",
    " lazy",
    " caf\u{e9}",
    ".",
];
/// Reasoning deltas of `reasoning`, repeated (vLLM's recorded reasoning).
const REASONING_TOKENS: [&str; 16] = [
    "\n", "The", " user", " asks", " for", " 2", " +", " 2", ".", " Adding", " 2", " and", " 2",
    " gives", " 4", ".",
];
/// First argument delta of `tools` (opens the object and a string).
const ARGS_OPEN: &str = "{\"city\": \"";
/// Argument deltas between the first and the last, repeated: plain string
/// content, so that the joined arguments are always valid JSON.
const ARGS_MIDDLE: [&str; 8] = ["Par", "is", ",", " Fr", "ance", " and", " L", "yon"];
/// Last argument delta of `tools` (closes the string and the object).
const ARGS_CLOSE: &str = "\"}";
/// The arguments of a reply of one event.
const ARGS_SINGLE: &str = "{\"city\": \"Paris\"}";

/// Bytes a stream of one model id is made of, rendered once.
#[derive(Debug)]
pub struct StreamParts {
    kind: Kind,
    /// `"id":…,"object":…,"created":…,"model":…` with a trailing comma.
    prefix: String,
    /// The role chunk, and for `tools` the chunk naming the call.
    preamble: Vec<u8>,
    /// One event per repeated token, concatenated; `cycle_ends[i]` ends event `i`.
    cycle: Vec<u8>,
    cycle_ends: Vec<usize>,
    /// `tools` only: the first, last and only argument events.
    args_open: Vec<u8>,
    args_close: Vec<u8>,
    args_single: Vec<u8>,
}

impl StreamParts {
    /// Renders the parts of `model`, which parsed as `kind`.
    pub fn new(model: &str, kind: Kind) -> Self {
        let prefix = format!(
            "\"id\":\"{COMPLETION_ID}\",\"object\":\"chat.completion.chunk\",\"created\":{CREATED},\"model\":{},",
            json_string(model)
        );
        let mut preamble = sse(&format!(
            "{{{prefix}\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}],\"prompt_token_ids\":null,\"prompt_text\":null}}"
        ));
        if kind == Kind::Tools {
            preamble.extend(sse(&delta_chunk(
                &prefix,
                &format!(
                    "{{\"content\":null,\"tool_calls\":[{{\"id\":\"{TOOL_CALL_ID}\",\"type\":\"function\",\"index\":0,\"function\":{{\"name\":\"{TOOL_NAME}\",\"arguments\":\"\"}}}}]}}"
                ),
            )));
        }
        let tokens: &[&str] = match kind {
            Kind::Text => &TEXT_TOKENS,
            Kind::Reasoning => &REASONING_TOKENS,
            Kind::Tools => &ARGS_MIDDLE,
        };
        let mut cycle = Vec::new();
        let mut cycle_ends = Vec::with_capacity(tokens.len());
        for token in tokens {
            cycle.extend(event(&prefix, kind, token));
            cycle_ends.push(cycle.len());
        }
        let (args_open, args_close, args_single) = if kind == Kind::Tools {
            (
                event(&prefix, kind, ARGS_OPEN),
                event(&prefix, kind, ARGS_CLOSE),
                event(&prefix, kind, ARGS_SINGLE),
            )
        } else {
            Default::default()
        };
        Self {
            kind,
            prefix,
            preamble,
            cycle,
            cycle_ends,
            args_open,
            args_close,
            args_single,
        }
    }

    /// The role chunk (and the tool call's first chunk), sent before any event.
    pub fn preamble(&self) -> &[u8] {
        &self.preamble
    }

    /// SSE bytes of event `index` (from 0) of a reply of `total` events.
    pub fn event(&self, index: u32, total: u32) -> &[u8] {
        match Slot::of(self.kind, index, total) {
            Slot::Cycle(slot) => {
                let start = match slot.checked_sub(1) {
                    Some(before) => self.cycle_ends.get(before).copied().unwrap_or(0),
                    None => 0,
                };
                let end = self.cycle_ends.get(slot).copied().unwrap_or(start);
                self.cycle.get(start..end).unwrap_or_default()
            }
            Slot::Open => &self.args_open,
            Slot::Close => &self.args_close,
            Slot::Single => &self.args_single,
        }
    }

    /// The end of a stream of `total` events: the chunk with
    /// `finish_reason`, the usage chunk when asked for, and `[DONE]`.
    pub fn tail(&self, total: u32, include_usage: bool) -> Vec<u8> {
        let prefix = &self.prefix;
        let (delta, finish) = match self.kind {
            Kind::Text => ("{\"content\":\"\"}", "stop"),
            Kind::Reasoning => ("{}", "stop"),
            Kind::Tools => ("{}", "tool_calls"),
        };
        // vLLM puts the fingerprint on the last chunk before [DONE].
        let fingerprint = if include_usage {
            String::new()
        } else {
            format!(",\"system_fingerprint\":\"{FINGERPRINT}\"")
        };
        let mut tail = sse(&format!(
            "{{{prefix}\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":\"{finish}\",\"stop_reason\":null,\"token_ids\":null}}]{fingerprint}}}"
        ));
        if include_usage {
            let usage = usage(total, self.kind, false);
            tail.extend(sse(&format!(
                "{{{prefix}\"choices\":[],\"usage\":{usage},\"system_fingerprint\":\"{FINGERPRINT}\"}}"
            )));
        }
        tail.extend_from_slice(b"data: [DONE]\n\n");
        tail
    }
}

/// The parts of every model id seen, shared by all connections.
#[derive(Debug, Default)]
pub struct PartsCache {
    parts: Mutex<HashMap<String, Arc<StreamParts>>>,
}

impl PartsCache {
    /// The parts of `model` (which parsed as `kind`), rendered on first use.
    pub fn get(&self, model: &str, kind: Kind) -> Arc<StreamParts> {
        let mut parts = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = parts.get(model) {
            return Arc::clone(found);
        }
        let made = Arc::new(StreamParts::new(model, kind));
        if parts.len() < CACHE_ENTRIES {
            parts.insert(model.to_owned(), Arc::clone(&made));
        }
        made
    }
}

/// A non-streamed `chat.completion` of `total` events: the deltas a stream
/// would carry, joined, with usage.
pub fn completion(model: &str, scenario: &Scenario, total: u32) -> Vec<u8> {
    let kind = scenario.kind;
    let mut joined = String::new();
    for index in 0..total {
        joined.push_str(escaped_token(kind, index, total));
    }
    let (content, tool_calls, reasoning, finish) = match kind {
        Kind::Text => (
            format!("\"{joined}\""),
            String::new(),
            "null".to_owned(),
            "stop",
        ),
        Kind::Reasoning => (
            "null".to_owned(),
            String::new(),
            format!("\"{joined}\""),
            "stop",
        ),
        Kind::Tools => (
            "null".to_owned(),
            format!(
                ",\"tool_calls\":[{{\"id\":\"{TOOL_CALL_ID}\",\"type\":\"function\",\"function\":{{\"name\":\"{TOOL_NAME}\",\"arguments\":\"{joined}\"}}}}]"
            ),
            "null".to_owned(),
            "tool_calls",
        ),
    };
    let usage = usage(total, kind, true);
    format!(
        "{{\"id\":\"{COMPLETION_ID}\",\"object\":\"chat.completion\",\"created\":{CREATED},\"model\":{},\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":{content},\"refusal\":null,\"annotations\":null,\"audio\":null,\"function_call\":null{tool_calls},\"reasoning\":{reasoning}}},\"logprobs\":null,\"finish_reason\":\"{finish}\",\"stop_reason\":null,\"token_ids\":null,\"routed_experts\":null}}],\"service_tier\":null,\"system_fingerprint\":\"{FINGERPRINT}\",\"usage\":{usage},\"prompt_logprobs\":null,\"prompt_token_ids\":null,\"prompt_text\":null,\"kv_transfer_params\":null,\"ec_transfer_params\":null,\"metrics\":null}}",
        json_string(model)
    )
    .into_bytes()
}

/// `GET /v1/models`: [`LISTED_MODELS`] in vLLM's model card shape.
pub fn models() -> Vec<u8> {
    let cards: Vec<String> = LISTED_MODELS
        .iter()
        .map(|id| {
            format!(
                "{{\"id\":\"{id}\",\"object\":\"model\",\"created\":{CREATED},\"owned_by\":\"vllm\",\"root\":\"{id}\",\"parent\":null,\"max_model_len\":{MAX_MODEL_LEN},\"permission\":[{{\"id\":\"modelperm-bebb5a971b551c00\",\"object\":\"model_permission\",\"created\":{CREATED},\"allow_create_engine\":false,\"allow_sampling\":true,\"allow_logprobs\":true,\"allow_search_indices\":false,\"allow_view\":true,\"allow_fine_tuning\":false,\"organization\":\"*\",\"group\":null,\"is_blocking\":false}}]}}"
            )
        })
        .collect();
    format!("{{\"object\":\"list\",\"data\":[{}]}}", cards.join(",")).into_bytes()
}

/// `GET /version`.
pub fn version() -> Vec<u8> {
    b"{\"version\":\"0.32.0\"}".to_vec()
}

/// vLLM's 404 for a model it does not serve.
pub fn unknown_model(model: &str) -> Vec<u8> {
    let message = format!(
        "The model `{model}` does not exist. Valid aliases: {}.",
        LISTED_MODELS.join(", ")
    );
    error(&message, "NotFoundError", Some("model"), 404)
}

/// vLLM's 400 for a body that is not JSON (pydantic's `json_invalid`).
pub fn bad_json(detail: &str) -> Vec<u8> {
    let message = format!(
        "1 validation error:\n  {{'type': 'json_invalid', 'loc': 'body.1', 'msg': 'JSON decode error', 'input': '<dict of 0 items>', 'ctx': {{'error': '{detail}'}}}}"
    );
    error(&message, "Bad Request", Some("body.1"), 400)
}

/// vLLM's 400 for a field pydantic rejects: `loc` is where (`body.stream`),
/// `kind` pydantic's error type, `items` how many fields the body has.
pub fn invalid(loc: &str, kind: &str, msg: &str, items: usize) -> Vec<u8> {
    let message = format!(
        "1 validation error:\n  {{'type': '{kind}', 'loc': '{loc}', 'msg': '{msg}', 'input': '<dict of {items} items>'}}"
    );
    error(&message, "Bad Request", Some(loc), 400)
}

/// vLLM's 400 for `max_tokens` out of range.
pub fn bad_max_tokens(field: &str, value: &str) -> Vec<u8> {
    let message = format!(
        "{field}={value} must be at least 1 and at most {MAX_TOKENS}. Please request fewer output tokens. (parameter={field}, value={value})"
    );
    error(&message, "BadRequestError", Some(field), 400)
}

/// The error object vLLM answers with: `{"error":{message,type,param,code}}`.
pub fn error(message: &str, kind: &str, param: Option<&str>, code: u16) -> Vec<u8> {
    let param = param.map_or_else(|| "null".to_owned(), json_string);
    format!(
        "{{\"error\":{{\"message\":{},\"type\":{},\"param\":{param},\"code\":{code}}}}}",
        json_string(message),
        json_string(kind)
    )
    .into_bytes()
}

/// Starlette's body for a route or method it does not have.
pub fn detail(text: &str) -> Vec<u8> {
    format!("{{\"detail\":{}}}", json_string(text)).into_bytes()
}

/// Which token event `index` of a reply of `total` events carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Position in the kind's repeated tokens.
    Cycle(usize),
    /// `tools` only: the first, last and only argument deltas.
    Open,
    Close,
    Single,
}

impl Slot {
    fn of(kind: Kind, index: u32, total: u32) -> Self {
        let position = |i: u32, len: usize| Self::Cycle(usize::try_from(i).unwrap_or(0) % len);
        match kind {
            Kind::Text => position(index, TEXT_TOKENS.len()),
            Kind::Reasoning => position(index, REASONING_TOKENS.len()),
            Kind::Tools => match (index, total) {
                (_, 1) => Self::Single,
                (0, _) => Self::Open,
                (i, t) if i + 1 == t => Self::Close,
                (i, _) => position(i - 1, ARGS_MIDDLE.len()),
            },
        }
    }
}

/// The JSON-escaped delta of event `index` of `total` (as it sits between quotes).
fn escaped_token(kind: Kind, index: u32, total: u32) -> &'static str {
    let escaped = &*ESCAPED;
    let cycle = match kind {
        Kind::Text => &escaped.text,
        Kind::Reasoning => &escaped.reasoning,
        Kind::Tools => &escaped.args_middle,
    };
    match Slot::of(kind, index, total) {
        Slot::Cycle(i) => cycle.get(i).map_or("", String::as_str),
        Slot::Open => &escaped.args_open,
        Slot::Close => &escaped.args_close,
        Slot::Single => &escaped.args_single,
    }
}

/// Every token with its JSON escaping, without the quotes.
#[derive(Debug)]
struct Escaped {
    text: Vec<String>,
    reasoning: Vec<String>,
    args_middle: Vec<String>,
    args_open: String,
    args_close: String,
    args_single: String,
}

/// [`Escaped`], made once.
static ESCAPED: LazyLock<Escaped> = LazyLock::new(|| {
    let inner = |token: &str| {
        let quoted = json_string(token);
        quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .unwrap_or_default()
            .to_owned()
    };
    let all = |tokens: &[&str]| tokens.iter().map(|t| inner(t)).collect();
    Escaped {
        text: all(&TEXT_TOKENS),
        reasoning: all(&REASONING_TOKENS),
        args_middle: all(&ARGS_MIDDLE),
        args_open: inner(ARGS_OPEN),
        args_close: inner(ARGS_CLOSE),
        args_single: inner(ARGS_SINGLE),
    }
});

/// One event's SSE bytes: a chunk whose delta carries `token`.
fn event(prefix: &str, kind: Kind, token: &str) -> Vec<u8> {
    let token = json_string(token);
    let delta = match kind {
        Kind::Text => format!("{{\"content\":{token}}}"),
        Kind::Reasoning => format!("{{\"reasoning\":{token}}}"),
        Kind::Tools => format!(
            "{{\"content\":null,\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{token}}}}}]}}"
        ),
    };
    sse(&delta_chunk(prefix, &delta))
}

/// A `chat.completion.chunk` with one choice carrying `delta`.
fn delta_chunk(prefix: &str, delta: &str) -> String {
    format!(
        "{{{prefix}\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":null,\"token_ids\":null}}]}}"
    )
}

/// The usage object: streamed usage has no `prompt_tokens_details`; with a
/// reasoning parser (the `reasoning` and `tools` kinds) vLLM adds
/// `completion_tokens_details`, without one the final object says null.
fn usage(total: u32, kind: Kind, full: bool) -> String {
    let completion = u64::from(total);
    let sum = PROMPT_TOKENS + completion;
    let reasoning_tokens = match kind {
        Kind::Text => None,
        Kind::Reasoning => Some(completion),
        Kind::Tools => Some(0),
    };
    let details = match (reasoning_tokens, full) {
        (Some(n), true) => {
            format!(
                ",\"prompt_tokens_details\":null,\"completion_tokens_details\":{{\"reasoning_tokens\":{n}}}"
            )
        }
        (Some(n), false) => format!(",\"completion_tokens_details\":{{\"reasoning_tokens\":{n}}}"),
        (None, true) => {
            ",\"prompt_tokens_details\":null,\"completion_tokens_details\":null".to_owned()
        }
        (None, false) => String::new(),
    };
    format!(
        "{{\"prompt_tokens\":{PROMPT_TOKENS},\"total_tokens\":{sum},\"completion_tokens\":{completion}{details}}}"
    )
}

/// `data: <json>\n\n`.
fn sse(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(b"\n\n");
    out
}

/// `text` as a JSON string literal, quotes included.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    fn events(parts: &StreamParts, total: u32) -> Vec<Value> {
        (0..total)
            .map(|i| {
                let bytes = parts.event(i, total);
                let body = bytes
                    .strip_prefix(b"data: ")
                    .and_then(|b| b.strip_suffix(b"\n\n"))
                    .expect("one SSE event");
                json(body)
            })
            .collect()
    }

    #[test]
    fn every_piece_is_json() {
        for kind in [Kind::Text, Kind::Reasoning, Kind::Tools] {
            let parts = StreamParts::new("m", kind);
            for total in [1, 2, 3, 40] {
                assert_eq!(
                    events(&parts, total).len(),
                    usize::try_from(total).unwrap_or(0)
                );
                for usage in [false, true] {
                    let tail = String::from_utf8(parts.tail(total, usage)).expect("utf-8");
                    for piece in tail.split("\n\n").filter(|p| !p.is_empty()) {
                        let body = piece.strip_prefix("data: ").expect("data line");
                        if body != "[DONE]" {
                            json(body.as_bytes());
                        }
                    }
                }
                let scenario = Scenario {
                    kind,
                    per_write: 1,
                    delay: std::time::Duration::ZERO,
                };
                json(&completion("m", &scenario, total));
            }
        }
        json(&models());
        json(&unknown_model("x\"y"));
        json(&bad_json("it's bad"));
    }

    #[test]
    fn tool_arguments_join_to_an_object() {
        let parts = StreamParts::new("tools", Kind::Tools);
        for total in [1, 2, 3, 9, 100] {
            let joined: String = events(&parts, total)
                .iter()
                .map(|e| {
                    let args = &e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"];
                    let text = args.as_str().expect("arguments string");
                    assert!(!text.is_empty());
                    text.to_owned()
                })
                .collect();
            assert!(json(joined.as_bytes()).is_object(), "{joined}");
        }
    }

    #[test]
    fn completion_joins_the_stream() {
        for kind in [Kind::Text, Kind::Reasoning, Kind::Tools] {
            let parts = StreamParts::new("m", kind);
            let total = 45;
            let streamed: String = events(&parts, total)
                .iter()
                .map(|e| {
                    let delta = &e["choices"][0]["delta"];
                    let piece = match kind {
                        Kind::Text => &delta["content"],
                        Kind::Reasoning => &delta["reasoning"],
                        Kind::Tools => &delta["tool_calls"][0]["function"]["arguments"],
                    };
                    piece.as_str().expect("string delta").to_owned()
                })
                .collect();
            let scenario = Scenario {
                kind,
                per_write: 1,
                delay: std::time::Duration::ZERO,
            };
            let whole = json(&completion("m", &scenario, total));
            let message = &whole["choices"][0]["message"];
            let joined = match kind {
                Kind::Text => &message["content"],
                Kind::Reasoning => &message["reasoning"],
                Kind::Tools => &message["tool_calls"][0]["function"]["arguments"],
            };
            assert_eq!(joined.as_str(), Some(streamed.as_str()));
            assert_eq!(whole["usage"]["completion_tokens"], total);
        }
    }
}
