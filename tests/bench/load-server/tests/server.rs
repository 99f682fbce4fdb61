//! The load server over a real socket: shapes against vLLM 0.32's
//! recordings, event counts and batching, errors, keep-alive, chunked
//! request bodies and clients that go away.

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Conn, Reply, Server, fixture, key_paths, sse_data};

/// A streamed request as the benchmark's clients send it.
fn streamed(model: &str, tokens: u32) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": tokens,
        "stream": true,
        "stream_options": {"include_usage": true},
    })
}

/// The `data:` payloads of a fixture.
fn recorded(name: &str) -> Vec<String> {
    sse_data(fixture(name).as_bytes())
}

/// Parses every payload but `[DONE]`.
fn chunks(data: &[String]) -> Vec<Value> {
    data.iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("JSON chunk"))
        .collect()
}

/// The delta text of an event chunk, whichever field carries it.
fn delta_text(chunk: &Value) -> Option<&str> {
    let delta = &chunk["choices"][0]["delta"];
    delta["content"]
        .as_str()
        .or_else(|| delta["reasoning"].as_str())
        .or_else(|| delta["tool_calls"][0]["function"]["arguments"].as_str())
        .filter(|text| !text.is_empty())
}

/// Checks a whole text/reasoning/tools stream of `tokens` events: preamble,
/// events, finish, usage and `[DONE]`, shaped like the recordings.
fn check_stream(reply: &Reply, kind: &str, tokens: usize) -> Vec<Value> {
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    let data = reply.data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let all = chunks(&data);
    let preamble = if kind == "tools" { 2 } else { 1 };
    assert_eq!(
        all.len(),
        preamble + tokens + 2,
        "preamble, events, finish, usage"
    );
    let (recording, event_at) = match kind {
        "text" => ("chat-stream-usage.sse", 1),
        "reasoning" => ("think-stream.sse", 1),
        _ => ("tool-auto-stream.sse", 2),
    };
    let theirs = recorded(recording);
    let n = theirs.len();
    // Role chunk, an event, the finish chunk and the usage chunk: the same
    // fields in the same order as vLLM's.
    assert_eq!(key_paths(&data[0]), key_paths(&theirs[0]), "role chunk");
    assert_eq!(
        key_paths(&data[preamble]),
        key_paths(&theirs[event_at]),
        "event"
    );
    assert_eq!(
        key_paths(&data[data.len() - 3]),
        key_paths(&theirs[n - 3]),
        "finish chunk"
    );
    assert_eq!(
        key_paths(&data[data.len() - 2]),
        key_paths(&theirs[n - 2]),
        "usage chunk"
    );
    let events = &all[preamble..preamble + tokens];
    for event in events {
        assert!(
            delta_text(event).is_some(),
            "an event with a non-empty delta: {event}"
        );
    }
    for other in all[..preamble].iter().chain(&all[preamble + tokens..]) {
        assert!(delta_text(other).is_none(), "not an event: {other}");
    }
    let usage = &all[all.len() - 1]["usage"];
    assert_eq!(usage["completion_tokens"], tokens);
    let finish = &all[all.len() - 2]["choices"][0]["finish_reason"];
    assert_eq!(
        finish,
        if kind == "tools" {
            "tool_calls"
        } else {
            "stop"
        }
    );
    events.to_vec()
}

#[test]
fn models_list_is_vllm_shaped() {
    let server = Server::start();
    let reply = server.connect().get("/v1/models");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let models = reply.json();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["text", "text-w64", "reasoning", "tools"]);
    for model in models["data"].as_array().expect("data") {
        assert_eq!(model["max_model_len"], 131_072);
    }
    // The recording lists one card; the server lists four of the same shape.
    let theirs = key_paths(&fixture("models.json"));
    let card: Vec<String> = theirs[2..].to_vec();
    let mut expected = theirs[..2].to_vec();
    for _ in 0..4 {
        expected.extend(card.iter().cloned());
    }
    assert_eq!(
        key_paths(std::str::from_utf8(&reply.body).expect("UTF-8")),
        expected
    );
}

#[test]
fn health_and_version() {
    let server = Server::start();
    let mut conn = server.connect();
    let health = conn.get("/health");
    assert_eq!((health.status, health.body.len()), (200, 0));
    let version = conn.get("/version");
    assert_eq!(version.json(), json!({"version": "0.32.0"}));
}

#[test]
fn text_stream_has_exactly_the_events_asked_for() {
    let server = Server::start();
    let mut conn = server.connect();
    for tokens in [1, 37, 1000] {
        let reply = conn.chat(&streamed("text", tokens));
        let events = check_stream(&reply, "text", usize::try_from(tokens).expect("small"));
        // One write per event: the preamble, one chunk per event, the tail.
        assert_eq!(reply.chunks.len(), events.len() + 2);
        assert!(
            events
                .iter()
                .all(|e| e["choices"][0]["delta"]["content"].is_string())
        );
    }
}

#[test]
fn batches_of_64_events_per_write() {
    let server = Server::start();
    let reply = server.connect().chat(&streamed("text-w64", 200));
    check_stream(&reply, "text", 200);
    let per_chunk: Vec<usize> = reply
        .chunks
        .iter()
        .map(|chunk| sse_data(chunk).len())
        .collect();
    // Role chunk; 64, 64, 64, 8 events; finish, usage and [DONE].
    assert_eq!(per_chunk, [1, 64, 64, 64, 8, 3]);
}

#[test]
fn tool_arguments_concatenate_to_json() {
    let server = Server::start();
    let mut conn = server.connect();
    for tokens in [1, 2, 25] {
        let reply = conn.chat(&streamed("tools-w4", tokens));
        let events = check_stream(&reply, "tools", usize::try_from(tokens).expect("small"));
        let data = reply.data();
        let header: Value = serde_json::from_str(&data[1]).expect("JSON");
        let call = &header["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "get_weather");
        assert_eq!(call["function"]["arguments"], "");
        assert!(call["id"].as_str().is_some_and(|id| !id.is_empty()));
        let joined: String = events.iter().filter_map(delta_text).collect();
        let arguments: Value = serde_json::from_str(&joined).expect("arguments are JSON");
        assert!(arguments.is_object(), "{joined}");
    }
}

#[test]
fn reasoning_deltas() {
    let server = Server::start();
    let reply = server.connect().chat(&streamed("reasoning", 20));
    let events = check_stream(&reply, "reasoning", 20);
    for event in &events {
        let delta = &event["choices"][0]["delta"];
        assert!(delta["reasoning"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(delta.get("content").is_none());
    }
    let all = chunks(&reply.data());
    assert_eq!(
        all[all.len() - 1]["usage"]["completion_tokens_details"]["reasoning_tokens"],
        20
    );
}

#[test]
fn without_usage_the_fingerprint_is_on_the_finish_chunk() {
    let server = Server::start();
    let mut request = streamed("text", 5);
    request["stream_options"] = Value::Null;
    let reply = server.connect().chat(&request);
    let data = reply.data();
    assert_eq!(data.len(), 1 + 5 + 1 + 1);
    let theirs = recorded("chat-stream.sse");
    assert_eq!(
        key_paths(&data[data.len() - 2]),
        key_paths(&theirs[theirs.len() - 2])
    );
}

#[test]
fn non_streamed_replies_join_the_deltas() {
    let server = Server::start();
    let mut conn = server.connect();
    for (model, recording) in [
        ("text", "chat.json"),
        ("reasoning", "think.json"),
        ("tools", "tool-auto.json"),
    ] {
        let mut request = streamed(model, 30);
        request["stream"] = json!(false);
        request
            .as_object_mut()
            .expect("object")
            .remove("stream_options");
        let whole = conn.chat(&request);
        assert_eq!(whole.status, 200);
        assert_eq!(whole.header("content-type"), Some("application/json"));
        let text = std::str::from_utf8(&whole.body).expect("UTF-8");
        assert_eq!(key_paths(text), key_paths(&fixture(recording)), "{model}");
        let body = whole.json();
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["usage"]["completion_tokens"], 30);

        let stream = conn.chat(&streamed(model, 30));
        let joined: String = chunks(&stream.data())
            .iter()
            .filter_map(delta_text)
            .collect();
        let message = &body["choices"][0]["message"];
        let whole_text = match model {
            "text" => &message["content"],
            "reasoning" => &message["reasoning"],
            _ => &message["tool_calls"][0]["function"]["arguments"],
        };
        assert_eq!(whole_text.as_str(), Some(joined.as_str()), "{model}");
    }
}

#[test]
fn unknown_kinds_are_vllm_404s() {
    let server = Server::start();
    let mut conn = server.connect();
    for model in ["nope", "text-w0", "text-x1", "tiny-chat"] {
        let reply = conn.chat(&streamed(model, 4));
        assert_eq!(reply.status, 404, "{model}");
        let text = std::str::from_utf8(&reply.body).expect("UTF-8");
        assert_eq!(
            key_paths(text),
            key_paths(&fixture("error-unknown-model.json"))
        );
        let error = reply.json();
        assert_eq!(error["error"]["type"], "NotFoundError");
        assert!(
            error["error"]["message"]
                .as_str()
                .expect("message")
                .contains(model)
        );
    }
    let route = conn.get("/v1/nope");
    assert_eq!(
        (route.status, route.json()),
        (404, json!({"detail": "Not Found"}))
    );
    let method = conn.get("/v1/chat/completions");
    assert_eq!(method.status, 405);
}

#[test]
fn bad_json_is_a_vllm_400_and_the_connection_stays() {
    let server = Server::start();
    let mut conn = server.connect();
    conn.send_chat("{bad", "");
    let reply = conn.reply();
    assert_eq!(reply.status, 400);
    let text = std::str::from_utf8(&reply.body).expect("UTF-8");
    assert_eq!(key_paths(text), key_paths(&fixture("error-bad-json.json")));
    assert!(text.contains("json_invalid"));
    // Other refusals vLLM makes.
    for (body, status) in [
        (json!({"model": "text"}), 400),
        (
            json!({"model": "text", "messages": [], "max_tokens": 0}),
            400,
        ),
        (
            json!({"model": "text", "messages": [], "max_tokens": 1_000_001}),
            400,
        ),
        (
            json!({"model": "text", "messages": [], "max_tokens": "5"}),
            400,
        ),
        (
            json!({"model": "text", "messages": [], "stream": "yes"}),
            400,
        ),
        (
            json!({"model": "text", "messages": [], "stream_options": {"include_usage": true}}),
            400,
        ),
        (json!(["not", "an", "object"]), 400),
    ] {
        let reply = conn.chat(&body);
        assert_eq!(reply.status, status, "{body}");
        assert!(reply.json()["error"]["message"].is_string());
    }
    let reply = conn.chat(&streamed("text", 3));
    check_stream(&reply, "text", 3);
}

#[test]
fn keep_alive_serves_requests_in_turn_on_one_connection() {
    let server = Server::start();
    let mut conn = server.connect();
    for round in 0..3 {
        let reply = conn.chat(&streamed("text-w8", 50));
        check_stream(&reply, "text", 50);
        assert_eq!(reply.header("connection"), None, "round {round}");
        let models = conn.get("/v1/models");
        assert_eq!(models.status, 200);
    }
}

#[test]
fn connection_close_is_honoured() {
    let server = Server::start();
    let mut conn = server.connect();
    let body = streamed("text", 3).to_string();
    conn.send_chat(&body, "Connection: close\r\n");
    let reply = conn.reply();
    check_stream(&reply, "text", 3);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(conn.closed_by_peer());
}

#[test]
fn http10_streams_without_chunks_and_closes() {
    let server = Server::start();
    let mut conn = server.connect();
    let body = streamed("text", 4).to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.send(request.as_bytes());
    let mut raw = Vec::new();
    for _ in 0..1000 {
        let before = raw.len();
        let mut buf = [0; 4096];
        let read = std::io::Read::read(&mut conn.stream, &mut buf).expect("read");
        raw.extend_from_slice(&buf[..read]);
        if raw.len() == before {
            break;
        }
    }
    let text = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding"));
    assert_eq!(sse_data(body.as_bytes()).len(), 1 + 4 + 3);
}

#[test]
fn chunked_request_bodies_are_read() {
    let server = Server::start();
    let mut conn = server.connect();
    let body = streamed("text", 9).to_string();
    let (first, second) = body.split_at(10);
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n{:x};ext=1\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    // In pieces, as a streaming client sends it.
    for piece in request.as_bytes().chunks(7) {
        conn.stream.write_all(piece).expect("send");
        conn.stream.flush().expect("flush");
    }
    let reply = conn.reply();
    check_stream(&reply, "text", 9);
    // And the connection goes on.
    assert_eq!(conn.get("/health").status, 200);
}

#[test]
fn oversized_requests_are_refused() {
    let server = Server::start();
    let mut conn = server.connect();
    let huge = "x".repeat(1024 * 1024 + 1);
    conn.send_chat(&huge, "");
    let reply = conn.reply();
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("connection"), Some("close"));

    let mut conn = server.connect();
    let mut head = b"GET /health HTTP/1.1\r\n".to_vec();
    while head.len() < 70 * 1024 {
        head.extend_from_slice(b"x-filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    // The server may refuse before reading it all.
    let _ = conn.stream.write_all(&head);
    assert_eq!(conn.reply().status, 431);
}

#[test]
fn a_client_leaving_mid_stream_ends_only_its_stream() {
    let mut server = Server::start();
    for model in ["text", "text-d1000", "tools-w64"] {
        let mut conn = server.connect();
        let body = streamed(model, 1_000_000).to_string();
        conn.send_chat(&body, "");
        // Some of the stream, then gone.
        let mut read = 0;
        for _ in 0..100 {
            read += conn.fill();
            if read > 64 * 1024 {
                break;
            }
        }
        assert!(read > 0, "{model}");
        drop(conn);
    }
    // Give the server a moment to notice, then it still serves.
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.alive());
    let reply = server.connect().chat(&streamed("text", 16));
    check_stream(&reply, "text", 16);
}

#[test]
fn the_delay_paces_writes() {
    let server = Server::start();
    let mut conn = server.connect();
    let start = Instant::now();
    let reply = conn.chat(&streamed("text-w2-d20000", 10));
    let took = start.elapsed();
    check_stream(&reply, "text", 10);
    // Five writes, each 20 ms after the previous one was due.
    assert!(took >= Duration::from_millis(100), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn several_threads_serve_as_one() {
    let server = Server::start_with(&["--threads", "2"]);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let mut conn = Conn::new(server.port);
        handles.push(std::thread::spawn(move || {
            conn.chat(&streamed("text-w16", 500))
        }));
    }
    for handle in handles {
        let reply = handle.join().expect("client thread");
        check_stream(&reply, "text", 500);
    }
}
