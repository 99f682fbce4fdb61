//! Response mapping on any bytes: a whole completion body, and the same
//! bytes as a stream of SSE events through the stream assembler, both with
//! tools offered (so that calls written as text are looked for), and the
//! bytes as reply text cut into pieces for that recovery. Never a panic;
//! either a value or a typed error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vllm_provider::error::RequestContext;
use vllm_provider::response::parse_completion;
use vllm_provider::sse::{SseDecoder, SseItem};
use vllm_provider::stream::StreamAssembler;
use vllm_provider::unparsed_calls::{Offered, Streaming, recover};
use vllm_provider::usage::ZERO_COST;

fuzz_target!(|data: &[u8]| {
    let ctx = RequestContext {
        authority: "127.0.0.1:8000",
        url: "http://127.0.0.1:8000/v1/chat/completions",
        model: Some("m"),
        key_sent: false,
    };
    let offered = Offered::named(&["get_weather", "f"]);
    let _ = parse_completion(data, &ZERO_COST, &offered, &ctx);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = recover(text, &offered);
        let mut filter = Streaming::new(offered.clone());
        let (mut out, mut calls) = (String::new(), Vec::new());
        let mut rest = text;
        while !rest.is_empty() {
            let mut cut = (rest.len() / 3).max(1);
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            filter.push(&rest[..cut], &mut out, &mut calls);
            rest = &rest[cut..];
        }
        filter.finish(&mut out, &mut calls);
    }

    let mut decoder = SseDecoder::new();
    let mut items = Vec::new();
    if decoder.feed(data, &mut items).is_err() || decoder.finish(&mut items).is_err() {
        return;
    }
    let mut assembler = StreamAssembler::new(ZERO_COST).offering(offered);
    let mut events = Vec::new();
    for item in items {
        let step = match item {
            SseItem::Data(payload) => assembler.on_data(&payload, &ctx, &mut events),
            SseItem::Done => assembler.on_done(&mut events),
        };
        if step.is_err() {
            return;
        }
    }
});
