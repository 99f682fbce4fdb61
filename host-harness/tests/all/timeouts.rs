//! Timeouts, one test per place a server can stall: the real component,
//! through the harness (and the CLI), against the mock vLLM server or a
//! loopback socket that never accepts. Every limit comes from one knob,
//! `timeoutSeconds` (T): connect min(T, 10 s), first byte T, idle gap T
//! (between bytes, and between stream events), total 10 × T.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpSocket};
use vllm_harness::{
    CallError, ChatRequest, ConfigInput, Harness, ProviderConfig, ProviderError, StreamEvent,
};
use vllm_tests::mock::shapes::ChunkFactory;
use vllm_tests::mock::{MockOptions, MockVllm, Reply, Usage};

use crate::common::cli_run::Cli;
use crate::common::plugin;
use crate::common::streams::{bounded, read_stream, sse_bytes, streamed_text};

const MODEL: &str = "mock-model";
/// Longest any one call may take before the test calls it a hang.
const BOUND: Duration = Duration::from_secs(30);
/// Every timeout here must have ended its call well within this.
const QUICK: Duration = Duration::from_secs(10);
/// How long a test waits for the mock to observe something.
const WAIT: Duration = Duration::from_secs(10);

/// The config for `base_url` with `timeoutSeconds` = `seconds`, from the
/// provider section as a user writes it.
async fn config_with_timeout(h: &Harness, base_url: &str, seconds: f64) -> ProviderConfig {
    let provider = json!({"baseUrl": base_url, "timeoutSeconds": seconds});
    h.resolve_config(ConfigInput {
        provider_json: Some(provider.to_string()),
        env: Vec::new(),
        auth_profile_key: None,
        base_url_override: None,
    })
    .await
    .expect("resolve-config")
}

/// A harness, a mock, and a config with T = `seconds` and the mock's
/// models discovered.
async fn setup(seconds: f64) -> (Harness, MockVllm, ProviderConfig) {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let mut config = config_with_timeout(&h, &server.base_url(), seconds).await;
    assert_eq!(config.timeout_ms, (seconds * 1000.0).round() as u64);
    config.models = h.discover_models(&config).await.expect("discover-models");
    (h, server, config)
}

fn usage(completion_tokens: u32) -> Usage {
    Usage {
        prompt_tokens: 1,
        completion_tokens,
        reasoning_tokens: None,
    }
}

fn hi() -> ChatRequest {
    ChatRequest::user_text(MODEL, "hi")
}

/// Every event of a stream and the error that ended it, and how long the
/// whole thing took.
async fn stream_to_error(
    h: &Harness,
    config: &ProviderConfig,
) -> (Vec<StreamEvent>, ProviderError, Duration) {
    let started = Instant::now();
    let (events, error) = bounded("a stream", BOUND, read_stream(h, config, hi())).await;
    let Some(error) = error else {
        panic!("the stream ended without a timeout: {events:?}");
    };
    (events, timeout(error), started.elapsed())
}

/// The message of a `timeout` provider error.
fn timeout(error: CallError) -> ProviderError {
    match error {
        CallError::Provider(error @ ProviderError::Timeout(_)) => error,
        other => panic!("expected a timeout, got {other:?}"),
    }
}

fn message(error: &ProviderError) -> &str {
    match error {
        ProviderError::Timeout(message) => message,
        other => panic!("expected a timeout, got {other:?}"),
    }
}

fn says(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in: {message}");
    }
}

// ---------------------------------------------------------------------------
// connect
// ---------------------------------------------------------------------------

/// A loopback listener whose accept queue is full, so that the kernel drops
/// further connection attempts (SYNs) and a connect waits. With a backlog
/// of 0 Linux queues one connection; the fillers are kept open until the
/// listener is dropped.
struct FullListener {
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
    addr: SocketAddr,
}

async fn full_listener() -> FullListener {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind 127.0.0.1:0");
    let listener = socket.listen(0).expect("listen with backlog 0");
    let addr = listener.local_addr().expect("local address");
    let fill = tokio::task::spawn_blocking(move || {
        let mut fillers = Vec::new();
        // Bounded: a kernel that queues more than this is not one this
        // test can stall.
        for _ in 0..16 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(stream) => fillers.push(stream),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return fillers,
                Err(e) => panic!("filling the accept queue of {addr} failed: {e}"),
            }
        }
        panic!("the accept queue of {addr} never filled: connects do not stall here");
    });
    let fillers = fill.await.expect("filling the queue does not panic");
    FullListener {
        _listener: listener,
        _fillers: fillers,
        addr,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connect_that_stalls_times_out_at_min_of_t_and_10_s() {
    let h = plugin().await;
    let full = full_listener().await;
    let config = config_with_timeout(&h, &format!("http://{}/v1", full.addr), 0.5).await;
    let started = Instant::now();
    let error = bounded("discovery", BOUND, h.discover_models(&config))
        .await
        .expect_err("nothing accepts");
    let elapsed = started.elapsed();
    let error = timeout(error);
    says(
        message(&error),
        &[
            &format!("connecting to {}", full.addr),
            "0.5 s",
            "timeoutSeconds",
        ],
    );
    assert!(elapsed < QUICK, "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(400), "took {elapsed:?}");
}

// ---------------------------------------------------------------------------
// first byte
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_whose_head_comes_late_times_out_at_t() {
    let (h, server, config) = setup(0.5).await;
    server
        .push_reply(Reply::completion(MODEL, "too late", usage(2)).delayed(Duration::from_secs(5)));
    let started = Instant::now();
    let error = bounded("a completion", BOUND, h.complete(&config, hi()))
        .await
        .expect_err("too slow");
    let elapsed = started.elapsed();
    let error = timeout(error);
    says(
        message(&error),
        &[
            &format!("{}/chat/completions", server.base_url()),
            "sent no response within 0.5 s",
            "timeoutSeconds",
        ],
    );
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

// ---------------------------------------------------------------------------
// idle gap
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_stalls_after_an_event_times_out_with_its_text() {
    let (h, server, config) = setup(0.5).await;
    let f = ChunkFactory::new(MODEL);
    server.push_reply(Reply::Stall {
        head: sse_bytes(&[f.role(), f.content("partial answer")], false),
    });
    let (events, error, elapsed) = stream_to_error(&h, &config).await;
    assert_eq!(
        streamed_text(&events),
        "partial answer",
        "the events came first"
    );
    says(
        message(&error),
        &[
            &format!("{}/chat/completions", server.base_url()),
            "stalled mid-reply",
            "0.5 s",
            "partial answer",
            "timeoutSeconds",
        ],
    );
    assert!(elapsed < QUICK, "took {elapsed:?}");
    assert!(
        server.wait_for_disconnects(1, WAIT).await,
        "the timed-out stream's connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_without_events_do_not_keep_a_stream_alive() {
    // A comment every 100 ms for 20 s: bytes flow (the host's limit between
    // bytes never strikes), but no event comes within T.
    let (h, server, config) = setup(0.5).await;
    server.push_reply(Reply::keepalives(200).paced(Duration::from_millis(100)));
    let (events, error, elapsed) = stream_to_error(&h, &config).await;
    assert!(events.is_empty(), "{events:?}");
    says(
        message(&error),
        &["stalled mid-reply", "no event for 0.5 s", "0 characters"],
    );
    assert!(elapsed < QUICK, "took {elapsed:?}");
    assert!(
        server.wait_for_disconnects(1, WAIT).await,
        "the timed-out stream's connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_reply_that_stops_midway_times_out_at_t() {
    // Half a JSON body, then nothing: the host's limit between bytes.
    let (h, server, config) = setup(0.5).await;
    server.push_reply(Reply::Stall {
        head: br#"{"id":"chatcmpl-1","object":"chat.completion","choices":["#.to_vec(),
    });
    let started = Instant::now();
    let error = bounded("a completion", BOUND, h.complete(&config, hi()))
        .await
        .expect_err("stalled");
    let elapsed = started.elapsed();
    let error = timeout(error);
    says(
        message(&error),
        &[
            &format!("{}/chat/completions", server.base_url()),
            "stalled mid-reply",
            "0.5 s",
            "timeoutSeconds",
        ],
    );
    assert!(elapsed < QUICK, "took {elapsed:?}");
    assert!(
        server.wait_for_disconnects(1, WAIT).await,
        "the stalled body's connection stayed open"
    );
}

// ---------------------------------------------------------------------------
// total
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_never_idles_is_cut_at_10_t() {
    // T = 0.2 s: 10 × T = 2 s. An event every 50 ms for 20 s never leaves
    // the stream idle, so only the total limit can end it.
    let (h, server, config) = setup(0.2).await;
    let tokens: Vec<String> = (0..400).map(|i| format!("t{i} ")).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    server.push_reply(Reply::text_stream(MODEL, &tokens, None).paced(Duration::from_millis(50)));
    let (events, error, elapsed) = stream_to_error(&h, &config).await;
    let got = streamed_text(&events);
    assert!(got.starts_with("t0 t1 "), "events were delivered: {got:?}");
    says(
        message(&error),
        &[
            &format!("{}/chat/completions", server.base_url()),
            "2 s (10 × timeoutSeconds)",
            "raise timeoutSeconds",
        ],
    );
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < QUICK,
        "took {elapsed:?}"
    );
    assert!(
        server.wait_for_disconnects(1, WAIT).await,
        "the cut stream's connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_reply_dribbled_slowly_is_cut_at_10_t() {
    // Two bytes every 50 ms: never idle for T = 0.2 s, but the body takes
    // many seconds; 10 × T = 2 s.
    let (h, server, config) = setup(0.2).await;
    let reply = Reply::completion(MODEL, &crate::common::words(40), usage(40));
    server.push_reply(reply.chunked(2).paced(Duration::from_millis(50)));
    let started = Instant::now();
    let error = bounded("a completion", BOUND, h.complete(&config, hi()))
        .await
        .expect_err("too slow");
    let elapsed = started.elapsed();
    let error = timeout(error);
    says(
        message(&error),
        &[
            &format!("{}/chat/completions", server.base_url()),
            "2 s (10 × timeoutSeconds)",
        ],
    );
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < QUICK,
        "took {elapsed:?}"
    );
    assert!(
        server.wait_for_disconnects(1, WAIT).await,
        "the abandoned body's connection stayed open"
    );
}

// ---------------------------------------------------------------------------
// the CLI's --timeout
// ---------------------------------------------------------------------------

#[test]
fn the_cli_timeout_flag_reaches_the_plugin() {
    let server = MockVllm::start_blocking(MockOptions::default());
    server
        .push_reply(Reply::completion(MODEL, "too late", usage(2)).delayed(Duration::from_secs(5)));
    let base = server.base_url();
    let started = Instant::now();
    let run = Cli::new().run(&["--base-url", &base, "--timeout", "0.5", "chat", "hi"]);
    run.code(1).says("timeoutSeconds").says("0.5 s");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(server.chat_requests().len(), 1);
}

#[test]
fn config_json_shows_the_cli_timeout() {
    let run = Cli::new().run(&[
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--timeout",
        "0.5",
        "config",
        "--json",
    ]);
    run.code(0);
    assert_eq!(run.json()["timeoutMs"], 500);
    let run = Cli::new().run(&["--base-url", "http://127.0.0.1:9/v1", "config", "--json"]);
    run.code(0);
    assert_eq!(
        run.json()["timeoutMs"],
        120_000,
        "the default without the flag"
    );
    let run = Cli::new().run(&["--timeout", "0", "config"]);
    run.code(2).says("--timeout");
}
