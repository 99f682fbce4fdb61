//! Generated inputs: properties that must hold for every input, checked on
//! many generated ones (the counts are in RELIABILITY.md).
//!
//! - Any chunking of an SSE byte stream yields the events of the whole
//!   stream, and those are the events that were encoded.
//! - Request building never emits a field vLLM must not get, whatever the
//!   request holds.

use proptest::prelude::*;
use serde_json::Value;
use vllm_provider::request::{FORBIDDEN_FIELDS, build};
use vllm_provider::sse::{SseDecoder, SseItem};
use vllm_provider::wit::{
    AssistantMessage, ChatRequest, ContentPart, InputKind, JsonSchemaFormat, Message, Model,
    ModelCost, Sampling, StructuredOutput, Tool, ToolCall, ToolChoice, ToolResult,
};

/// Cases per property (proptest's default is 256).
const SSE_CASES: u32 = 2_000;
const REQUEST_CASES: u32 = 2_000;

// ---------------------------------------------------------------------------
// SSE
// ---------------------------------------------------------------------------

/// One thing a server may write between events.
#[derive(Debug, Clone)]
enum Part {
    /// An event with these `data:` lines.
    Event(Vec<String>),
    /// A comment line (keep-alive).
    Comment(String),
    /// `data: [DONE]`.
    Done,
    /// An `event:` or `id:` field before the data lines of an event.
    Named(String, Vec<String>),
}

/// Text that fits on one line: anything but CR and LF, multi-byte
/// characters included.
fn line_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        4 => prop::collection::vec(line_text(), 1..4).prop_map(Part::Event),
        1 => line_text().prop_map(Part::Comment),
        1 => Just(Part::Done),
        1 => (line_text(), prop::collection::vec(line_text(), 1..3))
            .prop_map(|(name, lines)| Part::Named(name, lines)),
    ]
}

/// The stream's bytes with `eol` as every line end, and the items a
/// correct decoder yields for it.
fn encode(parts: &[Part], eol: &str) -> (Vec<u8>, Vec<SseItem>) {
    let mut text = String::new();
    let mut items = Vec::new();
    let event = |text: &mut String, lines: &[String], items: &mut Vec<SseItem>| {
        for line in lines {
            text.push_str(&format!("data: {line}{eol}"));
        }
        text.push_str(eol);
        let data = lines.join("\n");
        items.push(if data == "[DONE]" {
            SseItem::Done
        } else {
            SseItem::Data(data)
        });
    };
    for part in parts {
        match part {
            Part::Event(lines) => event(&mut text, lines, &mut items),
            Part::Comment(comment) => text.push_str(&format!(":{comment}{eol}")),
            Part::Done => event(&mut text, &["[DONE]".to_owned()], &mut items),
            Part::Named(name, lines) => {
                text.push_str(&format!("event: {name}{eol}"));
                event(&mut text, lines, &mut items);
            }
        }
    }
    (text.into_bytes(), items)
}

fn decode(bytes: &[u8], sizes: &[usize]) -> Vec<SseItem> {
    let mut decoder = SseDecoder::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        decoder
            .feed(piece, &mut out)
            .expect("valid UTF-8 SSE decodes");
        rest = tail;
    }
    decoder.finish(&mut out).expect("the stream ends cleanly");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(SSE_CASES))]

    #[test]
    fn any_chunking_of_an_sse_stream_yields_the_same_events(
        parts in prop::collection::vec(part(), 0..12),
        eol in prop::sample::select(vec!["\n", "\r\n", "\r"]),
        sizes in prop::collection::vec(1usize..40, 1..16),
    ) {
        let (bytes, expected) = encode(&parts, eol);
        let whole = decode(&bytes, &[bytes.len().max(1)]);
        prop_assert_eq!(&whole, &expected);
        let chunked = decode(&bytes, &sizes);
        prop_assert_eq!(&chunked, &expected);
        let bytewise = decode(&bytes, &[1]);
        prop_assert_eq!(&bytewise, &expected);
    }
}

// ---------------------------------------------------------------------------
// Request building
// ---------------------------------------------------------------------------

/// JSON text for a user-supplied object: keys that include the forbidden
/// names, which are fine *inside* a schema or the template kwargs.
fn user_object() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(FORBIDDEN_FIELDS.to_vec()).prop_map(str::to_owned),
        Just("strict".to_owned()),
        "[a-z_]{1,10}",
    ];
    prop::collection::btree_map(key, any::<i32>(), 0..4).prop_map(|map| {
        let object: serde_json::Map<String, Value> =
            map.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
        Value::Object(object).to_string()
    })
}

fn schema() -> impl Strategy<Value = String> {
    user_object().prop_map(|properties| {
        format!(r#"{{"type":"object","properties":{properties},"strict":true}}"#)
    })
}

fn tool() -> impl Strategy<Value = Tool> {
    ("[a-z_]{1,12}", proptest::option::of(line_text()), schema()).prop_map(
        |(name, description, parameters_json)| Tool {
            name,
            description,
            parameters_json,
        },
    )
}

fn message() -> impl Strategy<Value = Message> {
    let part = prop_oneof![
        line_text().prop_map(ContentPart::Text),
        "https://[a-z]{1,8}\\.example/[a-z]{1,8}\\.png".prop_map(ContentPart::ImageUrl),
    ];
    let call = ("[a-z0-9]{1,8}", "[a-z_]{1,8}", user_object()).prop_map(|(id, name, arguments)| {
        ToolCall {
            id,
            name,
            arguments,
            from_text: false,
        }
    });
    prop_oneof![
        line_text().prop_map(Message::System),
        prop::collection::vec(part, 1..3).prop_map(Message::User),
        (
            proptest::option::of(line_text()),
            proptest::option::of(line_text()),
            prop::collection::vec(call, 0..3)
        )
            .prop_map(|(text, reasoning, tool_calls)| Message::Assistant(
                AssistantMessage {
                    text,
                    reasoning,
                    tool_calls,
                }
            )),
        ("[a-z0-9]{1,8}", line_text()).prop_map(|(tool_call_id, content)| Message::Tool(
            ToolResult {
                tool_call_id,
                content
            }
        )),
    ]
}

fn sampling() -> impl Strategy<Value = Sampling> {
    use proptest::option::of;
    (
        (
            of(0.0f32..2.0),
            of(0.0f32..1.0),
            of(0u32..5000),
            prop::collection::vec(line_text(), 0..2),
        ),
        (of(any::<i64>()), of(-2.0f32..2.0), of(-2.0f32..2.0)),
        (of(-1i32..100), of(0.0f32..1.0), of(0.5f32..2.0)),
    )
        .prop_map(
            |(
                (temperature, top_p, max_tokens, stop),
                (seed, presence_penalty, frequency_penalty),
                (top_k, min_p, repetition_penalty),
            )| Sampling {
                temperature,
                top_p,
                max_tokens,
                stop,
                seed,
                presence_penalty,
                frequency_penalty,
                top_k,
                min_p,
                repetition_penalty,
            },
        )
}

fn tool_choice() -> impl Strategy<Value = Option<ToolChoice>> {
    proptest::option::of(prop_oneof![
        Just(ToolChoice::Auto),
        Just(ToolChoice::None),
        Just(ToolChoice::Required),
        "[a-z_]{1,12}".prop_map(ToolChoice::Named),
    ])
}

fn structured_output() -> impl Strategy<Value = Option<StructuredOutput>> {
    proptest::option::of(prop_oneof![
        Just(StructuredOutput::JsonObject),
        ("[a-z]{1,8}", schema()).prop_map(|(name, schema_json)| StructuredOutput::JsonSchema(
            JsonSchemaFormat { name, schema_json }
        )),
        user_object().prop_map(StructuredOutput::Vllm),
    ])
}

fn request() -> impl Strategy<Value = ChatRequest> {
    (
        prop_oneof!["[a-z]{1,8}", "vllm/[a-z]{1,8}"],
        prop::collection::vec(message(), 1..6),
        prop::collection::vec(tool(), 0..3),
        tool_choice(),
        sampling(),
        proptest::option::of(user_object()),
        structured_output(),
    )
        .prop_map(
            |(model, messages, tools, tool_choice, sampling, kwargs, structured_output)| {
                ChatRequest {
                    model,
                    messages,
                    tools,
                    tool_choice,
                    sampling,
                    chat_template_kwargs_json: kwargs,
                    structured_output,
                    thinking: None,
                    priority: None,
                    session_id: None,
                }
            },
        )
}

fn known_models(request: &ChatRequest, window: u32) -> Vec<Model> {
    let id = request.model.trim_start_matches("vllm/").to_owned();
    vec![Model {
        name: id.clone(),
        id,
        reasoning: false,
        input: vec![InputKind::Text],
        cost: ModelCost {
            input: 0.0,
            output: 0.0,
            cache_read: 0.0,
            cache_write: 0.0,
        },
        context_window: window,
        max_tokens: window,
        root: None,
        parent: None,
        compat: vllm_provider::config::no_compat(),
        thinking: None,
    }]
}

/// What is wrong with a built body: forbidden fields at the top level,
/// `strict` on a tool, an empty `tools`, `tool_choice` without tools,
/// `max_tokens` instead of `max_completion_tokens`, `stream_options`
/// without `stream`.
fn problems(body: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = FORBIDDEN_FIELDS
        .iter()
        .filter(|field| body.contains_key(**field))
        .map(|field| format!("forbidden field {field}"))
        .collect();
    match body.get("tools") {
        Some(Value::Array(tools)) if tools.is_empty() => out.push("empty tools".into()),
        Some(Value::Array(tools)) => {
            for tool in tools {
                if tool.get("strict").is_some() || tool["function"].get("strict").is_some() {
                    out.push(format!("strict in {tool}"));
                }
            }
        }
        Some(other) => out.push(format!("tools is {other}")),
        None if body.contains_key("tool_choice") => out.push("tool_choice without tools".into()),
        None => {}
    }
    if body.contains_key("max_tokens") {
        out.push("max_tokens".into());
    }
    if body.contains_key("stream_options") && body.get("stream") != Some(&Value::Bool(true)) {
        out.push("stream_options without stream".into());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(REQUEST_CASES))]

    #[test]
    fn request_building_never_emits_a_forbidden_field(
        request in request(),
        stream in any::<bool>(),
        window in 256u32..200_000,
        prompt_tokens in proptest::option::of(0u32..300_000),
    ) {
        let models = known_models(&request, window);
        // A request may be refused (an invalid schema, say); one that is
        // built must be clean.
        if let Ok(built) = build(&request, &models, stream, prompt_tokens) {
            let problems = problems(&built.body);
            prop_assert!(problems.is_empty(), "{:?} in {}", problems, Value::Object(built.body.clone()));
            let max = built.body.get("max_completion_tokens").and_then(Value::as_u64);
            prop_assert!(max.is_some_and(|m| m >= 1 && m <= u64::from(window)), "max_completion_tokens {:?} for window {}", max, window);
        }
    }
}
