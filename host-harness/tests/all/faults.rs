//! Fault injection: the real component, through the harness, against a
//! server that fails in each way servers and proxies do. For every fault:
//! no panic, no hang (each call is bounded), and either a correct result or
//! a typed error that says what happened, with what had arrived kept.
//! Stalls (slow first byte, idle streams, slowloris) are in `timeouts.rs`.

use std::time::Duration;

use vllm_harness::{
    CallError, ChatRequest, Completion, ConfigInput, FinishReason, Harness, ProviderConfig,
    ProviderError, StreamEvent,
};
use vllm_tests::mock::shapes::{ChunkFactory, Delta};
use vllm_tests::mock::{MockOptions, MockVllm, Reply};

use crate::common::streams::{bounded, read_stream, sse_bytes, streamed_text};
use crate::common::{ATTEMPTS, plugin};

const MODEL: &str = "mock-model";
/// Longest any one faulty exchange may take before the test calls it a hang.
const BOUND: Duration = Duration::from_secs(20);

/// A harness, a mock, and a config with the mock's models discovered.
async fn setup() -> (Harness, MockVllm, ProviderConfig) {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let mut config = h
        .resolve_config(ConfigInput {
            provider_json: None,
            env: Vec::new(),
            auth_profile_key: None,
            base_url_override: Some(server.base_url()),
        })
        .await
        .expect("resolve-config");
    config.models = h.discover_models(&config).await.expect("discover-models");
    (h, server, config)
}

fn hi() -> ChatRequest {
    ChatRequest::user_text(MODEL, "hi")
}

/// Every event of a stream, and the error that ended it if any.
async fn stream(h: &Harness, config: &ProviderConfig) -> (Vec<StreamEvent>, Option<CallError>) {
    bounded("a stream", BOUND, read_stream(h, config, hi())).await
}

async fn complete(h: &Harness, config: &ProviderConfig) -> Result<Completion, CallError> {
    bounded("a completion", BOUND, h.complete(config, hi())).await
}

fn provider_error(error: Option<CallError>) -> ProviderError {
    match error {
        Some(CallError::Provider(error)) => error,
        other => panic!("expected a provider error, got {other:?}"),
    }
}

fn invalid_response(error: Option<CallError>) -> String {
    match provider_error(error) {
        ProviderError::InvalidResponse(message) => message,
        other => panic!("expected invalid-response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_cut_without_done_is_incomplete_and_keeps_the_text() {
    let (h, server, config) = setup().await;
    server.push_reply(Reply::cut_stream(MODEL, &["Hello", " there"]));
    let (events, error) = stream(&h, &config).await;
    let message = invalid_response(error);
    assert!(
        message.contains("ended before it was complete"),
        "{message}"
    );
    assert!(message.contains("\"Hello there\""), "{message}");
    // What arrived was also delivered as events, before the error.
    assert_eq!(streamed_text(&events), "Hello there");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_event_of_invalid_json_is_an_invalid_response_after_the_text_before_it() {
    let (h, server, config) = setup().await;
    let f = ChunkFactory::new(MODEL);
    let events = vec![
        f.role(),
        f.content("Hel"),
        "{\"id\": not json".to_owned(),
        f.content("lo"),
    ];
    server.push_reply(Reply::SseRaw {
        bytes: sse_bytes(&events, true),
        split: None,
    });
    let (events, error) = stream(&h, &config).await;
    let message = invalid_response(error);
    assert!(message.to_lowercase().contains("json"), "{message}");
    assert_eq!(streamed_text(&events), "Hel");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_is_an_invalid_response_not_a_panic() {
    let (h, server, config) = setup().await;
    let f = ChunkFactory::new(MODEL);
    let mut bytes = sse_bytes(&[f.role(), f.content("ok")], false);
    bytes.extend_from_slice(b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n");
    server.push_reply(Reply::SseRaw { bytes, split: None });
    let (events, error) = stream(&h, &config).await;
    let message = invalid_response(error);
    assert!(message.contains("UTF-8"), "{message}");
    assert_eq!(streamed_text(&events), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn multibyte_characters_split_across_frames_arrive_whole() {
    let (h, server, config) = setup().await;
    let tokens = [
        "h\u{e9}llo ",
        "w\u{f6}rld ",
        "\u{1f980}",
        " \u{65e5}\u{672c}",
    ];
    for split in [1, 2, 3, 5] {
        server.push_reply(Reply::text_stream(MODEL, &tokens, None).split(split));
        let (events, error) = stream(&h, &config).await;
        assert!(error.is_none(), "split {split}: {error:?}");
        assert_eq!(streamed_text(&events), tokens.concat(), "split {split}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_html_page_from_a_proxy_is_a_server_error_naming_the_page() {
    let (h, server, config) = setup().await;
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    server.push_replies(&Reply::html(502, page), ATTEMPTS);
    let (_, error) = stream(&h, &config).await;
    match provider_error(error) {
        ProviderError::Server(e) => {
            assert_eq!(e.status, 502);
            assert!(e.message.contains("502 Bad Gateway"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    server.push_replies(&Reply::html(502, page), ATTEMPTS);
    match complete(&h, &config).await {
        Err(CallError::Provider(ProviderError::Server(e))) => assert_eq!(e.status, 502),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_content_type_is_an_invalid_response_naming_it() {
    let (h, server, config) = setup().await;
    server.push_reply(Reply::Raw {
        status: 200,
        content_type: Some("text/plain".to_owned()),
        body: b"hello".to_vec(),
    });
    let (_, error) = stream(&h, &config).await;
    let message = invalid_response(error);
    assert!(message.contains("text/plain"), "{message}");
    server.push_reply(Reply::html(200, "<html><title>Login</title></html>"));
    match complete(&h, &config).await {
        Err(CallError::Provider(ProviderError::InvalidResponse(message))) => {
            assert!(!message.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_with_an_empty_body_says_so() {
    let (h, server, config) = setup().await;
    for streamed in [false, true] {
        server.push_replies(&Reply::empty(500), ATTEMPTS);
        let error = if streamed {
            stream(&h, &config).await.1
        } else {
            complete(&h, &config).await.err()
        };
        match provider_error(error) {
            ProviderError::Server(e) => {
                assert_eq!(e.status, 500);
                assert!(e.message.contains("empty body"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resent_tool_call_arguments_are_not_doubled() {
    let (h, server, config) = setup().await;
    let fragments = ["{\"city\": ", "\"Paris\"}"];
    server.push_reply(Reply::tool_call_stream_resending_arguments(
        MODEL,
        "get_weather",
        &fragments,
    ));
    let (events, error) = stream(&h, &config).await;
    assert!(error.is_none(), "{error:?}");
    let calls: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallEnd(call) => Some((call.name.clone(), call.arguments.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [("get_weather".to_owned(), "{\"city\": \"Paris\"}".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_usage_is_no_usage_not_an_error() {
    let (h, server, config) = setup().await;
    server.push_reply(Reply::text_stream(MODEL, &["fine"], None));
    let (events, error) = stream(&h, &config).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(streamed_text(&events), "fine");
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::Usage(_))));
    assert!(matches!(
        events.last(),
        Some(StreamEvent::Finish(FinishReason::Stop))
    ));

    let body = format!(
        r#"{{"id":"x","object":"chat.completion","model":"{MODEL}","choices":[{{"index":0,"message":{{"role":"assistant","content":"fine"}},"finish_reason":"stop"}}]}}"#
    );
    server.push_reply(Reply::json_text(200, body));
    let done = complete(&h, &config).await.expect("a reply without usage");
    assert_eq!(done.text, "fine");
    assert_eq!(done.usage, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_after_done_are_ignored() {
    let (h, server, config) = setup().await;
    let f = ChunkFactory::new(MODEL);
    let mut bytes = sse_bytes(
        &[
            f.role(),
            f.content("the end"),
            f.finish("stop", Delta::content("")),
        ],
        true,
    );
    bytes.extend(sse_bytes(&[f.content(" and more")], true));
    server.push_reply(Reply::SseRaw { bytes, split: None });
    let (events, error) = stream(&h, &config).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(streamed_text(&events), "the end");
    let finishes = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Finish(_)))
        .count();
    assert_eq!(finishes, 1);
}

/// A server that answers a chat request with the head of a stream and one
/// event, then resets the connection (RST, not a clean close).
async fn resetting_server() -> (String, tokio::task::JoinHandle<usize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        let mut served = 0;
        // One connection per request; a bounded number of them.
        for _ in 0..4 {
            let Ok(Ok((mut socket, _))) =
                tokio::time::timeout(Duration::from_secs(10), listener.accept()).await
            else {
                break;
            };
            // Read the whole request (head and content-length body), so
            // that the reset cannot hit the client while it still sends.
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            let mut wanted = usize::MAX;
            while request.len() < wanted && request.len() < 1 << 20 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    wanted = end + 4 + length;
                }
            }
            let f = ChunkFactory::new(MODEL);
            let event = format!("data: {}\n\ndata: {}\n\n", f.role(), f.content("partial"));
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
                event.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.flush().await;
            // Zero linger: dropping the socket sends RST. (A zero linger
            // never blocks, which is what the deprecation warns about.)
            #[allow(deprecated, reason = "zero linger does not block on drop")]
            let _ = socket.set_linger(Some(Duration::ZERO));
            drop(socket);
            served += 1;
        }
        served
    });
    (format!("http://{addr}/v1"), task)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_reset_mid_stream_is_a_typed_error_after_the_text() {
    let h = plugin().await;
    let (base, server) = resetting_server().await;
    let config = h
        .resolve_config(ConfigInput {
            provider_json: None,
            env: Vec::new(),
            auth_profile_key: None,
            base_url_override: Some(base),
        })
        .await
        .expect("resolve-config");
    let (events, error) = stream(&h, &config).await;
    assert_eq!(
        streamed_text(&events),
        "partial",
        "the text before the reset"
    );
    // The reset is named, the text that arrived is kept in the error, and
    // no host internals (backtraces) leak into it.
    // The reply had begun: not a connection failure (exit 3), an
    // invalid response (exit 1).
    let message = match provider_error(error) {
        ProviderError::InvalidResponse(message) => message,
        other => panic!("expected invalid-response, got {other:?}"),
    };
    assert!(message.contains("broke off mid-reply"), "{message}");
    assert!(message.contains("closed"), "{message}");
    assert!(message.contains("\"partial\""), "{message}");
    assert!(!message.contains("acktrace"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    server.abort();
}
