//! Every size limit, hit for real through the component and the harness,
//! and an error that names the limit: a whole response body (16 MiB, also
//! for `GET /models`), one SSE line (4 MiB), one tool call's arguments
//! (256 KiB), and the host's own cap on response bodies.

use vllm_harness::{
    CallError, ChatRequest, CompileCache, ConfigInput, Harness, HarnessOptions, ProviderConfig,
    ProviderError,
};
use vllm_tests::artifacts::plugin_wasm;
use vllm_tests::mock::shapes::{ChunkFactory, Delta, DeltaToolCall};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply};

use crate::common::streams::read_stream;
use crate::common::{plugin, shared_compile_cache};

const MODEL: &str = "mock-model";
const MIB: usize = 1024 * 1024;

async fn config_for(h: &Harness, server: &MockVllm) -> ProviderConfig {
    h.resolve_config(ConfigInput {
        provider_json: None,
        env: Vec::new(),
        auth_profile_key: None,
        base_url_override: Some(server.base_url()),
    })
    .await
    .expect("resolve-config")
}

fn invalid_response<T: std::fmt::Debug>(result: Result<T, CallError>) -> String {
    match result {
        Err(CallError::Provider(ProviderError::InvalidResponse(message))) => message,
        other => panic!("expected invalid-response, got {other:?}"),
    }
}

/// Reads a stream to its error (bounded in batches).
async fn stream_error(h: &Harness, config: &ProviderConfig) -> CallError {
    match read_stream(h, config, ChatRequest::user_text(MODEL, "hi")).await {
        (_, Some(error)) => error,
        (_, None) => panic!("the stream ended without the expected error"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_models_list_over_16_mib_is_refused_naming_the_limit() {
    let h = plugin().await;
    // 150 000 models with 100-byte ids: about 40 MiB of JSON.
    let models = (0..150_000)
        .map(|i| MockModel::base(&format!("{i:0>100}")))
        .collect();
    let server = MockVllm::start(MockOptions::with_models(models)).await;
    let config = config_for(&h, &server).await;
    let message = invalid_response(h.discover_models(&config).await);
    assert!(message.contains("/v1/models"), "{message}");
    assert!(
        message.contains(&format!("{} bytes (the limit)", 16 * MIB)),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completion_body_over_16_mib_is_refused_naming_the_limit() {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let config = config_for(&h, &server).await;
    let text = "x".repeat(17 * MIB);
    let body = format!(
        r#"{{"model":"{MODEL}","choices":[{{"index":0,"message":{{"content":"{text}"}},"finish_reason":"stop"}}]}}"#
    );
    server.push_reply(Reply::json_text(200, body));
    let message = invalid_response(
        h.complete(&config, ChatRequest::user_text(MODEL, "hi"))
            .await,
    );
    assert!(
        message.contains(&format!("{} bytes (the limit)", 16 * MIB)),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sse_line_over_4_mib_is_refused_naming_the_limit() {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let config = config_for(&h, &server).await;
    let mut bytes = b"data: ".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 5 * MIB));
    server.push_reply(Reply::SseRaw {
        bytes,
        split: Some(64 * 1024),
    });
    let message = match stream_error(&h, &config).await {
        CallError::Provider(ProviderError::InvalidResponse(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(
        message.contains(&format!("longer than {} bytes (the limit)", 4 * MIB)),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_call_arguments_over_256_kib_are_refused_naming_the_limit() {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let config = config_for(&h, &server).await;
    let f = ChunkFactory::new(MODEL);
    let mut events = vec![f.role(), f.tool_call_start(0, "call-1", "f")];
    let fragment = format!("\"{}", "a".repeat(64 * 1024));
    for _ in 0..5 {
        events.push(f.tool_call_arguments(0, &fragment));
    }
    events.push(f.finish(
        "tool_calls",
        Delta::hermes_tool_calls(vec![DeltaToolCall::arguments(0, "\"")]),
    ));
    server.push_reply(Reply::sse(events));
    let message = match stream_error(&h, &config).await {
        CallError::Provider(ProviderError::InvalidResponse(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(
        message.contains(&format!("exceed {} bytes (the limit)", 256 * 1024)),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hosts_body_cap_cuts_a_response_and_says_so() {
    // A host that takes at most 1 MiB per response body.
    let h = tokio::task::spawn_blocking(|| {
        Harness::load(
            plugin_wasm(),
            HarnessOptions {
                max_response_bytes: MIB as u64,
                cache: CompileCache::Dir(shared_compile_cache()),
                ..HarnessOptions::default()
            },
        )
        .expect("the component loads")
    })
    .await
    .expect("loading does not panic");
    let server = MockVllm::start(MockOptions::default()).await;
    let config = config_for(&h, &server).await;
    let text = "y".repeat(2 * MIB);
    let body = format!(
        r#"{{"model":"{MODEL}","choices":[{{"index":0,"message":{{"content":"{text}"}},"finish_reason":"stop"}}]}}"#
    );
    server.push_reply(Reply::json_text(200, body));
    let error = h
        .complete(&config, ChatRequest::user_text(MODEL, "hi"))
        .await
        .expect_err("a body past the host's cap");
    let text = error.to_string();
    assert!(
        text.contains(&format!("at its limit of {MIB} bytes")),
        "{text}"
    );
}
