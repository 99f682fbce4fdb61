//! The built `vllm-bench-native` against a tiny real HTTP/1.1 server on
//! 127.0.0.1: every scenario's JSON line, replies split at awkward places,
//! and a server that closes mid-stream.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one run of the client may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// How long the test server waits for a request's bytes.
const SERVER_READ_LIMIT: Duration = Duration::from_secs(10);
/// The largest request head the test server reads.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// How the test server writes its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One chunk per SSE event; a JSON reply with Content-Length.
    Plain,
    /// Chunks that cut SSE lines in two, written a few bytes at a time
    /// (cutting chunk-size lines and CRLFs); the JSON reply likewise.
    Awkward,
    /// The JSON reply without Content-Length, ended by closing.
    CloseDelimited,
    /// Three events of the stream, half a fourth, then the connection
    /// closes.
    CloseMidStream,
}

/// A server answering like vLLM 0.32 (tests/fixtures/vllm-0.32/).
struct TestServer {
    base_url: String,
    /// The JSON body of every request, in the order they were read.
    requests: Arc<Mutex<Vec<Value>>>,
}

impl TestServer {
    /// Serve at most `connections` connections with replies of `shape`.
    fn start(shape: Shape, connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        // Not joined: a test that ends early leaves it blocked in accept,
        // and the process ends with the test binary.
        thread::spawn(move || {
            for _ in 0..connections {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let seen = Arc::clone(&seen);
                thread::spawn(move || {
                    if let Err(e) = serve(stream, shape, &seen) {
                        eprintln!("test server: {e}");
                    }
                });
            }
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            requests,
        }
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("requests lock").clone()
    }
}

/// Read one request and answer it.
fn serve(mut stream: TcpStream, shape: Shape, seen: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(SERVER_READ_LIMIT))?;
    stream.set_nodelay(true)?;
    let body = read_request(&mut stream)?;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().expect("requests lock").push(request.clone());
    let tokens = request
        .get("max_completion_tokens")
        .or_else(|| request.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(16);
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("text")
        .to_owned();
    let deltas = deltas(&model, tokens);
    if request.get("stream") == Some(&Value::Bool(true)) {
        write_stream(&mut stream, shape, &model, &deltas)
    } else {
        write_json(&mut stream, shape, &model, &deltas)
    }
}

/// The request's body (by its Content-Length).
fn read_request(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut piece)?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the request head"));
        }
        buf.extend_from_slice(&piece[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    let mut left = length.saturating_sub(body.len());
    while left > 0 {
        let n = stream.read(&mut piece[..left.min(4096)])?;
        if n == 0 {
            return Err(std::io::Error::other("closed mid-body"));
        }
        body.extend_from_slice(&piece[..n]);
        left -= n;
    }
    Ok(body)
}

/// The `tokens` delta strings of a reply of `model`'s kind: for `tools`,
/// pieces of one JSON object.
fn deltas(model: &str, tokens: u64) -> Vec<String> {
    if model == "tools" {
        if tokens == 1 {
            return vec!["{}".into()];
        }
        let mut pieces = vec![r#"{"city":""#.to_owned()];
        pieces.extend((2..tokens).map(|i| format!("c{i}")));
        pieces.push(r#""}"#.into());
        return pieces;
    }
    (0..tokens).map(|i| format!("t{i} ")).collect()
}

fn chunk(id: &str, model: &str, delta: Value, finish: Value) -> String {
    json!({
        "id": id, "object": "chat.completion.chunk", "created": 1_795_619_791, "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    })
    .to_string()
}

/// The SSE events of a streamed reply, each `data: ...\n\n`.
fn sse_events(model: &str, deltas: &[String]) -> Vec<String> {
    let id = "chatcmpl-9841528eaf6b104e";
    let mut events = vec![chunk(
        id,
        model,
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    let tool = model == "tools";
    if tool {
        let call = json!({"tool_calls": [{
            "index": 0, "id": "chatcmpl-tool-1", "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }]});
        events.push(chunk(id, model, call, Value::Null));
    }
    for text in deltas {
        let delta = match model {
            "reasoning" => json!({"reasoning": text}),
            "tools" => json!({"tool_calls": [{"index": 0, "function": {"arguments": text}}]}),
            _ => json!({"content": text}),
        };
        events.push(chunk(id, model, delta, Value::Null));
    }
    let finish = if tool { "tool_calls" } else { "stop" };
    events.push(chunk(id, model, json!({"content": ""}), json!(finish)));
    events.push(
        json!({
            "id": id, "object": "chat.completion.chunk", "created": 1_795_619_791,
            "model": model, "choices": [],
            "usage": {"prompt_tokens": 11, "total_tokens": 11 + deltas.len(),
                      "completion_tokens": deltas.len()},
        })
        .to_string(),
    );
    events.push("[DONE]".into());
    events
        .into_iter()
        .map(|payload| format!("data: {payload}\n\n"))
        .collect()
}

/// `bytes` as one chunk of `Transfer-Encoding: chunked`.
fn encode_chunk(bytes: &[u8], out: &mut Vec<u8>, extension: bool) {
    if extension {
        out.extend_from_slice(format!("{:X};x=y\r\n", bytes.len()).as_bytes());
    } else {
        out.extend_from_slice(format!("{:x}\r\n", bytes.len()).as_bytes());
    }
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Write `wire` a few bytes at a time, pausing now and then so that the
/// pieces arrive apart.
fn write_in_pieces(stream: &mut TcpStream, wire: &[u8]) -> std::io::Result<()> {
    for (i, piece) in wire.chunks(5).enumerate() {
        stream.write_all(piece)?;
        if i % 4 == 0 {
            thread::sleep(Duration::from_micros(300));
        }
    }
    Ok(())
}

fn write_stream(
    stream: &mut TcpStream,
    shape: Shape,
    model: &str,
    deltas: &[String],
) -> std::io::Result<()> {
    let events = sse_events(model, deltas);
    stream.write_all(
        b"HTTP/1.1 200 OK\r\ndate: Tue, 01 Jan 2030 00:00:00 GMT\r\nserver: uvicorn\r\n\
          content-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n",
    )?;
    match shape {
        Shape::Plain | Shape::CloseDelimited => {
            let mut wire = Vec::new();
            for event in &events {
                wire.clear();
                encode_chunk(event.as_bytes(), &mut wire, false);
                stream.write_all(&wire)?;
            }
            stream.write_all(b"0\r\n\r\n")
        }
        Shape::Awkward => {
            // Chunks of 13 bytes cut every SSE line; pieces of 5 bytes cut
            // the chunk-size lines and their CRLFs.
            let text = events.concat();
            let mut wire = Vec::new();
            for (i, piece) in text.as_bytes().chunks(13).enumerate() {
                encode_chunk(piece, &mut wire, i % 3 == 1);
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            write_in_pieces(stream, &wire)
        }
        Shape::CloseMidStream => {
            let mut wire = Vec::new();
            for event in events.iter().take(4) {
                encode_chunk(event.as_bytes(), &mut wire, false);
            }
            let half = events.get(4).map_or("", |e| &e[..e.len() / 2]);
            encode_chunk(half.as_bytes(), &mut wire, false);
            stream.write_all(&wire)?;
            stream.shutdown(std::net::Shutdown::Both)
        }
    }
}

fn write_json(
    stream: &mut TcpStream,
    shape: Shape,
    model: &str,
    deltas: &[String],
) -> std::io::Result<()> {
    let joined = deltas.concat();
    let message = match model {
        "reasoning" => json!({"role": "assistant", "content": null, "reasoning": joined}),
        "tools" => json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": "chatcmpl-tool-1", "type": "function",
            "function": {"name": "get_weather", "arguments": joined},
        }]}),
        _ => json!({"role": "assistant", "content": joined, "reasoning": null}),
    };
    let finish = if model == "tools" {
        "tool_calls"
    } else {
        "stop"
    };
    let body = json!({
        "id": "chatcmpl-9f822402d18dbd75", "object": "chat.completion", "created": 1_795_619_790,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "total_tokens": 11 + deltas.len(),
                  "completion_tokens": deltas.len()},
    })
    .to_string();
    match shape {
        Shape::CloseDelimited => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
            )?;
            stream.write_all(body.as_bytes())?;
            stream.shutdown(std::net::Shutdown::Write)
        }
        _ => {
            let mut wire = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            wire.extend_from_slice(body.as_bytes());
            if shape == Shape::Awkward {
                write_in_pieces(stream, &wire)
            } else {
                stream.write_all(&wire)
            }
        }
    }
}

/// What one run of the client printed and how it exited.
struct Run {
    line: Value,
    code: Option<i32>,
    stderr: String,
}

/// Run the client with `args`, within [`RUN_LIMIT`].
fn run(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vllm-bench-native"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vllm-bench-native");
    let started = Instant::now();
    // The client prints one line and a little stderr: the pipes never fill.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vllm-bench-native {args:?} ran longer than {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).expect("read stdout");
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).expect("read stderr");
    }
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line on stdout: {stdout:?}; stderr: {stderr}"
    );
    let line = serde_json::from_str(lines[0]).expect("the line is JSON");
    Run {
        line,
        code: status.code(),
        stderr,
    }
}

fn client(server: &TestServer, scenario: &str, model: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        scenario,
        "--base-url",
        server.base_url.as_str(),
        "--model",
        model,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The checks every successful run passes; returns its latencies.
fn assert_ok(run: &Run, scenario: &str, events: u64, latencies: usize) -> Vec<u64> {
    let line = &run.line;
    assert_eq!(run.code, Some(0), "{line}; stderr: {}", run.stderr);
    assert_eq!(line["client"], "native", "{line}");
    assert_eq!(line["scenario"], scenario, "{line}");
    assert_eq!(line["errors"], 0, "{line}");
    assert_eq!(line["error"], Value::Null, "{line}");
    assert_eq!(line["events"], events, "{line}");
    let measured: Vec<u64> = line["latencies_us"]
        .as_array()
        .expect("latencies_us is an array")
        .iter()
        .map(|v| v.as_u64().expect("a latency is an integer"))
        .collect();
    assert_eq!(measured.len(), latencies, "{line}");
    assert!(measured.iter().all(|&us| us > 0), "{line}");
    let elapsed = line["elapsed_us"].as_u64().expect("elapsed_us");
    assert!(elapsed > 0, "{line}");
    assert!(
        elapsed >= measured.iter().sum::<u64>(),
        "elapsed covers the measured requests: {line}"
    );
    measured
}

/// What every client sends (PROTOCOL.md), streamed or not.
fn assert_request(request: &Value, tokens: u64, stream: bool) {
    assert_eq!(
        request["messages"],
        json!([{"role": "user", "content": "hi"}]),
        "{request}"
    );
    assert_eq!(request["max_completion_tokens"], tokens, "{request}");
    if stream {
        assert_eq!(request["stream"], true, "{request}");
        assert_eq!(
            request["stream_options"],
            json!({"include_usage": true}),
            "{request}"
        );
    } else {
        assert!(request.get("stream").is_none(), "{request}");
    }
}

#[test]
fn stream_counts_every_delta_of_every_kind() {
    for model in ["text", "reasoning", "tools"] {
        let server = TestServer::start(Shape::Plain, 4);
        let run = client(
            &server,
            "stream",
            model,
            &["--requests", "3", "--max-tokens", "20"],
        );
        assert_ok(&run, "stream", 60, 3);
        let requests = server.requests();
        assert_eq!(requests.len(), 4, "a warm-up and 3 measured requests");
        for request in &requests {
            assert_eq!(request["model"], model);
            assert_request(request, 20, true);
        }
    }
}

#[test]
fn latency_times_each_whole_reply() {
    for shape in [Shape::Plain, Shape::CloseDelimited] {
        let server = TestServer::start(shape, 5);
        let run = client(&server, "latency", "text", &["--requests", "4"]);
        assert_ok(&run, "latency", 0, 4);
        let requests = server.requests();
        assert_eq!(requests.len(), 5, "{shape:?}: a warm-up and 4 measured");
        for request in &requests {
            assert_request(request, 16, false);
        }
    }
}

#[test]
fn ttft_times_the_first_delta_and_reads_every_event() {
    let server = TestServer::start(Shape::Plain, 4);
    let run = client(
        &server,
        "ttft",
        "text",
        &["--requests", "3", "--max-tokens", "10"],
    );
    assert_ok(&run, "ttft", 30, 3);
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn concurrent_streams_start_together_and_all_are_counted() {
    let server = TestServer::start(Shape::Plain, 8);
    let run = client(
        &server,
        "concurrent",
        "text",
        &[
            "--concurrency",
            "8",
            "--max-tokens",
            "50",
            "--requests",
            "5",
        ],
    );
    assert_ok(&run, "concurrent", 400, 0);
    assert_eq!(server.requests().len(), 8, "C requests, no warm-up");
}

#[test]
fn once_is_one_request() {
    let server = TestServer::start(Shape::Plain, 1);
    let run = client(&server, "once", "reasoning", &[]);
    assert_ok(&run, "once", 16, 0);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn replies_split_at_awkward_places_lose_nothing() {
    let server = TestServer::start(Shape::Awkward, 3);
    let run = client(&server, "stream", "text", &["--requests", "2"]);
    assert_ok(&run, "stream", 32, 2);
    let server = TestServer::start(Shape::Awkward, 3);
    let run = client(&server, "stream", "tools", &["--requests", "2"]);
    assert_ok(&run, "stream", 32, 2);
    let server = TestServer::start(Shape::Awkward, 2);
    let run = client(&server, "latency", "text", &["--requests", "1"]);
    assert_ok(&run, "latency", 0, 1);
}

#[test]
fn a_server_closing_mid_stream_is_one_error() {
    let server = TestServer::start(Shape::CloseMidStream, 1);
    let run = client(&server, "once", "text", &[]);
    let line = &run.line;
    assert_eq!(run.code, Some(1), "{line}");
    assert_eq!(line["errors"], 1, "{line}");
    let error = line["error"].as_str().expect("an error message");
    assert!(
        error.contains("broke off mid-reply") && error.contains("characters of text had arrived"),
        "{error}"
    );
    assert_eq!(line["latencies_us"], json!([]), "{line}");
    assert!(run.stderr.contains("failed"), "{}", run.stderr);
}

#[test]
fn a_refused_connection_is_one_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let run = run(&["once", "--base-url", &base_url, "--model", "text"]);
    let line = &run.line;
    assert_eq!(run.code, Some(1), "{line}");
    assert_eq!(line["errors"], 1, "{line}");
    let error = line["error"].as_str().expect("an error message");
    assert!(error.contains("connection refused"), "{error}");
}
