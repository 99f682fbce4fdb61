//! The real plugin, through the harness, reading every answer recorded from
//! a real vLLM server (`tests/fixtures/vllm-*/`), byte for byte: each chat
//! reply must come out with the text, reasoning, tool calls, finish reason
//! and usage the recording holds, and each error as the right typed error.

use std::path::Path;

use serde_json::Value;
use vllm_harness::{
    CallError, ChatRequest, FinishReason, Harness, ProviderConfig, ProviderError, StreamEvent,
};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply};
use vllm_tests::recordings::{Recording, body, fixtures_dirs, read_index};

use crate::common::plugin;

const CHAT: &str = "/v1/chat/completions";
/// Batches read from one stream before the test gives up.
const MAX_BATCHES: usize = 10_000;

/// What a reply carried, however it arrived.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    text: String,
    reasoning: String,
    /// `(name, arguments)` of each call, in order.
    tool_calls: Vec<(String, String)>,
    finish: String,
    usage: Option<(u32, u32)>,
}

fn finish_name(reason: &FinishReason) -> String {
    match reason {
        FinishReason::Stop => "stop".into(),
        FinishReason::Length => "length".into(),
        FinishReason::ToolCalls => "tool_calls".into(),
        FinishReason::Abort => "abort".into(),
        FinishReason::Other(other) => other.clone(),
    }
}

/// The text and reasoning a `<think>` block in `content` splits into, as
/// the plugin splits it when the server has no reasoning parser.
fn split_think(content: &str) -> (String, String) {
    match (content.find("<think>"), content.find("</think>")) {
        (Some(start), Some(end)) if start < end => {
            let reasoning = &content[start + "<think>".len()..end];
            let text = format!(
                "{}{}",
                &content[..start],
                &content[end + "</think>".len()..]
            );
            (text, reasoning.to_owned())
        }
        _ => (content.to_owned(), String::new()),
    }
}

/// What the recording says the reply is.
fn expected(recorded: &[u8], stream: bool) -> Outcome {
    let mut out = Outcome::default();
    let mut content = String::new();
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut take = |choice: &Value, usage: &Value, out: &mut Outcome| {
        let part = if stream {
            &choice["delta"]
        } else {
            &choice["message"]
        };
        if let Some(text) = part["content"].as_str() {
            content.push_str(text);
        }
        if let Some(text) = part["reasoning"].as_str() {
            out.reasoning.push_str(text);
        }
        for call in part["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"]
                .as_u64()
                .map_or(calls.len(), |i| usize::try_from(i).unwrap_or(usize::MAX));
            if index >= calls.len() {
                calls.resize(index + 1, (String::new(), String::new()));
            }
            if let Some(name) = call["function"]["name"].as_str() {
                calls[index].0 = name.to_owned();
            }
            if let Some(args) = call["function"]["arguments"].as_str() {
                calls[index].1.push_str(args);
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            out.finish = reason.to_owned();
        }
        if let (Some(input), Some(output)) = (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64(),
        ) {
            out.usage = Some((
                u32::try_from(input).unwrap_or(u32::MAX),
                u32::try_from(output).unwrap_or(u32::MAX),
            ));
        }
    };
    let text = String::from_utf8_lossy(recorded);
    let bodies: Vec<Value> = if stream {
        text.lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter(|data| *data != "[DONE]")
            .map(|data| serde_json::from_str(data).expect("recorded event is JSON"))
            .collect()
    } else {
        vec![serde_json::from_str(&text).expect("recorded body is JSON")]
    };
    for body in &bodies {
        for choice in body["choices"].as_array().into_iter().flatten() {
            take(choice, &body["usage"], &mut out);
        }
        if body["choices"].as_array().is_some_and(Vec::is_empty) {
            take(&Value::Null, &body["usage"], &mut out);
        }
    }
    let (text, think) = split_think(&content);
    out.text = text;
    out.reasoning.push_str(&think);
    out.tool_calls = calls;
    out
}

async fn config(h: &Harness, server: &MockVllm) -> ProviderConfig {
    let mut config = h
        .resolve_config(vllm_harness::ConfigInput {
            provider_json: None,
            env: Vec::new(),
            auth_profile_key: None,
            base_url_override: Some(server.base_url()),
        })
        .await
        .expect("resolve-config");
    config.models = h.discover_models(&config).await.expect("discover-models");
    config
}

/// What the plugin made of a recorded reply.
async fn through_the_plugin(h: &Harness, reply: Reply, stream: bool) -> Result<Outcome, CallError> {
    let server =
        MockVllm::start(MockOptions::with_models(vec![MockModel::base("tiny-chat")])).await;
    let config = config(h, &server).await;
    server.push_reply(reply);
    let request = ChatRequest::user_text("vllm/tiny-chat", "Hello!");
    let mut out = Outcome::default();
    if stream {
        let mut stream = h.stream(&config, request).await?;
        let mut finished = false;
        for _ in 0..MAX_BATCHES {
            let Some(events) = stream.next().await? else {
                finished = true;
                break;
            };
            for event in events {
                match event {
                    StreamEvent::TextDelta(text) => out.text.push_str(&text),
                    StreamEvent::ReasoningDelta(text) => out.reasoning.push_str(&text),
                    StreamEvent::ToolCallEnd(call) => {
                        out.tool_calls.push((call.name, call.arguments))
                    }
                    StreamEvent::Finish(reason) => out.finish = finish_name(&reason),
                    StreamEvent::Usage(usage) => out.usage = Some((usage.input, usage.output)),
                    StreamEvent::Model(_)
                    | StreamEvent::ToolCallStart(_)
                    | StreamEvent::ToolCallDelta(_) => {}
                }
            }
        }
        assert!(
            finished,
            "the stream did not end within {MAX_BATCHES} batches"
        );
    } else {
        let done = h.complete(&config, request).await?;
        out.text = done.text;
        out.reasoning = done.reasoning;
        out.tool_calls = done
            .tool_calls
            .into_iter()
            .map(|c| (c.name, c.arguments))
            .collect();
        out.finish = finish_name(&done.finish_reason);
        out.usage = done.usage.map(|u| (u.input, u.output));
    }
    // Exactly one chat request: a recorded answer is never retried.
    assert_eq!(server.chat_requests().len(), 1);
    Ok(out)
}

fn raw(recording: &Recording, bytes: Vec<u8>) -> Reply {
    if recording.content_type.starts_with("text/event-stream") {
        Reply::SseRaw { bytes, split: None }
    } else {
        Reply::Raw {
            status: recording.status,
            content_type: Some(recording.content_type.clone()),
            body: bytes,
        }
    }
}

/// The kind of error each recorded failure must become.
fn expected_error(file: &str) -> &'static str {
    match file {
        f if f.starts_with("error-401") => "auth",
        "error-unknown-model.json" => "model-not-found",
        f if f.starts_with("error-context-too-long") || f == "error-max-tokens-too-large.json" => {
            "context-length-exceeded"
        }
        _ => "bad-request",
    }
}

fn chat_recordings() -> Vec<(std::path::PathBuf, Recording)> {
    let mut all = Vec::new();
    for dir in fixtures_dirs() {
        for recording in read_index(&dir) {
            if recording.method == "POST" && recording.path == CHAT {
                all.push((dir.clone(), recording));
            }
        }
    }
    all
}

fn context(dir: &Path, recording: &Recording) -> String {
    format!("{}/{}", dir.display(), recording.file)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_reply_comes_out_as_the_server_sent_it() {
    let h = plugin().await;
    let mut checked = 0;
    for (dir, recording) in chat_recordings()
        .into_iter()
        .filter(|(_, r)| r.status == 200)
    {
        let bytes = body(&dir, &recording);
        let stream = recording.content_type.starts_with("text/event-stream");
        let want = expected(&bytes, stream);
        let got = through_the_plugin(&h, raw(&recording, bytes), stream)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", context(&dir, &recording)));
        assert_eq!(got, want, "{}", context(&dir, &recording));
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} recorded replies");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_error_becomes_its_typed_error() {
    let h = plugin().await;
    let mut checked = 0;
    for (dir, recording) in chat_recordings()
        .into_iter()
        .filter(|(_, r)| r.status >= 400)
    {
        let bytes = body(&dir, &recording);
        // vLLM answers a failed streaming request with a JSON error too.
        let reply = Reply::Raw {
            status: recording.status,
            content_type: Some(recording.content_type.clone()),
            body: bytes,
        };
        let stream = recording.file.ends_with(".sse");
        let result = through_the_plugin(&h, reply, stream).await;
        let error = match result {
            Err(CallError::Provider(error)) => error,
            other => panic!(
                "{}: expected an error, got {other:?}",
                context(&dir, &recording)
            ),
        };
        assert_eq!(
            error.kind(),
            expected_error(&recording.file),
            "{}: {}",
            context(&dir, &recording),
            error.user_message()
        );
        if let ProviderError::ContextLengthExceeded(e) = &error {
            assert_eq!(e.limit, Some(2048), "{}", context(&dir, &recording));
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} recorded errors");
}
