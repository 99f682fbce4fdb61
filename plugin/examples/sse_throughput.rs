//! A native timing check of the streaming hot path: vLLM-shaped SSE bytes
//! through the same `Client::start_stream` and `ActiveStream::next_events`
//! as the component, read in 64 KiB pieces as the component reads them,
//! reporting events per second.
//!
//! `cargo run --release -p vllm-provider --example sse_throughput [chunks] [shape...]`
//!
//! Shapes: `text` (`delta.content`), `reasoning` (`delta.reasoning`),
//! `tools` (`delta.tool_calls[].function.arguments` fragments), `think`
//! (`<think>` tags inside `delta.content`, no server-side parser); all four
//! when none is named.

use std::hint::black_box;
use std::time::Instant;
use vllm_provider::client::Client;
use vllm_provider::transport::replay::Replay;
use vllm_provider::wit::{ChatRequest, ProviderConfig, ProviderMode};

/// What one read of the component hands the decoder.
const READ_BYTES: usize = 64 * 1024;
const WORDS: [&str; 8] = [" How", " can", " I", " help", " you", " today", "?", "!"];
/// Argument fragments as vLLM streams them: JSON text, escaped inside the
/// chunk's JSON.
const FRAGMENTS: [&str; 8] = [
    r#"{\""#,
    "location",
    r#"\": \""#,
    " San",
    " Francisco",
    r#", CA\", \""#,
    "unit",
    r#"\": \"celsius\"}"#,
];
/// Fragments per tool call: a stream of many calls keeps each one far below
/// the arguments limit.
const FRAGMENTS_PER_CALL: usize = 1000;
const HEAD: &str = r#"data: {"id":"chatcmpl-9841528eaf6b104e","object":"chat.completion.chunk","created":1795619791,"model":"tiny-chat","choices":[{"index":0,"delta":{"#;
const TAIL: &str = r#"},"logprobs":null,"finish_reason":null,"token_ids":null}]}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    Reasoning,
    Tools,
    Think,
}

impl Shape {
    const ALL: [Shape; 4] = [Shape::Text, Shape::Reasoning, Shape::Tools, Shape::Think];

    fn name(self) -> &'static str {
        match self {
            Shape::Text => "text",
            Shape::Reasoning => "reasoning",
            Shape::Tools => "tools",
            Shape::Think => "think",
        }
    }

    /// The delta of chunk `i` (JSON members, without braces).
    fn delta(self, i: usize, chunks: usize) -> String {
        let word = WORDS[i % WORDS.len()];
        match self {
            Shape::Text => format!(r#""content":"{word}""#),
            Shape::Reasoning => format!(r#""reasoning":"{word}""#),
            Shape::Think if i == 0 => r#""content":"<think>""#.to_owned(),
            Shape::Think if i == chunks / 2 => r#""content":"</think>\n\n""#.to_owned(),
            Shape::Think => format!(r#""content":"{word}""#),
            Shape::Tools => {
                let call = i / FRAGMENTS_PER_CALL;
                let fragment = FRAGMENTS[i % FRAGMENTS.len()];
                let named = if i.is_multiple_of(FRAGMENTS_PER_CALL) {
                    format!(
                        r#""id":"chatcmpl-tool-{call:016x}","type":"function","function":{{"name":"get_weather","arguments":"{fragment}"}}"#
                    )
                } else {
                    format!(r#""function":{{"arguments":"{fragment}"}}"#)
                };
                format!(r#""content":null,"tool_calls":[{{"index":{call},{named}}}]"#)
            }
        }
    }
}

/// A whole vLLM 0.32 stream (as in tests/fixtures/vllm-0.32/*.sse) with
/// `chunks` deltas of `shape`.
fn stream_bytes(shape: Shape, chunks: usize) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(HEAD);
    out.push_str(r#""role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}"#);
    out.push_str("\n\n");
    for i in 0..chunks {
        out.push_str(HEAD);
        out.push_str(&shape.delta(i, chunks));
        out.push_str(TAIL);
        out.push_str("\n\n");
    }
    let finish = if shape == Shape::Tools {
        "tool_calls"
    } else {
        "stop"
    };
    out.push_str(HEAD);
    out.push_str(&format!(
        r#""content":""}},"logprobs":null,"finish_reason":"{finish}","stop_reason":null,"token_ids":null}}]}}"#
    ));
    out.push_str("\n\n");
    out.push_str(r#"data: {"id":"chatcmpl-9841528eaf6b104e","object":"chat.completion.chunk","created":1795619791,"model":"tiny-chat","choices":[],"usage":{"prompt_tokens":11,"total_tokens":21,"completion_tokens":10},"system_fingerprint":"vllm-0.32.0-e2c3e065"}"#);
    out.push_str("\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

/// A server that answers with `bytes`, in the pieces one read of the
/// component hands the decoder, each a fresh buffer as wasi-http gives.
fn replay(bytes: &[u8]) -> Replay {
    let pieces = bytes.chunks(READ_BYTES).map(<[u8]>::to_vec).collect();
    Replay::new(vec![(200, "text/event-stream", pieces)])
}

fn config() -> ProviderConfig {
    ProviderConfig {
        base_url: "http://127.0.0.1:8000/v1".to_owned(),
        api_key: None,
        headers: Vec::new(),
        timeout_ms: 120_000,
        mode: ProviderMode::Discover,
        reason: "a timing check".to_owned(),
        models: Vec::new(),
    }
}

fn request() -> ChatRequest {
    vllm_provider::request::user_text("tiny-chat", "hi")
}

fn run(bytes: &[u8]) -> usize {
    let transport = replay(bytes);
    let config = config();
    let client = Client::new(&transport, &config).expect("a valid config");
    let mut stream = client.start_stream(&request()).expect("a stream");
    let mut count = 0;
    while let Some(events) = stream.next_events().expect("a valid stream") {
        count += events.len();
        black_box(events);
    }
    count
}

fn main() {
    let mut chunks = 100_000;
    let mut shapes = Vec::new();
    for arg in std::env::args().skip(1) {
        if let Ok(n) = arg.parse() {
            chunks = n;
        } else if let Some(shape) = Shape::ALL.into_iter().find(|s| s.name() == arg) {
            shapes.push(shape);
        } else {
            eprintln!(
                "unknown argument {arg:?}: give a number of chunks and shapes (text, reasoning, tools, think)"
            );
            std::process::exit(2);
        }
    }
    if shapes.is_empty() {
        shapes = Shape::ALL.to_vec();
    }
    for shape in shapes {
        let bytes = stream_bytes(shape, chunks);
        let mut best = f64::INFINITY;
        let mut events = 0;
        for _ in 0..7 {
            let start = Instant::now();
            events = run(black_box(&bytes));
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "{:<9} {chunks} chunks, {} bytes, {events} events: best of 7 {:.1} ms, {:.0} events/s, {:.1} MB/s",
            shape.name(),
            bytes.len(),
            best * 1e3,
            events as f64 / best,
            bytes.len() as f64 / best / 1e6
        );
    }
}
