//! Retries: the real component, through the harness, against the mock vLLM
//! server on loopback. A request is sent again only when it provably
//! produced nothing: the connection was refused, or the server answered 429
//! or a 5xx (but 501/505) before any reply (honouring `Retry-After`); at most
//! 3 attempts, never after a 4xx or once a reply started. Every call is
//! bounded; nothing here sleeps to synchronise.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use vllm_harness::{
    CallError, ChatRequest, ConfigInput, Harness, ProviderConfig, ProviderError, StreamEvent,
};
use vllm_tests::mock::{MockOptions, MockVllm, Reply};

use crate::common::streams::{bounded, read_stream};
use crate::common::{ATTEMPTS, plugin, refused_port};

const MODEL: &str = "mock-model";
/// Longest any one call may take before the test calls it a hang.
const BOUND: Duration = Duration::from_secs(20);

/// The config for `base_url`, as `--base-url` gives it.
async fn config_for(h: &Harness, base_url: &str) -> ProviderConfig {
    h.resolve_config(ConfigInput {
        provider_json: None,
        env: Vec::new(),
        auth_profile_key: None,
        base_url_override: Some(base_url.to_owned()),
    })
    .await
    .expect("resolve-config")
}

/// A harness, a mock, and a config with the mock's models discovered.
async fn setup() -> (Harness, MockVllm, ProviderConfig) {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let mut config = config_for(&h, &server.base_url()).await;
    config.models = bounded("discovery", BOUND, h.discover_models(&config))
        .await
        .expect("discover-models");
    (h, server, config)
}

fn hi() -> ChatRequest {
    ChatRequest::user_text(MODEL, "hi")
}

fn provider_error<T: std::fmt::Debug>(result: Result<T, CallError>) -> ProviderError {
    match result {
        Err(CallError::Provider(error)) => error,
        other => panic!("expected a provider error, got {other:?}"),
    }
}

async fn complete(
    h: &Harness,
    config: &ProviderConfig,
) -> Result<vllm_harness::Completion, CallError> {
    bounded("a completion", BOUND, h.complete(config, hi())).await
}

/// Every event of a stream, and the error that ended it if any.
async fn stream(h: &Harness, config: &ProviderConfig) -> (Vec<StreamEvent>, Option<CallError>) {
    bounded("a stream", BOUND, read_stream(h, config, hi())).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_is_retried_after_that_wait() {
    let (h, server, config) = setup().await;
    server.push_reply(Reply::retry_after(429, 1));
    let completion = bounded("a completion", BOUND, h.complete(&config, hi()))
        .await
        .expect("the second attempt succeeds");
    assert!(!completion.text.is_empty(), "{completion:?}");
    let chats = server.timed_chat_requests();
    assert_eq!(chats.len(), 2, "one 429, then one answered request");
    let gap = chats[1].received.duration_since(chats[0].received);
    assert!(
        gap >= Duration::from_millis(990),
        "Retry-After: 1 was not waited for: the retry came {gap:?} after the first request"
    );
    assert_eq!(server.pending_replies(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_three_times_is_a_server_error_after_three_attempts() {
    let (h, server, config) = setup().await;
    for _ in 0..3 {
        server.push_reply(Reply::error(
            503,
            "ServiceUnavailableError",
            "The engine is overloaded",
            None,
        ));
    }
    // A fourth attempt would get the mock's normal answer and succeed.
    let error = provider_error(bounded("a completion", BOUND, h.complete(&config, hi())).await);
    let ProviderError::Server(e) = &error else {
        panic!("expected a server error, got {error:?}");
    };
    assert_eq!(e.status, 503);
    assert!(
        e.message.contains("The engine is overloaded"),
        "{}",
        e.message
    );
    assert!(e.message.contains("3 attempts"), "{}", e.message);
    let user = error.user_message();
    assert!(user.contains("HTTP 503"), "{user}");
    assert_eq!(server.chat_requests().len(), 3);
    assert_eq!(server.pending_replies(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_before_any_reply_is_retried_and_the_turn_succeeds() {
    let (h, server, config) = setup().await;
    // As vLLM's router answers while a replica it sent the session to is down.
    let router_500 = Reply::Raw {
        status: 500,
        content_type: Some("text/plain".to_owned()),
        body: b"Request failed: error sending request for url (http://127.0.0.1:9/v1/chat/completions)"
            .to_vec(),
    };
    for (i, reply) in [router_500, Reply::empty(502), Reply::empty(504)]
        .into_iter()
        .enumerate()
    {
        let before = server.chat_requests().len();
        server.push_reply(reply.clone());
        let (events, error) = stream(&h, &config).await;
        assert!(error.is_none(), "case {i}: {error:?}");
        assert!(!events.is_empty());
        server.push_reply(reply);
        complete(&h, &config)
            .await
            .expect("a completion after one 5xx");
        assert_eq!(
            server.chat_requests().len(),
            before + 4,
            "case {i}: one retry each"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_on_every_attempt_says_how_many_were_made() {
    let (h, server, config) = setup().await;
    server.push_replies(
        &Reply::error(500, "InternalServerError", "engine crashed", None),
        ATTEMPTS,
    );
    let (events, error) = stream(&h, &config).await;
    assert!(events.is_empty(), "{events:?}");
    match error {
        Some(CallError::Provider(ProviderError::Server(e))) => {
            assert_eq!(e.status, 500);
            assert!(e.message.contains("after 3 attempts"), "{}", e.message);
            assert!(
                e.message.contains("check the server's log"),
                "{}",
                e.message
            );
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    assert_eq!(server.chat_requests().len(), ATTEMPTS);
    // 501 is final: no retry changes it.
    server.push_reply(Reply::empty(501));
    match complete(&h, &config).await {
        Err(CallError::Provider(ProviderError::Server(e))) => assert_eq!(e.status, 501),
        other => panic!("expected a server error, got {other:?}"),
    }
    assert_eq!(server.chat_requests().len(), ATTEMPTS + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_is_not_retried_once_a_reply_started_nor_after_a_4xx() {
    let (h, server, config) = setup().await;

    // A 400: the server read the request and refused it.
    server.push_reply(Reply::error(400, "BadRequestError", "bad request", None));
    let (events, error) = stream(&h, &config).await;
    assert!(events.is_empty(), "{events:?}");
    match error {
        Some(CallError::Provider(ProviderError::BadRequest(_))) => {}
        other => panic!("expected a bad request, got {other:?}"),
    }
    assert_eq!(server.chat_requests().len(), 1, "a 400 is not retried");

    // A stream cut mid-way: its head and some text arrived.
    server.push_reply(Reply::cut_stream(MODEL, &["Hel", "lo"]));
    let (events, error) = stream(&h, &config).await;
    assert!(
        events.contains(&StreamEvent::TextDelta("Hel".into())),
        "{events:?}"
    );
    match error {
        Some(CallError::Provider(ProviderError::InvalidResponse(message))) => {
            assert!(message.contains("ended before"), "{message}");
        }
        other => panic!("expected an incomplete-stream error, got {other:?}"),
    }
    assert_eq!(
        server.chat_requests().len(),
        2,
        "a stream that started is never sent again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_rides_out_a_server_that_comes_up_late() {
    let h = plugin().await;
    let port = refused_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let config = config_for(&h, &format!("http://{addr}/v1")).await;
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        MockVllm::start_on(addr, MockOptions::default()).await
    });
    let models = bounded("discovery", BOUND, h.discover_models(&config))
        .await
        .expect("a later attempt reaches the server");
    assert!(models.iter().any(|m| m.id == MODEL), "{models:?}");
    let server = bounded("the late server", BOUND, late)
        .await
        .expect("the late server started");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/v1/models"),
        "{:?}",
        server.requests()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_against_a_port_that_stays_refused_gives_up_quickly() {
    let h = plugin().await;
    let authority = format!("127.0.0.1:{}", refused_port());
    let config = config_for(&h, &format!("http://{authority}/v1")).await;
    let started = Instant::now();
    let error = provider_error(bounded("discovery", BOUND, h.discover_models(&config)).await);
    let elapsed = started.elapsed();
    let ProviderError::Connection(e) = &error else {
        panic!("expected a connection error, got {error:?}");
    };
    assert_eq!(e.authority, authority);
    assert!(e.message.contains(&authority), "{}", e.message);
    assert!(e.message.contains("3 attempts"), "{}", e.message);
    assert!(
        elapsed < Duration::from_secs(5),
        "three refused attempts took {elapsed:?}"
    );
}
