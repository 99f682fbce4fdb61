//! Unit tests of the client: requests, streams (`stream`) and retries
//! (`retries`), over the replaying transport.

mod retries;
mod stream;

use super::*;
use crate::fixtures::text_of as text;

fn tiny() -> Model {
    crate::fixtures::model("tiny", 2048, 2048)
}

fn chat(model: &str) -> ChatRequest {
    crate::fixtures::chat(model, "hello there")
}
use crate::deadline::Millis;
use crate::transport::ResponseBody;
use crate::transport::replay::{CLOCK_START, Replay, Timed};
use crate::wit::{FinishReason, KeyValue, StreamEvent};
use serde_json::json;

fn config(models: Vec<Model>, key: Option<&str>) -> ProviderConfig {
    ProviderConfig {
        base_url: "http://127.0.0.1:8000/v1".into(),
        api_key: key.map(str::to_owned),
        headers: vec![KeyValue {
            name: "X-Team".into(),
            value: "a".into(),
        }],
        timeout_ms: 1000,
        mode: ProviderMode::Discover,
        reason: String::new(),
        models,
    }
}

fn ok_body() -> Vec<u8> {
    json!({"model": "tiny", "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]})
        .to_string()
        .into_bytes()
}

#[test]
fn discovery_sends_bearer_only_when_a_key_is_set() {
    let list = br#"{"object":"list","data":[{"id":"tiny","max_model_len":2048}]}"#.to_vec();
    let replay = Replay::new(vec![(200, "application/json", vec![list.clone()])]);
    let cfg = config(Vec::new(), Some("sk-1"));
    let models = Client::new(&replay, &cfg)
        .expect("client")
        .discover()
        .expect("models")
        .models;
    assert_eq!(models[0].context_window, 2048);
    let seen = replay.seen.borrow();
    assert_eq!(seen[0].url, "http://127.0.0.1:8000/v1/models");
    assert!(
        seen[0]
            .headers
            .contains(&("Authorization".into(), "Bearer sk-1".into()))
    );
    assert!(seen[0].headers.contains(&("X-Team".into(), "a".into())));

    let replay = Replay::new(vec![(200, "application/json", vec![list])]);
    let cfg = config(Vec::new(), None);
    Client::new(&replay, &cfg)
        .expect("client")
        .discover()
        .expect("models");
    assert!(
        !replay.seen.borrow()[0]
            .headers
            .iter()
            .any(|(n, _)| n == "Authorization")
    );
}

#[test]
fn context_overflow_from_our_budget_is_retried_once_with_the_servers_count() {
    let overflow = json!({"error": {"message": "This model's maximum context length is 2048 tokens. However, you requested 2548 tokens (600 in the messages, 1948 in the completion). Please reduce the length of the messages or completion.", "type": "BadRequestError", "param": null, "code": 400}});
    let replay = Replay::new(vec![
        (
            400,
            "application/json",
            vec![overflow.to_string().into_bytes()],
        ),
        (200, "application/json", vec![ok_body()]),
    ]);
    let cfg = config(vec![tiny()], None);
    let completion = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("vllm/tiny"))
        .expect("retried");
    assert_eq!(completion.text, "hi");
    let seen = replay.seen.borrow();
    assert_eq!(seen.len(), 2);
    let second: serde_json::Value = serde_json::from_slice(&seen[1].body).expect("json");
    assert_eq!(second["max_completion_tokens"], 1448);
}

#[test]
fn a_prompt_over_the_window_is_not_retried() {
    let overflow = json!({"error": {"message": "This model's maximum context length is 2048 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.", "type": "BadRequestError", "code": 400}});
    let replay = Replay::new(vec![(
        400,
        "application/json",
        vec![overflow.to_string().into_bytes()],
    )]);
    let cfg = config(vec![tiny()], None);
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect_err("too long");
    assert!(
        matches!(error, ProviderError::ContextLengthExceeded(e) if e.limit == Some(2048) && e.requested == Some(5000))
    );
    assert_eq!(replay.seen.borrow().len(), 1);
}

#[test]
fn unknown_model_lists_what_the_server_has() {
    let missing = br#"{"error":{"message":"The model `nope` does not exist.","type":"NotFoundError","param":"model","code":404}}"#.to_vec();
    let list = br#"{"object":"list","data":[{"id":"tiny","max_model_len":2048}]}"#.to_vec();
    let replay = Replay::new(vec![
        (404, "application/json", vec![missing]),
        (200, "application/json", vec![list]),
    ]);
    let cfg = config(Vec::new(), None);
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("nope"))
        .expect_err("missing");
    match error {
        ProviderError::ModelNotFound(e) => {
            assert_eq!(e.model, "nope");
            assert_eq!(e.available, vec!["tiny".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_key_echoed_by_a_server_is_redacted() {
    let replay = Replay::new(vec![(
        400,
        "application/json",
        vec![br#"{"error":{"message":"bad key sk-secret","code":400}}"#.to_vec()],
    )]);
    let cfg = config(Vec::new(), Some("sk-secret"));
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect_err("bad");
    assert!(!format!("{error:?}").contains("sk-secret"));
}

#[test]
fn disabled_config_is_refused() {
    let mut cfg = config(Vec::new(), None);
    cfg.mode = ProviderMode::Disabled;
    cfg.reason = "VLLM_API_KEY is not set".into();
    let replay = Replay::default();
    assert!(matches!(
        Client::new(&replay, &cfg),
        Err(ProviderError::InvalidConfig(_))
    ));
}

/// SSE bytes of these chunks, ending in `[DONE]` when `done`.
fn sse(chunks: &[serde_json::Value], done: bool) -> Vec<u8> {
    let mut text: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    if done {
        text.push_str("data: [DONE]\n\n");
    }
    text.into_bytes()
}

fn delta(content: &str, finish: Option<&str>) -> serde_json::Value {
    json!({"model": "tiny", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
}

/// Reads until an error, bounded; returns the events and the error.
fn read_to_error<B: ResponseBody>(
    stream: &mut ActiveStream<B>,
) -> (Vec<StreamEvent>, ProviderError) {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        match stream.next_events() {
            Ok(Some(batch)) => events.extend(batch),
            Ok(None) => panic!("the stream ended; events: {events:?}"),
            Err(error) => return (events, error),
        }
    }
    panic!("no error after 10000 batches");
}
