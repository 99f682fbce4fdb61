//! Replies servers and proxies really send that once got the wrong words or
//! the wrong exit code: redirects, replies that break off, compressed or
//! BOM-prefixed bodies, empty `data:` lines, heads too large, a stream
//! whose `[DONE]` never comes.

use std::time::Duration;

use serde_json::json;
use vllm_tests::canned::{CannedServer, json as json_reply, response};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply};

use crate::common::cli_run::Cli;

const MODELS: &str =
    r#"{"object":"list","data":[{"id":"m","object":"model","max_model_len":2048}]}"#;

fn chunk(content: Option<&str>, finish: Option<&str>) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": content.map_or(json!({}), |c| json!({"content": c})),
                        "finish_reason": finish}]})
    .to_string()
}

fn usage_chunk() -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
           "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
    .to_string()
}

/// A server with the model list and `chat` as the raw bytes of the chat reply.
fn serving(chat: Vec<u8>) -> CannedServer {
    CannedServer::start(
        vec![
            ("/v1/models", json_reply(MODELS)),
            ("/v1/chat/completions", chat),
        ],
        response("404 Not Found", &[], b""),
    )
}

fn sse_head(extra: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n{extra}\r\n").into_bytes()
}

fn chat(server: &CannedServer, extra: &[&str]) -> crate::common::cli_run::Run {
    let base = server.base_url();
    let mut args = vec!["--base-url", base.as_str(), "chat", "--model", "m"];
    args.extend(extra);
    args.push("hi");
    Cli::new().run(&args)
}

#[test]
fn a_redirect_names_its_target_and_is_not_followed() {
    let redirect = response(
        "302 Found",
        &[("location", "https://gpu-7.example:8443/v1/models")],
        b"",
    );
    let server = CannedServer::start(Vec::new(), redirect);
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list"]);
    run.code(1)
        .says("answered with a redirect (HTTP 302) to https://gpu-7.example:8443/v1/models")
        .says("redirects are not followed")
        .says("set baseUrl to https://gpu-7.example:8443/v1");
    assert!(!run.stderr.contains("empty body"), "{}", run.stderr);
    let doctor = Cli::new().run(&["--base-url", &server.base_url(), "doctor"]);
    assert!(doctor.stdout.contains("redirect"), "{}", doctor.stdout);
    assert!(!doctor.stdout.contains("server's log"), "{}", doctor.stdout);
}

#[test]
fn a_reply_that_breaks_off_is_not_a_connection_failure() {
    let partial = format!("data: {}\n\n", chunk(Some("partial"), None));
    // The head promises more than arrives, then the connection closes.
    let mut cut = sse_head(&format!("content-length: {}\r\n", partial.len() + 500));
    cut.extend_from_slice(partial.as_bytes());
    // Chunked framing that breaks after the first chunk.
    let mut broken = sse_head("transfer-encoding: chunked\r\n");
    broken.extend_from_slice(format!("{:x}\r\n{partial}\r\nzz\r\nxx", partial.len()).as_bytes());
    for body in [cut, broken] {
        let server = serving(body);
        let run = chat(&server, &[]);
        run.code(1).says("broke off mid-reply").says("\"partial\"");
        assert!(!run.stderr.contains("vLLM is running"), "{}", run.stderr);
        // What arrived is on its own line, the error apart from it.
        assert_eq!(run.stdout, "partial\n");
    }
}

#[test]
fn json_keeps_what_arrived_before_a_failure_and_says_what_ended_it() {
    let partial = format!("data: {}\n\n", chunk(Some("partial"), None));
    let mut cut = sse_head(&format!("content-length: {}\r\n", partial.len() + 500));
    cut.extend_from_slice(partial.as_bytes());
    let server = serving(cut);
    let run = chat(&server, &["--json"]);
    run.code(1);
    let json = run.json();
    assert_eq!(json["text"], "partial");
    assert_eq!(json["finishReason"], serde_json::Value::Null);
    assert_eq!(json["error"]["kind"], "invalid-response");
    assert_eq!(json["error"]["exitCode"], 1);
    let message = json["error"]["message"].as_str().expect("message");
    assert!(message.contains("broke off mid-reply"), "{message}");
    assert!(
        run.stderr.contains(message),
        "stderr says the same: {}",
        run.stderr
    );
    // A whole reply says `error: null`.
    let mut whole = sse_head("");
    for event in [chunk(Some("Hi"), Some("stop")), usage_chunk()] {
        whole.extend_from_slice(format!("data: {event}\n\n").as_bytes());
    }
    let server = serving(whole);
    let json = chat(&server, &["--json"]).code(0).json();
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["text"], "Hi");
}

#[test]
fn a_reply_whose_usage_arrived_is_whole_without_done() {
    let mut head = Vec::new();
    for event in [
        chunk(Some("Hi"), None),
        chunk(None, Some("stop")),
        usage_chunk(),
    ] {
        head.extend_from_slice(format!("data: {event}\n\n").as_bytes());
    }
    // The connection stays open and `[DONE]` never comes: the usage chunk,
    // which vLLM sends last, ends the reply before the idle limit (2 s).
    let server = MockVllm::start_blocking(MockOptions::with_models(vec![MockModel::base("m")]));
    server.push_reply(Reply::Stall { head });
    let run = Cli::new().run_within(
        &[
            "--base-url",
            &server.base_url(),
            "--timeout",
            "2",
            "chat",
            "--model",
            "m",
            "hi",
        ],
        Duration::from_secs(60),
    );
    run.code(0).says("[stop] 3 input + 2 output = 5 tokens");
    assert_eq!(run.stdout, "Hi\n");
}

#[test]
fn an_empty_data_line_is_skipped() {
    let mut body = sse_head("");
    body.extend_from_slice(b"data:\n\ndata: \n\n");
    for event in [chunk(Some("Hi"), Some("stop")), usage_chunk()] {
        body.extend_from_slice(format!("data: {event}\n\n").as_bytes());
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    let server = serving(body);
    chat(&server, &[]).code(0);
}

#[test]
fn odd_but_legal_bodies_and_urls_are_read() {
    let bom = response(
        "200 OK",
        &[("content-type", "application/json")],
        format!("\u{feff}{MODELS}").as_bytes(),
    );
    let server = CannedServer::start(
        vec![("/v1/models", bom)],
        response("404 Not Found", &[], b""),
    );
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list", "--json"]);
    run.code(0);
    assert_eq!(run.json()["models"][0]["id"], "m");
    // Schemes are case-insensitive.
    let upper = server.base_url().replacen("http://", "HTTP://", 1);
    Cli::new()
        .run(&["--base-url", &upper, "models", "list"])
        .code(0);
}

#[test]
fn a_compressed_body_nobody_asked_for_is_named() {
    // The gzip magic and a few bytes: enough to be recognised.
    let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03";
    for headers in [vec![("content-encoding", "gzip")], Vec::new()] {
        let mut headers = headers;
        headers.push(("content-type", "application/json"));
        let server = CannedServer::start(
            vec![("/v1/models", response("200 OK", &headers, gzip))],
            response("404 Not Found", &[], b""),
        );
        let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list"]);
        run.code(1).says("is compressed").says("a proxy or gateway");
        assert!(!run.stderr.contains("UTF-8"), "{}", run.stderr);
    }
}

#[test]
fn a_response_head_too_large_is_named() {
    let big = "a".repeat(1024 * 1024);
    let head = response("200 OK", &[("x-big", big.as_str())], b"{}");
    let server = CannedServer::start(
        vec![("/v1/models", head)],
        response("404 Not Found", &[], b""),
    );
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list"]);
    run.code(1)
        .says("response head")
        .says("larger than the host accepts");
    assert!(
        !run.stderr.contains("HTTP-protocol-error"),
        "{}",
        run.stderr
    );
}
