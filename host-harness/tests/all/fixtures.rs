//! The mock server against the real one: every request recorded from vLLM
//! by `tests/vllm/record-fixtures` (in `tests/fixtures/vllm-*/index.tsv`)
//! is sent to a mock started with the same flags, and the mock's answer
//! must have the recorded status, content type and shape: the same keys at
//! every level, the same JSON types (a `null` on either side matches any
//! type: it is a value, not a shape), error types, codes and messages with
//! the numbers taken out, and for streams the same kinds of events. So the
//! fast tier cannot drift from the real server without this test failing.
//!
//! A recording the mock does not serve must be listed in [`NOT_MOCKED`]
//! with the reason; a new recording that is neither compared nor listed
//! fails the test.

use std::path::Path;

use serde_json::Value;
use vllm_tests::http_client::{self, HttpResponse};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm};
use vllm_tests::recordings::{Recording, body, fixtures_dirs, read_index, request_body};

/// The model the local vLLM servers serve.
const MODEL: &str = "tiny-chat";
/// The key of the recorded `--api-key` server.
const RECORDED_KEY: &str = "k-test";

/// Recordings of routes the provider never uses, which the mock therefore
/// does not implement.
const NOT_MOCKED: [(&str, &str); 4] = [
    (
        "completion.json",
        "POST /v1/completions: the provider uses chat only",
    ),
    (
        "completion-stream.sse",
        "POST /v1/completions: the provider uses chat only",
    ),
    (
        "metrics-key-server-no-key.txt",
        "GET /metrics (Prometheus text): recorded for the auth facts only",
    ),
    (
        "chat-logprobs.json",
        "logprobs: the provider never asks for them",
    ),
];

fn options_for(server: &str) -> MockOptions {
    let base = MockOptions::with_models(vec![MockModel::base(MODEL)]);
    match server {
        "plain" => base,
        "key" => MockOptions {
            api_key: Some(RECORDED_KEY.to_owned()),
            ..base
        },
        "tools" => MockOptions {
            auto_tool_choice: true,
            reasoning_parser: true,
            ..base
        },
        other => panic!("unknown server kind {other:?} in index.tsv"),
    }
}

async fn replay(server: &MockVllm, recording: &Recording, body: &[u8]) -> HttpResponse {
    let auth = recording
        .bearer
        .as_ref()
        .map(|token| format!("Bearer {token}"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    http_client::request(
        server.addr(),
        &recording.method,
        &recording.path,
        &headers,
        body,
    )
    .await
    .unwrap_or_else(|e| panic!("{}: the mock did not answer: {e}", recording.file))
}

/// Where two JSON values differ in shape, as `path: what` lines.
fn shape_diffs(path: &str, real: &Value, mock: &Value, out: &mut Vec<String>) {
    match (real, mock) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(r), Value::Object(m)) => {
            for key in r.keys().filter(|k| !m.contains_key(*k)) {
                out.push(format!("{path}.{key}: missing in the mock"));
            }
            for key in m.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}.{key}: not in vLLM's answer"));
            }
            for (key, value) in r {
                if let Some(other) = m.get(key) {
                    shape_diffs(&format!("{path}.{key}"), value, other, out);
                }
            }
        }
        (Value::Array(r), Value::Array(m)) => {
            // Lengths are values (how many tokens, calls, models); each
            // element of the mock's must look like vLLM's.
            if let Some(last) = r.last() {
                for (i, value) in m.iter().enumerate() {
                    let recorded = r.get(i).unwrap_or(last);
                    shape_diffs(&format!("{path}[{i}]"), recorded, value, out);
                }
            }
        }
        (r, m) if type_name(r) != type_name(m) => {
            out.push(format!(
                "{path}: vLLM has a {}, the mock a {}",
                type_name(r),
                type_name(m)
            ));
        }
        _ => {}
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Digits replaced by `N`: error messages compare without their token counts.
fn without_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// The error parts a client reads: type, code, param and the message.
fn error_diffs(real: &Value, mock: &Value, out: &mut Vec<String>) {
    let (Some(r), Some(m)) = (real.get("error"), mock.get("error")) else {
        return;
    };
    if let (Value::String(r), Value::String(m)) = (r, m) {
        if r != m {
            out.push(format!("error: vLLM says {r:?}, the mock {m:?}"));
        }
        return;
    }
    for field in ["type", "code", "param"] {
        if r.get(field) != m.get(field) {
            out.push(format!(
                "error.{field}: vLLM has {}, the mock {}",
                r.get(field).unwrap_or(&Value::Null),
                m.get(field).unwrap_or(&Value::Null)
            ));
        }
    }
    let message =
        |v: &Value| without_numbers(v.get("message").and_then(Value::as_str).unwrap_or(""));
    if message(r) != message(m) {
        out.push(format!(
            "error.message: vLLM says {:?}, the mock {:?}",
            message(r),
            message(m)
        ));
    }
}

/// The `data:` payloads of an SSE body.
fn sse_events(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// Streams: the first event alike, `[DONE]` at the end of both or neither,
/// and every event of each side shaped like some event of the other.
fn stream_diffs(real: &str, mock: &str, out: &mut Vec<String>) {
    let (r, m) = (sse_events(real), sse_events(mock));
    let done = |events: &[String]| events.last().is_some_and(|e| e == "[DONE]");
    if done(&r) != done(&m) {
        out.push(format!(
            "[DONE]: vLLM ends with it: {}, the mock: {}",
            done(&r),
            done(&m)
        ));
    }
    let json = |events: &[String]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| *e != "[DONE]")
            .map(|e| serde_json::from_str(e).unwrap_or(Value::String(e.clone())))
            .collect()
    };
    let (r, m) = (json(&r), json(&m));
    if let (Some(first_r), Some(first_m)) = (r.first(), m.first()) {
        shape_diffs("first event", first_r, first_m, out);
    } else if r.is_empty() != m.is_empty() {
        out.push(format!(
            "events: vLLM sent {}, the mock {}",
            r.len(),
            m.len()
        ));
    }
    let alike = |a: &Value, b: &Value| {
        let mut diffs = Vec::new();
        shape_diffs("", a, b, &mut diffs);
        diffs.is_empty()
    };
    for (i, event) in m.iter().enumerate() {
        if !r.iter().any(|recorded| alike(recorded, event)) {
            out.push(format!(
                "mock event {i} is like no event of vLLM's: {event}"
            ));
        }
    }
    for (i, event) in r.iter().enumerate() {
        if !m.iter().any(|mocked| alike(event, mocked)) {
            out.push(format!(
                "vLLM event {i} has no counterpart in the mock: {event}"
            ));
        }
    }
}

async fn compare(dir: &Path, recording: &Recording) -> Vec<String> {
    let server = MockVllm::start(options_for(&recording.server)).await;
    let sent = request_body(dir, &recording.file);
    let answer = replay(&server, recording, &sent).await;
    let recorded = body(dir, recording);
    let recorded = String::from_utf8_lossy(&recorded);
    let mut diffs = Vec::new();
    if answer.status != recording.status {
        diffs.push(format!(
            "status: vLLM {}, the mock {}",
            recording.status, answer.status
        ));
    }
    let mock_type = answer.header("content-type").unwrap_or_default();
    if mock_type != recording.content_type {
        diffs.push(format!(
            "content type: vLLM {:?}, the mock {mock_type:?}",
            recording.content_type
        ));
    }
    let mock_text = answer.text();
    if recording.file.ends_with(".sse") && recording.content_type.starts_with("text/event-stream") {
        stream_diffs(&recorded, &mock_text, &mut diffs);
    } else if recording.content_type.starts_with("application/json")
        || recording.file.ends_with(".json")
        || recording.file.ends_with(".sse")
    {
        match (
            serde_json::from_str::<Value>(&recorded),
            serde_json::from_str::<Value>(&mock_text),
        ) {
            (Ok(real), Ok(mock)) => {
                shape_diffs("body", &real, &mock, &mut diffs);
                error_diffs(&real, &mock, &mut diffs);
            }
            (Ok(_), Err(e)) => {
                diffs.push(format!("body: the mock's is not JSON ({e}): {mock_text}"))
            }
            (Err(e), _) => diffs.push(format!("body: the recording is not JSON ({e})")),
        }
    } else if recorded.trim().is_empty() != mock_text.trim().is_empty() {
        diffs.push(format!(
            "body: vLLM's is {:?}, the mock's {mock_text:?}",
            recorded.trim()
        ));
    }
    diffs
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mock_answers_every_recorded_request_as_vllm_did() {
    let mut compared = 0;
    let mut problems = Vec::new();
    for dir in fixtures_dirs() {
        let recordings = read_index(&dir);
        assert!(
            recordings.len() > 40,
            "{}: too few recordings",
            dir.display()
        );
        for recording in &recordings {
            if NOT_MOCKED.iter().any(|(file, _)| *file == recording.file) {
                continue;
            }
            compared += 1;
            for diff in compare(&dir, recording).await {
                problems.push(format!("{}/{}: {diff}", dir.display(), recording.file));
            }
        }
        for (file, why) in NOT_MOCKED {
            assert!(
                recordings.iter().any(|r| r.file == file),
                "NOT_MOCKED lists {file} ({why}), which is not recorded in {}",
                dir.display()
            );
        }
    }
    assert!(
        problems.is_empty(),
        "the mock differs from vLLM in {} ways ({compared} recordings compared):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_shape_comparison_finds_what_it_is_meant_to() {
    let real: Value = serde_json::json!({"a": 1, "b": {"c": "x", "d": null}, "e": [{"f": true}]});
    let mut diffs = Vec::new();
    shape_diffs("body", &real, &real.clone(), &mut diffs);
    assert!(diffs.is_empty(), "{diffs:?}");

    let mock: Value =
        serde_json::json!({"a": "1", "b": {"c": "x", "d": 5, "z": 0}, "e": [{"f": true}, {}]});
    shape_diffs("body", &real, &mock, &mut diffs);
    assert_eq!(
        diffs,
        [
            "body.a: vLLM has a number, the mock a string",
            "body.b.z: not in vLLM's answer",
            "body.e[1].f: missing in the mock",
        ]
    );
    assert_eq!(
        without_numbers("is 2048 tokens, 2049 input"),
        "is N tokens, N input"
    );

    let mut diffs = Vec::new();
    stream_diffs(
        "data: {\"a\":1}\n\ndata: {\"b\":1}\n\ndata: [DONE]\n\n",
        "data: {\"a\":2}\n\ndata: {\"a\":3}\n\n",
        &mut diffs,
    );
    assert_eq!(diffs.len(), 2, "{diffs:?}");
}
