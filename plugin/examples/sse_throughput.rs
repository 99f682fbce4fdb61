//! A native timing check of the streaming hot path: vLLM-shaped SSE bytes
//! through `SseDecoder` and `StreamAssembler`, in 64 KiB reads as the
//! component makes them, reporting events per second.
//!
//! `cargo run --release -p vllm-provider --example sse_throughput [chunks]`

use std::hint::black_box;
use std::time::Instant;
use vllm_provider::error::RequestContext;
use vllm_provider::sse::{SseDecoder, SseItem};
use vllm_provider::stream::StreamAssembler;
use vllm_provider::usage::ZERO_COST;

/// What one read of the component hands the decoder.
const READ_BYTES: usize = 64 * 1024;
const WORDS: [&str; 8] = [" How", " can", " I", " help", " you", " today", "?", "!"];

/// A whole vLLM 0.32 stream (as in tests/fixtures/vllm-0.32/chat-stream-usage.sse)
/// with `chunks` content deltas.
fn stream_bytes(chunks: usize) -> Vec<u8> {
    const HEAD: &str = r#"data: {"id":"chatcmpl-9841528eaf6b104e","object":"chat.completion.chunk","created":1795619791,"model":"tiny-chat","choices":[{"index":0,"delta":{"#;
    let mut out = String::new();
    out.push_str(HEAD);
    out.push_str(r#""role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}"#);
    out.push_str("\n\n");
    for i in 0..chunks {
        out.push_str(HEAD);
        out.push_str(r#""content":""#);
        out.push_str(WORDS[i % WORDS.len()]);
        out.push_str(r#""},"logprobs":null,"finish_reason":null,"token_ids":null}]}"#);
        out.push_str("\n\n");
    }
    out.push_str(HEAD);
    out.push_str(r#""content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null,"token_ids":null}]}"#);
    out.push_str("\n\n");
    out.push_str(r#"data: {"id":"chatcmpl-9841528eaf6b104e","object":"chat.completion.chunk","created":1795619791,"model":"tiny-chat","choices":[],"usage":{"prompt_tokens":11,"total_tokens":21,"completion_tokens":10},"system_fingerprint":"vllm-0.32.0-e2c3e065"}"#);
    out.push_str("\n\ndata: [DONE]\n\n");
    out.into_bytes()
}

/// Decodes and assembles the whole stream; the number of events.
fn run(bytes: &[u8]) -> usize {
    let ctx = RequestContext {
        authority: "127.0.0.1:8000",
        url: "http://127.0.0.1:8000/v1/chat/completions",
        model: Some("tiny-chat"),
        key_sent: false,
    };
    let mut decoder = SseDecoder::new();
    let mut assembler = StreamAssembler::new(ZERO_COST);
    let mut items = Vec::new();
    let mut count = 0;
    for read in bytes.chunks(READ_BYTES) {
        decoder.feed(read, &mut items).expect("valid SSE");
        // One batch of events per read, as `ActiveStream::next_events` returns.
        let mut events = Vec::new();
        for item in items.drain(..) {
            match item {
                SseItem::Data(payload) => assembler
                    .on_data(&payload, &ctx, &mut events)
                    .expect("valid chunk"),
                SseItem::Done => assembler.on_done(&mut events).expect("done"),
            }
        }
        count += events.len();
        black_box(events);
    }
    decoder.finish(&mut items).expect("valid SSE");
    assert!(items.is_empty() && assembler.is_finished());
    count
}

fn main() {
    let chunks: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let bytes = stream_bytes(chunks);
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..7 {
        let start = Instant::now();
        events = run(black_box(&bytes));
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{chunks} chunks, {} bytes, {events} events: best of 7 {:.1} ms, {:.0} events/s, {:.1} MB/s",
        bytes.len(),
        best * 1e3,
        events as f64 / best,
        bytes.len() as f64 / best / 1e6
    );
}
