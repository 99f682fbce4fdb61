//! Helpers for tests that read streams and script SSE bytes.

use std::future::Future;
use std::time::Duration;

use vllm_harness::{CallError, ChatRequest, Harness, ProviderConfig, StreamEvent};

/// Batches read from one stream before a test calls it endless.
pub const MAX_BATCHES: usize = 10_000;

/// Awaits `future`, failing the test when it takes longer than `limit`: a
/// hang is a failure, not a stuck run.
pub async fn bounded<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// The visible text a stream's events add up to.
pub fn streamed_text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// `data: <event>\n\n` for each event, and `data: [DONE]\n\n` when `done`.
pub fn sse_bytes(events: &[String], done: bool) -> Vec<u8> {
    let mut bytes: Vec<u8> = events
        .iter()
        .flat_map(|e| format!("data: {e}\n\n").into_bytes())
        .collect();
    if done {
        bytes.extend_from_slice(b"data: [DONE]\n\n");
    }
    bytes
}

/// Streams `request` to its end: every event, and the error that ended the
/// stream if one did (at its start or midway). Bounded in batches; the
/// caller bounds the time.
pub async fn read_stream(
    h: &Harness,
    config: &ProviderConfig,
    request: ChatRequest,
) -> (Vec<StreamEvent>, Option<CallError>) {
    let mut stream = match h.stream(config, request).await {
        Ok(stream) => stream,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let mut events = Vec::new();
    for _ in 0..MAX_BATCHES {
        match stream.next().await {
            Ok(Some(batch)) => events.extend(batch),
            Ok(None) => return (events, None),
            Err(error) => return (events, Some(error)),
        }
    }
    panic!("the stream did not end within {MAX_BATCHES} batches");
}
