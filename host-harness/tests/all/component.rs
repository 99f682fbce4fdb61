//! The real component (`vllm_provider.wasm`), loaded by the harness library
//! and run against the mock vLLM server on 127.0.0.1.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vllm_harness::{
    AssistantMessage, Authority, CallError, ChatRequest, CompileCache, Completion, ConfigInput,
    ContentPart, FinishReason, Harness, HarnessOptions, InputKind, KeyValue, Message, Model,
    PluginStream, ProviderConfig, ProviderError, ProviderMode, StreamEvent, StructuredOutput, Tool,
    ToolCall, ToolChoice, ToolResult, Usage, exit_code,
};
use vllm_tests::artifacts::plugin_wasm;
use vllm_tests::mock::shapes::{ChunkFactory, stream_error_payload};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, RecordedRequest, Reply};

use crate::common::{
    ATTEMPTS, KEY, TempDir, hygiene_problems, plugin, refused_port, shared_compile_cache, words,
};

/// Most events a test stream may produce before the test gives up.
const MAX_BATCHES: usize = 10_000;
/// How long a test waits for the mock to observe something.
const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn env(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(name, value)| KeyValue {
            name: (*name).to_owned(),
            value: (*value).to_owned(),
        })
        .collect()
}

fn input(provider: Option<Value>, env_pairs: &[(&str, &str)], base: Option<&str>) -> ConfigInput {
    ConfigInput {
        provider_json: provider.map(|v| v.to_string()),
        env: env(env_pairs),
        auth_profile_key: None,
        base_url_override: base.map(str::to_owned),
    }
}

/// Discover mode against `server` (through `--base-url`), with `key` as
/// `VLLM_API_KEY` when given; models not yet discovered.
async fn config_for(h: &Harness, server: &MockVllm, key: Option<&str>) -> ProviderConfig {
    let env_pairs: Vec<(&str, &str)> = key.map(|k| ("VLLM_API_KEY", k)).into_iter().collect();
    let config = h
        .resolve_config(input(None, &env_pairs, Some(&server.base_url())))
        .await
        .expect("resolve-config");
    assert_eq!(config.mode, ProviderMode::Discover);
    config
}

/// [`config_for`] with the server's models discovered into it, as a host
/// does so that context windows are known.
async fn discovered(h: &Harness, server: &MockVllm, key: Option<&str>) -> ProviderConfig {
    let mut config = config_for(h, server, key).await;
    config.models = h.discover_models(&config).await.expect("discover-models");
    config
}

async fn start(options: MockOptions) -> MockVllm {
    MockVllm::start(options).await
}

fn provider_error<T: std::fmt::Debug>(result: Result<T, CallError>) -> ProviderError {
    match result {
        Err(CallError::Provider(error)) => error,
        other => panic!("expected a provider error, got {other:?}"),
    }
}

/// Reads a stream to its end, bounded in batches.
async fn drain(mut stream: PluginStream) -> Result<Vec<StreamEvent>, CallError> {
    let mut events = Vec::new();
    for _ in 0..MAX_BATCHES {
        match stream.next().await? {
            Some(batch) => {
                assert!(!batch.is_empty(), "a batch is never empty");
                events.extend(batch);
            }
            None => return Ok(events),
        }
    }
    panic!("the stream did not end within {MAX_BATCHES} batches");
}

/// Streams `request` to its end.
async fn stream_all(
    h: &Harness,
    config: &ProviderConfig,
    request: ChatRequest,
) -> Result<Vec<StreamEvent>, CallError> {
    drain(h.stream(config, request).await?).await
}

/// What a stream adds up to.
#[derive(Debug, Default, PartialEq)]
struct Summary {
    model: Option<String>,
    text: String,
    reasoning: String,
    /// Started calls: (index, name).
    starts: Vec<(u32, String)>,
    /// Argument deltas concatenated per index.
    deltas: Vec<(u32, String)>,
    /// Completed calls: (name, arguments).
    calls: Vec<(String, String)>,
    usage: Vec<Usage>,
    finish: Vec<FinishReason>,
}

fn summarize(events: &[StreamEvent]) -> Summary {
    let mut s = Summary::default();
    for event in events {
        match event {
            StreamEvent::Model(model) => {
                assert!(s.model.is_none(), "the model event comes once");
                s.model = Some(model.clone());
            }
            StreamEvent::TextDelta(text) => s.text.push_str(text),
            StreamEvent::ReasoningDelta(text) => s.reasoning.push_str(text),
            StreamEvent::ToolCallStart(start) => s.starts.push((start.index, start.name.clone())),
            StreamEvent::ToolCallDelta(delta) => {
                match s.deltas.iter_mut().find(|(i, _)| *i == delta.index) {
                    Some((_, args)) => args.push_str(&delta.arguments),
                    None => s.deltas.push((delta.index, delta.arguments.clone())),
                }
            }
            StreamEvent::ToolCallEnd(call) => {
                s.calls.push((call.name.clone(), call.arguments.clone()))
            }
            StreamEvent::Usage(usage) => s.usage.push(*usage),
            StreamEvent::Finish(reason) => s.finish.push(reason.clone()),
        }
    }
    s
}

/// Events with the tool-call ids (fresh per generated reply) blanked.
fn without_ids(events: &[StreamEvent]) -> Vec<StreamEvent> {
    events
        .iter()
        .cloned()
        .map(|event| match event {
            StreamEvent::ToolCallStart(mut start) => {
                start.id.clear();
                StreamEvent::ToolCallStart(start)
            }
            StreamEvent::ToolCallEnd(mut call) => {
                call.id.clear();
                StreamEvent::ToolCallEnd(call)
            }
            other => other,
        })
        .collect()
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Weather for a city".into()),
        parameters_json: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        })
        .to_string(),
    }
}

fn time_tool() -> Tool {
    Tool {
        name: "get_time".into(),
        description: None,
        parameters_json: json!({
            "type": "object",
            "properties": {"tz": {"type": "string", "enum": ["UTC", "CET"]}},
            "required": ["tz"]
        })
        .to_string(),
    }
}

fn with_tools(model: &str, choice: Option<ToolChoice>) -> ChatRequest {
    let mut request = ChatRequest::user_text(model, "what is the weather in Oslo");
    request.tools = vec![weather_tool(), time_tool()];
    request.tool_choice = choice;
    request
}

fn hi(model: &str) -> ChatRequest {
    ChatRequest::user_text(model, "hi there")
}

/// The JSON bodies of the chat requests the mock received.
fn chat_bodies(server: &MockVllm) -> Vec<Value> {
    server
        .chat_requests()
        .into_iter()
        .map(|r| r.json.expect("chat bodies are JSON"))
        .collect()
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---------------------------------------------------------------------------
// Loading and resolve-config
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn component_loads_caches_and_its_exports_instantiate() {
    let cache = TempDir::new("cache");
    let wasm = tokio::task::spawn_blocking(plugin_wasm)
        .await
        .expect("build the plugin");
    let options = HarnessOptions {
        env_names: Vec::new(),
        cache: CompileCache::Dir(cache.path().to_owned()),
        ..HarnessOptions::default()
    };
    let load = {
        let (wasm, options) = (wasm.clone(), options.clone());
        move || Harness::load(wasm, options).expect("the component loads")
    };
    let cold = tokio::task::spawn_blocking(load.clone())
        .await
        .expect("load");
    let info = cold.load_info();
    assert!(!info.cache_hit, "a fresh cache cannot hit: {info:?}");
    assert_eq!(info.cache_warning, None);
    let file = info
        .cache_file
        .clone()
        .expect("the compiled form is cached");
    assert!(file.starts_with(cache.path()) && file.is_file(), "{file:?}");
    assert!(info.elapsed > Duration::ZERO);

    let warm = tokio::task::spawn_blocking(load).await.expect("load");
    assert!(warm.load_info().cache_hit, "{:?}", warm.load_info());
    assert_eq!(warm.load_info().cache_file.as_ref(), Some(&file));
    assert_eq!(warm.options(), &options);

    // Every export is typed and callable: resolve-config needs no server.
    for h in [&cold, &warm] {
        let config = h
            .resolve_config(input(None, &[], None))
            .await
            .expect("resolve-config");
        assert_eq!(config.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(config.mode, ProviderMode::Disabled);
        assert_eq!(config.api_key, None);
        assert!(config.timeout_ms > 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn explicit_config_lists_the_models_without_any_request() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let provider = json!({
        "baseUrl": format!("{}/", server.base_url()),
        "apiKey": "${VLLM_API_KEY}",
        "api": "openai-completions",
        "models": [
            {"id": "m1", "name": "Model One", "contextWindow": 4096, "maxTokens": 1024,
             "cost": {"input": 1.5, "output": 2, "cacheRead": 0.5, "cacheWrite": 0}},
            {"id": "vllm/deep-r1"}
        ]
    });
    let config = h
        .resolve_config(input(Some(provider), &[("VLLM_API_KEY", KEY)], None))
        .await
        .expect("resolve-config");
    assert_eq!(config.mode, ProviderMode::Explicit);
    assert!(
        config.reason.contains("discovery is skipped"),
        "{}",
        config.reason
    );
    assert_eq!(
        config.base_url,
        server.base_url(),
        "trailing slash normalised"
    );
    assert_eq!(config.api_key.as_deref(), Some(KEY));
    let ids: Vec<&str> = config.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m1", "deep-r1"]);
    let m1 = &config.models[0];
    assert_eq!(m1.name, "Model One");
    assert_eq!((m1.context_window, m1.max_tokens), (4096, 1024));
    assert_eq!(m1.cost.input, 1.5);
    assert!(!m1.reasoning);
    assert!(config.models[1].reasoning, "guessed from the id");
    assert_eq!(config.models[1].input, [InputKind::Text]);
    assert!(
        server.requests().is_empty(),
        "explicit mode makes no request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_api_key_in_the_environment_means_discover() {
    let h = plugin().await;
    let config = h
        .resolve_config(input(None, &[("VLLM_API_KEY", KEY)], None))
        .await
        .expect("resolve-config");
    assert_eq!(config.mode, ProviderMode::Discover);
    assert_eq!(config.base_url, "http://127.0.0.1:8000/v1");
    assert_eq!(config.api_key.as_deref(), Some(KEY));
    assert!(config.reason.contains("VLLM_API_KEY"), "{}", config.reason);
    assert!(!config.reason.contains(KEY), "{}", config.reason);
    assert!(config.models.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_configured_means_disabled_with_a_reason() {
    let h = plugin().await;
    // A variable other than VLLM_API_KEY opts in to nothing.
    let config = h
        .resolve_config(input(None, &[("OTHER_KEY", KEY)], None))
        .await
        .expect("resolve-config");
    assert_eq!(config.mode, ProviderMode::Disabled);
    assert!(config.reason.contains("VLLM_API_KEY"), "{}", config.reason);
    assert_eq!(config.api_key, None);
    // A disabled config refuses calls instead of reaching for the default URL.
    let error = provider_error(h.discover_models(&config).await);
    assert!(
        matches!(error, ProviderError::InvalidConfig(_)),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_override_opts_in_to_discovery() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let provider = json!({"baseUrl": "http://10.1.2.3:9999/v1"});
    let config = h
        .resolve_config(input(Some(provider), &[], Some(&server.base_url())))
        .await
        .expect("resolve-config");
    assert_eq!(config.mode, ProviderMode::Discover);
    assert_eq!(config.base_url, server.base_url(), "the override wins");
    assert_eq!(config.api_key, None);
    let alone = h
        .resolve_config(input(None, &[], Some(&server.base_url())))
        .await
        .expect("resolve-config");
    assert_eq!(alone.mode, ProviderMode::Discover);
    assert!(alone.reason.contains("base URL"), "{}", alone.reason);
    let models = h.discover_models(&alone).await.expect("discover");
    assert_eq!(models.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn variables_are_substituted_and_double_dollar_is_literal() {
    let h = plugin().await;
    let provider = json!({
        "baseUrl": "http://${VLLM_HOST}:8000/v1",
        "apiKey": "${MY_VLLM_KEY}",
        "headers": {"X-Team": "team-${TEAM_ID}", "X-Literal": "$${NOT_A_VAR}", "X-Dollar": "a$b"},
        "timeoutSeconds": 2.5
    });
    let config = h
        .resolve_config(input(
            Some(provider),
            &[
                ("VLLM_HOST", "127.0.0.1"),
                ("MY_VLLM_KEY", KEY),
                ("TEAM_ID", "42"),
            ],
            None,
        ))
        .await
        .expect("resolve-config");
    assert_eq!(config.base_url, "http://127.0.0.1:8000/v1");
    assert_eq!(config.api_key.as_deref(), Some(KEY));
    assert_eq!(config.timeout_ms, 2500);
    let header = |name: &str| {
        config
            .headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    };
    assert_eq!(header("X-Team"), Some("team-42"));
    assert_eq!(header("X-Literal"), Some("${NOT_A_VAR}"));
    assert_eq!(header("X-Dollar"), Some("a$b"));
    assert_eq!(
        config.mode,
        ProviderMode::Discover,
        "a section without models discovers"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_variable_names_the_config_path_and_not_the_key() {
    let h = plugin().await;
    for env_pairs in [
        vec![("VLLM_API_KEY", KEY)],
        vec![("VLLM_API_KEY", KEY), ("MISSING_KEY", "")],
    ] {
        let provider = json!({"apiKey": "${MISSING_KEY}", "headers": {"X-Key": KEY}});
        let error = provider_error(
            h.resolve_config(input(Some(provider), &env_pairs, None))
                .await,
        );
        let ProviderError::InvalidConfig(ref config_error) = error else {
            panic!("expected invalid-config, got {error:?}");
        };
        assert_eq!(config_error.path, "models.providers.vllm.apiKey");
        assert!(
            config_error.reason.contains("MISSING_KEY is not set"),
            "{config_error:?}"
        );
        // The hint names the variable: a reference is not a secret.
        assert!(
            config_error.reason.contains("$${MISSING_KEY}"),
            "{config_error:?}"
        );
        let shown = format!("{error:?} {}", error.user_message());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(
            error
                .user_message()
                .contains("models.providers.vllm.apiKey"),
            "{}",
            error.user_message()
        );
    }
}

// ---------------------------------------------------------------------------
// discover-models
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn discovery_reads_context_windows_and_lora_parents() {
    let h = plugin().await;
    let server = start(MockOptions::with_models(vec![
        MockModel::base("mock-model"),
        MockModel::base("qwen3-think").with_max_model_len(4096),
        MockModel::base("deepseek-r1-distill").with_max_model_len(32_768),
        MockModel::lora("sql-lora", "qwen3-think"),
    ]))
    .await;
    let config = config_for(&h, &server, None).await;
    let models = h.discover_models(&config).await.expect("discover");
    let by_id = |id: &str| -> &Model {
        models
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("{id} in {models:?}"))
    };
    assert_eq!(models.len(), 4);

    let base = by_id("mock-model");
    assert_eq!(base.name, "mock-model");
    assert_eq!((base.context_window, base.max_tokens), (2048, 2048));
    assert!(!base.reasoning);
    assert_eq!(base.input, [InputKind::Text]);
    assert_eq!(base.root.as_deref(), Some("/models/mock-model"));
    assert_eq!(base.parent, None);
    assert_eq!(base.cost.input + base.cost.output, 0.0);

    let think = by_id("qwen3-think");
    assert_eq!((think.context_window, think.max_tokens), (4096, 4096));
    assert!(think.reasoning, "think in the id");

    let r1 = by_id("deepseek-r1-distill");
    assert_eq!(r1.context_window, 32_768);
    assert_eq!(r1.max_tokens, 8192, "min(8192, window)");
    assert!(r1.reasoning, "r1 in the id");

    let lora = by_id("sql-lora");
    assert_eq!(lora.context_window, 4096, "inherits the parent's window");
    assert_eq!(lora.max_tokens, 4096);
    assert_eq!(lora.parent.as_deref(), Some("qwen3-think"));
    assert_eq!(lora.root.as_deref(), Some("/adapters/sql-lora"));
    assert!(!lora.reasoning);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/v1/models")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bearer_header_is_sent_only_with_a_key() {
    let h = plugin().await;
    let guarded = start(MockOptions {
        api_key: Some(KEY.into()),
        ..MockOptions::default()
    })
    .await;
    let config = config_for(&h, &guarded, Some(KEY)).await;
    let models = h
        .discover_models(&config)
        .await
        .expect("the key is accepted");
    assert_eq!(models[0].id, "mock-model");
    let seen = &guarded.requests()[0];
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    let open = start(MockOptions::default()).await;
    let config = config_for(&h, &open, None).await;
    h.discover_models(&config).await.expect("no key needed");
    let mut request = hi("mock-model");
    request.sampling.max_tokens = Some(4);
    h.complete(&config, request).await.expect("complete");
    for seen in open.requests() {
        assert_eq!(
            seen.header("authorization"),
            None,
            "{} {}",
            seen.method,
            seen.path
        );
    }
}

// ---------------------------------------------------------------------------
// complete
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn complete_returns_the_text_usage_and_model() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    let completion = h
        .complete(&config, hi("vllm/mock-model"))
        .await
        .expect("complete");
    assert_eq!(completion.model, "mock-model");
    assert_eq!(completion.text, "Hello! You said: hi there");
    assert_eq!(completion.reasoning, "");
    assert!(completion.tool_calls.is_empty());
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    let usage = completion.usage.expect("usage");
    // Mock tokens: 4 per message + 1 per word; 5 words out + the stop token.
    assert_eq!((usage.input, usage.output, usage.total), (6, 6, 12));
    assert_eq!(usage.cache_read, 0);
    assert_eq!(usage.cost, 0.0);
    let body = &chat_bodies(&server)[0];
    assert_eq!(body["model"], "mock-model", "the vllm/ prefix is stripped");
    assert_eq!(body.get("stream"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_reads_reasoning_from_the_reasoning_field() {
    let h = plugin().await;
    let server = start(MockOptions {
        models: vec![MockModel::base("qwen3-think")],
        reasoning_parser: true,
        ..MockOptions::default()
    })
    .await;
    let config = discovered(&h, &server, None).await;
    let completion = h
        .complete(&config, hi("qwen3-think"))
        .await
        .expect("complete");
    assert_eq!(completion.reasoning, "The user wrote 2 words.");
    assert_eq!(completion.text, "Hello! You said: hi there");
    assert!(!completion.text.contains("think>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_reads_reasoning_from_the_legacy_reasoning_content() {
    let h = plugin().await;
    let server = start(MockOptions {
        models: vec![MockModel::base("qwen3-think")],
        reasoning_parser: true,
        legacy_reasoning_field: true,
        ..MockOptions::default()
    })
    .await;
    let config = discovered(&h, &server, None).await;
    let completion = h
        .complete(&config, hi("qwen3-think"))
        .await
        .expect("complete");
    assert_eq!(completion.reasoning, "The user wrote 2 words.");
    assert_eq!(completion.text, "Hello! You said: hi there");

    let events = stream_all(&h, &config, hi("qwen3-think"))
        .await
        .expect("stream");
    let s = summarize(&events);
    assert_eq!(s.reasoning, "The user wrote 2 words.");
    assert_eq!(s.text, "Hello! You said: hi there");
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_splits_think_tags_when_the_server_has_no_parser() {
    let h = plugin().await;
    let server = start(MockOptions::with_models(vec![MockModel::base(
        "qwen3-think",
    )]))
    .await;
    let config = discovered(&h, &server, None).await;
    let completion = h
        .complete(&config, hi("qwen3-think"))
        .await
        .expect("complete");
    assert_eq!(completion.reasoning, "The user wrote 2 words.");
    assert_eq!(completion.text, "Hello! You said: hi there");
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_returns_tool_calls_with_json_arguments() {
    let h = plugin().await;
    let server = start(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    })
    .await;
    let config = discovered(&h, &server, None).await;
    let cases = [
        (
            Some(ToolChoice::Auto),
            "get_weather",
            FinishReason::ToolCalls,
        ),
        (None, "get_weather", FinishReason::ToolCalls),
        (
            Some(ToolChoice::Required),
            "get_weather",
            FinishReason::ToolCalls,
        ),
        // vLLM finishes a forced named call with `stop`.
        (
            Some(ToolChoice::Named("get_time".into())),
            "get_time",
            FinishReason::Stop,
        ),
    ];
    for (choice, name, finish) in cases {
        let completion = h
            .complete(&config, with_tools("mock-model", choice.clone()))
            .await
            .expect("complete");
        assert_eq!(completion.tool_calls.len(), 1, "{choice:?}: {completion:?}");
        let call = &completion.tool_calls[0];
        assert_eq!(call.name, name, "{choice:?}");
        assert!(!call.id.is_empty());
        let args = parse_json(&call.arguments);
        let expected = if name == "get_time" {
            json!({"tz": "UTC"})
        } else {
            json!({"city": "test"})
        };
        assert_eq!(args, expected, "{choice:?}");
        assert_eq!(completion.finish_reason, finish, "{choice:?}");
        assert_eq!(completion.text, "", "{choice:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn absent_or_empty_tool_calls_mean_none() {
    let h = plugin().await;
    for empty_tool_calls in [false, true] {
        let server = start(MockOptions {
            empty_tool_calls,
            ..MockOptions::default()
        })
        .await;
        let config = discovered(&h, &server, None).await;
        let completion = h
            .complete(&config, hi("mock-model"))
            .await
            .expect("complete");
        assert!(completion.tool_calls.is_empty(), "{completion:?}");
        assert_eq!(completion.text, "Hello! You said: hi there");
        assert_eq!(completion.finish_reason, FinishReason::Stop);
    }

    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    server.push_reply(Reply::empty_tool_calls_completion(
        "mock-model",
        "plain",
        Default::default(),
    ));
    let completion = h
        .complete(&config, hi("mock-model"))
        .await
        .expect("complete");
    assert!(completion.tool_calls.is_empty());
    assert_eq!(completion.text, "plain");

    server.push_reply(Reply::empty_tool_calls_stream(
        "mock-model",
        &["no ", "tools"],
    ));
    let events = stream_all(&h, &config, hi("mock-model"))
        .await
        .expect("stream");
    let s = summarize(&events);
    assert_eq!(s.text, "no tools");
    assert!(s.starts.is_empty() && s.calls.is_empty(), "{s:?}");
    assert_eq!(s.finish, [FinishReason::Stop]);
}

#[tokio::test(flavor = "multi_thread")]
async fn finish_reasons_stop_length_and_tool_calls() {
    let h = plugin().await;
    let server = start(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    })
    .await;
    let config = discovered(&h, &server, None).await;

    let stop = h.complete(&config, hi("mock-model")).await.expect("stop");
    assert_eq!(stop.finish_reason, FinishReason::Stop);

    let mut short = hi("mock-model");
    short.sampling.max_tokens = Some(2);
    let length = h.complete(&config, short.clone()).await.expect("length");
    assert_eq!(length.finish_reason, FinishReason::Length);
    assert_eq!(length.text, "Hello! You");
    assert_eq!(length.usage.map(|u| u.output), Some(2));
    let streamed = stream_all(&h, &config, short).await.expect("stream");
    assert_eq!(
        streamed.last(),
        Some(&StreamEvent::Finish(FinishReason::Length))
    );

    let tools = h
        .complete(&config, with_tools("mock-model", Some(ToolChoice::Auto)))
        .await
        .expect("tool calls");
    assert_eq!(tools.finish_reason, FinishReason::ToolCalls);
    let streamed = stream_all(
        &h,
        &config,
        with_tools("mock-model", Some(ToolChoice::Auto)),
    )
    .await
    .expect("stream");
    assert_eq!(
        streamed.last(),
        Some(&StreamEvent::Finish(FinishReason::ToolCalls))
    );

    server.push_reply(Reply::json_text(
        200,
        json!({"id": "x", "object": "chat.completion", "model": "mock-model",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "cut"},
                            "finish_reason": "abort"}]})
        .to_string(),
    ));
    let abort = h.complete(&config, hi("mock-model")).await.expect("abort");
    assert_eq!(abort.finish_reason, FinishReason::Abort);
}

// ---------------------------------------------------------------------------
// stream
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn stream_text_matches_complete_and_ends_with_usage_and_finish() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    let complete = h
        .complete(&config, hi("mock-model"))
        .await
        .expect("complete");
    let events = stream_all(&h, &config, hi("mock-model"))
        .await
        .expect("stream");

    assert_eq!(
        events.first(),
        Some(&StreamEvent::Model("mock-model".into()))
    );
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish(FinishReason::Stop))
    );
    let deltas = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::TextDelta(_)))
        .count();
    assert!(deltas >= 5, "one delta per token: {events:?}");
    let s = summarize(&events);
    assert_eq!(s.text, complete.text);
    assert_eq!(s.finish.len(), 1);
    assert_eq!(s.usage.len(), 1, "include_usage was sent: {events:?}");
    assert_eq!(Some(s.usage[0]), complete.usage);

    let bodies = chat_bodies(&server);
    let streamed = &bodies[1];
    assert_eq!(streamed["stream"], true);
    assert_eq!(streamed["stream_options"], json!({"include_usage": true}));
    assert_eq!(bodies[0].get("stream_options"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_events_do_not_depend_on_frame_boundaries() {
    let h = plugin().await;
    let options = |split: Option<usize>| MockOptions {
        models: vec![MockModel::base("qwen3-think")],
        reasoning_parser: true,
        auto_tool_choice: true,
        stream_split: split,
        ..MockOptions::default()
    };
    let requests = || {
        [
            hi("qwen3-think"),
            with_tools("qwen3-think", Some(ToolChoice::Auto)),
            with_tools("qwen3-think", Some(ToolChoice::Named("get_time".into()))),
        ]
    };

    let whole = start(options(None)).await;
    let config = discovered(&h, &whole, None).await;
    let mut reference = Vec::new();
    for request in requests() {
        let events = stream_all(&h, &config, request).await.expect("stream");
        reference.push(without_ids(&events));
    }
    let text = summarize(&reference[0]);
    assert_eq!(text.reasoning, "The user wrote 2 words.");
    assert_eq!(text.text, "Hello! You said: hi there");
    let auto = summarize(&reference[1]);
    assert_eq!(
        auto.calls,
        [("get_weather".to_owned(), r#"{"city": "test"}"#.to_owned())]
    );
    let named = summarize(&reference[2]);
    assert_eq!(
        named.calls,
        [("get_time".to_owned(), r#"{"tz": "UTC"}"#.to_owned())]
    );

    for split in [1, 2, 3, 7] {
        let server = start(options(Some(split))).await;
        let config = discovered(&h, &server, None).await;
        for (request, expected) in requests().into_iter().zip(&reference) {
            let events = stream_all(&h, &config, request).await.expect("stream");
            let events = without_ids(&events);
            assert_eq!(
                summarize(&events),
                summarize(expected),
                "frames of {split} bytes"
            );
            assert_eq!(&events, expected, "frames of {split} bytes");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_tool_calls_are_assembled_by_index() {
    let h = plugin().await;
    let server = start(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    })
    .await;
    let config = discovered(&h, &server, None).await;

    // A generated hermes stream: start, argument fragments, end.
    let events = stream_all(
        &h,
        &config,
        with_tools("mock-model", Some(ToolChoice::Required)),
    )
    .await
    .expect("stream");
    let s = summarize(&events);
    assert_eq!(s.starts, [(0, "get_weather".to_owned())]);
    assert_eq!(s.calls.len(), 1);
    assert_eq!(
        s.deltas[0].1, s.calls[0].1,
        "deltas add up to the final arguments"
    );
    assert_eq!(parse_json(&s.calls[0].1), json!({"city": "test"}));
    let start_at = events
        .iter()
        .position(|e| matches!(e, StreamEvent::ToolCallStart(_)))
        .expect("start");
    let end_at = events
        .iter()
        .position(|e| matches!(e, StreamEvent::ToolCallEnd(_)))
        .expect("end");
    assert!(start_at < end_at);

    // Two calls whose fragments interleave: assembled by index, not by order.
    let f = ChunkFactory::new("mock-model");
    server.push_reply(Reply::sse(vec![
        f.role(),
        f.tool_call_start(0, "call-a", "get_weather"),
        f.tool_call_start(1, "call-b", "get_time"),
        f.tool_call_arguments(0, "{\"city\": "),
        f.tool_call_arguments(1, "{\"tz\": \"UTC\"}"),
        f.tool_call_arguments(0, "\"Oslo\"}"),
        f.finish("tool_calls", Default::default()),
    ]));
    let events = stream_all(
        &h,
        &config,
        with_tools("mock-model", Some(ToolChoice::Auto)),
    )
    .await
    .expect("stream");
    let ends: Vec<&ToolCall> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallEnd(call) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 2, "{events:?}");
    assert_eq!(
        (ends[0].id.as_str(), ends[0].name.as_str()),
        ("call-a", "get_weather")
    );
    assert_eq!(parse_json(&ends[0].arguments), json!({"city": "Oslo"}));
    assert_eq!(
        (ends[1].id.as_str(), ends[1].name.as_str()),
        ("call-b", "get_time")
    );
    assert_eq!(parse_json(&ends[1].arguments), json!({"tz": "UTC"}));
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish(FinishReason::ToolCalls))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resent_final_arguments_chunk_is_not_doubled() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    let fragments = ["{\"city\"", ": \"Pa", "ris\", \"days\": ", "3}"];
    let whole = fragments.concat();
    for split in [None, Some(5)] {
        let reply =
            Reply::tool_call_stream_resending_arguments("mock-model", "get_weather", &fragments);
        server.push_reply(match split {
            Some(n) => reply.split(n),
            None => reply,
        });
        let events = stream_all(&h, &config, hi("mock-model"))
            .await
            .expect("stream");
        let s = summarize(&events);
        assert_eq!(s.calls.len(), 1, "{events:?}");
        assert_eq!(s.calls[0].1, whole, "not doubled");
        assert_eq!(
            parse_json(&s.calls[0].1),
            json!({"city": "Paris", "days": 3})
        );
        assert_eq!(
            s.deltas,
            [(0, whole.clone())],
            "deltas are not doubled either"
        );
        assert_eq!(s.finish, [FinishReason::ToolCalls]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn think_tags_split_across_chunks_are_taken_out_of_the_text() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    server.push_reply(Reply::text_stream(
        "mock-model",
        &[
            "<thi",
            "nk>I am ",
            "thinking<",
            "/th",
            "ink>",
            "The ",
            "answer <b>",
        ],
        None,
    ));
    let events = stream_all(&h, &config, hi("mock-model"))
        .await
        .expect("stream");
    let s = summarize(&events);
    assert_eq!(s.reasoning, "I am thinking");
    assert_eq!(s.text, "The answer <b>");
    for event in &events {
        if let StreamEvent::TextDelta(t) | StreamEvent::ReasoningDelta(t) = event {
            assert!(
                !t.contains('<') || t.contains("<b>"),
                "a tag leaked: {events:?}"
            );
        }
    }

    // And from a generated stream of a thinking model without a parser.
    let thinker = start(MockOptions::with_models(vec![MockModel::base(
        "qwen3-think",
    )]))
    .await;
    let config = discovered(&h, &thinker, None).await;
    let events = stream_all(&h, &config, hi("qwen3-think"))
        .await
        .expect("stream");
    let s = summarize(&events);
    assert_eq!(s.reasoning, "The user wrote 2 words.");
    assert_eq!(s.text, "Hello! You said: hi there");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mid_stream_error_is_a_typed_provider_error() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;

    server.push_reply(Reply::mid_stream_error(
        "mock-model",
        &["Hel", "lo"],
        "the engine died",
    ));
    let mut stream = h
        .stream(&config, hi("mock-model"))
        .await
        .expect("stream starts");
    let mut text = String::new();
    let mut error = None;
    for _ in 0..MAX_BATCHES {
        match stream.next().await {
            Ok(Some(batch)) => text.push_str(&summarize(&batch).text),
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    match error {
        Some(CallError::Provider(ProviderError::Server(e))) => {
            assert_eq!(e.status, 500);
            assert!(e.message.contains("the engine died"), "{e:?}");
        }
        other => panic!("expected a server error, got {other:?} after {text:?}"),
    }
    assert!(
        matches!(stream.next().await, Ok(None)),
        "an error ends the stream"
    );

    let f = ChunkFactory::new("mock-model");
    server.push_reply(Reply::sse(vec![
        f.role(),
        stream_error_payload(
            400,
            "BadRequestError",
            "This model's maximum context length is 2048 tokens. However, your prompt contains 3000 input tokens, which exceeds this limit even without any output tokens.",
        ),
    ]));
    let error = provider_error(stream_all(&h, &config, hi("mock-model")).await);
    match error {
        ProviderError::ContextLengthExceeded(e) => {
            assert_eq!(e.limit, Some(2048));
            assert_eq!(e.requested, Some(3000));
        }
        other => panic!("expected context-length-exceeded, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_stream_is_an_invalid_response_with_the_text_so_far() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    server.push_reply(Reply::cut_stream("mock-model", &["partial ", "answer"]));
    let error = provider_error(stream_all(&h, &config, hi("mock-model")).await);
    match &error {
        ProviderError::InvalidResponse(message) => {
            assert!(message.contains("partial answer"), "{message}");
        }
        other => panic!("expected invalid-response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_stream_closes_the_connection() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    let tokens: Vec<String> = (0..100).map(|i| format!("t{i} ")).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let interval = Duration::from_millis(50);
    server.push_reply(Reply::text_stream("mock-model", &tokens, None).paced(interval));

    let started = Instant::now();
    let mut stream = h.stream(&config, hi("mock-model")).await.expect("stream");
    let first = stream
        .next()
        .await
        .expect("first events")
        .expect("not ended");
    assert!(!first.is_empty());
    assert_eq!(server.disconnects(), 0);
    drop(stream);
    assert!(
        server.wait_for_disconnects(1, WAIT).await,
        "the mock never saw the client go away"
    );
    // The whole paced reply takes over 5 s; the drop ended it long before.
    assert!(
        started.elapsed() < interval * 100,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.chat_requests().len(), 1);
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_or_missing_key_is_an_auth_error_that_never_shows_the_key() {
    let h = plugin().await;
    let server = start(MockOptions {
        api_key: Some("the-servers-real-key".into()),
        ..MockOptions::default()
    })
    .await;

    let check = |error: ProviderError| {
        let ProviderError::Auth(message) = &error else {
            panic!("expected auth, got {error:?}");
        };
        let user = error.user_message();
        assert!(user.contains("VLLM_API_KEY"), "{user}");
        assert!(
            !format!("{message} {user} {error:?}").contains(KEY),
            "{user}"
        );
        assert!(!user.contains("the-servers-real-key"), "{user}");
    };

    let wrong = config_for(&h, &server, Some(KEY)).await;
    check(provider_error(h.discover_models(&wrong).await));
    check(provider_error(h.complete(&wrong, hi("mock-model")).await));
    check(provider_error(h.stream(&wrong, hi("mock-model")).await));

    let missing = config_for(&h, &server, None).await;
    let error = provider_error(h.discover_models(&missing).await);
    check(error.clone());
    assert!(
        error.user_message().contains("none was sent"),
        "{}",
        error.user_message()
    );

    // A server that echoes the key back in its 401 does not get it shown.
    let echo = start(MockOptions::default()).await;
    echo.push_reply(Reply::error(
        401,
        "Unauthorized",
        &format!("invalid key {KEY}"),
        None,
    ));
    let config = config_for(&h, &echo, Some(KEY)).await;
    check(provider_error(h.complete(&config, hi("mock-model")).await));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_model_names_it_and_lists_the_servers_ids() {
    let h = plugin().await;
    let server = start(MockOptions::with_models(vec![
        MockModel::base("mock-model"),
        MockModel::base("other-model"),
        MockModel::lora("sql-lora", "mock-model"),
    ]))
    .await;
    let config = discovered(&h, &server, None).await;
    for result in [
        h.complete(&config, hi("vllm/nope")).await.map(|_| ()),
        h.stream(&config, hi("nope")).await.map(|_| ()),
    ] {
        let error = provider_error(result);
        let ProviderError::ModelNotFound(e) = &error else {
            panic!("expected model-not-found, got {error:?}");
        };
        assert_eq!(e.model, "nope");
        assert_eq!(e.available, ["mock-model", "other-model", "sql-lora"]);
        assert!(e.message.contains("does not exist"), "{e:?}");
        let user = error.user_message();
        assert!(user.contains("`nope`"), "{user}");
        assert!(user.contains("mock-model, other-model, sql-lora"), "{user}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_over_the_window_is_context_length_exceeded() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    let long = ChatRequest::user_text("mock-model", words(2100));
    for result in [
        h.complete(&config, long.clone()).await.map(|_| ()),
        h.stream(&config, long).await.map(|_| ()),
    ] {
        let error = provider_error(result);
        let ProviderError::ContextLengthExceeded(e) = &error else {
            panic!("expected context-length-exceeded, got {error:?}");
        };
        assert_eq!(e.limit, Some(2048));
        // vLLM counts at most max_model_len + 1 tokens of a prompt and says
        // "at least 2049".
        assert_eq!(e.requested, Some(2049));
        assert!(
            error.user_message().contains("2048"),
            "{}",
            error.user_message()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_tokens_far_above_the_window_is_clamped_not_an_error() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;
    let prompt = words(400);
    // The plugin's estimate: 4 bytes a token plus 4 per message.
    let estimate = u64::try_from(prompt.len() / 4 + 4).expect("small");
    let mut request = ChatRequest::user_text("mock-model", prompt);
    request.sampling.max_tokens = Some(100_000);
    let completion = h.complete(&config, request.clone()).await.expect("clamped");
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    let events = stream_all(&h, &config, request).await.expect("clamped");
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish(FinishReason::Stop))
    );
    for body in chat_bodies(&server) {
        let max = body["max_completion_tokens"]
            .as_u64()
            .unwrap_or_else(|| panic!("max_completion_tokens in {body}"));
        assert!(
            max >= 1 && max <= 2048 - estimate,
            "{max} > 2048 - {estimate}"
        );
        assert_eq!(body.get("max_tokens"), None);
    }
    assert_eq!(server.chat_requests().len(), 2, "no retry was needed");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_names_the_address_and_says_to_check_vllm() {
    let h = plugin().await;
    let port = refused_port();
    let authority = format!("127.0.0.1:{port}");
    let config = h
        .resolve_config(input(
            None,
            &[("VLLM_API_KEY", KEY)],
            Some(&format!("http://{authority}/v1")),
        ))
        .await
        .expect("resolve-config");
    for result in [
        h.discover_models(&config).await.map(|_| ()),
        h.complete(&config, hi("m")).await.map(|_| ()),
        h.stream(&config, hi("m")).await.map(|_| ()),
    ] {
        let error = provider_error(result);
        let ProviderError::Connection(e) = &error else {
            panic!("expected connection, got {error:?}");
        };
        assert_eq!(e.authority, authority);
        let user = error.user_message();
        assert!(user.contains(&authority), "{user}");
        assert!(user.contains("vLLM is running"), "{user}");
        assert!(!user.contains(KEY), "{user}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operators_pin_wins_over_the_configured_base_url() {
    // The configuration comes from the plugin's own resolve-config; an
    // operator who pins the authority must not be overruled by it.
    let server = start(MockOptions::default()).await;
    let pinned = format!("127.0.0.1:{}", refused_port());
    let h = tokio::task::spawn_blocking({
        let pinned = pinned.clone();
        move || {
            Harness::load(
                plugin_wasm(),
                HarnessOptions {
                    env_names: Vec::new(),
                    cache: CompileCache::Dir(shared_compile_cache()),
                    allowed_authority: Some(
                        Authority::from_url(&format!("http://{pinned}/")).expect("authority"),
                    ),
                    ..HarnessOptions::default()
                },
            )
            .expect("the component loads")
        }
    })
    .await
    .expect("load");
    let config = h
        .resolve_config(input(None, &[], Some(&server.base_url())))
        .await
        .expect("resolve-config needs no network");
    let result = h.discover_models(&config).await;
    let exit = result.as_ref().err().map(exit_code);
    let error = provider_error(result);
    let ProviderError::Denied(message) = &error else {
        panic!("expected denied, got {error:?}");
    };
    assert!(
        message.contains(&server.authority()),
        "names what was refused: {message}"
    );
    assert!(
        message.contains(&pinned),
        "names what is allowed: {message}"
    );
    assert_eq!(exit, Some(6));
    assert!(server.requests().is_empty(), "nothing reached the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_flat_errors_are_parsed() {
    let h = plugin().await;
    let server = start(MockOptions {
        legacy_error_shape: true,
        ..MockOptions::default()
    })
    .await;
    let config = discovered(&h, &server, None).await;
    let error = provider_error(h.complete(&config, hi("nope")).await);
    assert!(
        matches!(&error, ProviderError::ModelNotFound(e) if e.model == "nope" && e.available == ["mock-model"]),
        "{error:?}"
    );

    // Without known models no output budget is sent, so nothing is retried.
    let bare = config_for(&h, &server, None).await;
    server.push_reply(Reply::legacy_error(
        400,
        "BadRequestError",
        "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens (2000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
        None,
    ));
    let error = provider_error(h.complete(&bare, hi("mock-model")).await);
    match error {
        ProviderError::ContextLengthExceeded(e) => {
            assert_eq!((e.limit, e.requested), (Some(2048), Some(3000)));
        }
        other => panic!("expected context-length-exceeded, got {other:?}"),
    }

    server.push_reply(Reply::legacy_error(
        400,
        "BadRequestError",
        "temperature must be non-negative",
        Some("temperature"),
    ));
    let error = provider_error(h.complete(&bare, hi("mock-model")).await);
    assert!(
        matches!(&error, ProviderError::BadRequest(m) if m.contains("temperature must be non-negative")),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn html_pages_and_empty_bodies_are_server_errors_with_a_useful_message() {
    let h = plugin().await;
    let server = start(MockOptions::default()).await;
    let config = discovered(&h, &server, None).await;

    server.push_replies(
        &Reply::html(
            502,
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
        ),
        ATTEMPTS,
    );
    let error = provider_error(h.complete(&config, hi("mock-model")).await);
    let ProviderError::Server(e) = &error else {
        panic!("expected server, got {error:?}");
    };
    assert_eq!(e.status, 502);
    assert!(e.message.contains("502 Bad Gateway"), "{e:?}");
    assert!(
        !e.message.contains("<html"),
        "the page is summarised: {e:?}"
    );

    server.push_replies(&Reply::empty(500), ATTEMPTS);
    let error = provider_error(h.stream(&config, hi("mock-model")).await);
    let ProviderError::Server(e) = &error else {
        panic!("expected server, got {error:?}");
    };
    assert_eq!(e.status, 500);
    assert!(
        e.message.contains("500") && e.message.contains("empty"),
        "{e:?}"
    );
    let user = error.user_message();
    assert!(user.contains("HTTP 500"), "{user}");
}

// ---------------------------------------------------------------------------
// request hygiene
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn requests_carry_no_openai_only_fields_and_no_attribution_headers() {
    let h = plugin().await;
    let server = start(MockOptions {
        models: vec![MockModel::base("qwen3-think")],
        auto_tool_choice: true,
        reasoning_parser: true,
        ..MockOptions::default()
    })
    .await;
    let mut config = discovered(&h, &server, Some(KEY)).await;
    config.headers.push(KeyValue {
        name: "X-Team".into(),
        value: "blue".into(),
    });
    let model = "vllm/qwen3-think";

    let mut sampled = hi(model);
    sampled.sampling.temperature = Some(0.7);
    sampled.sampling.top_p = Some(0.9);
    sampled.sampling.max_tokens = Some(64);
    sampled.sampling.stop = vec!["END".into()];
    sampled.sampling.seed = Some(7);
    sampled.sampling.presence_penalty = Some(0.1);
    sampled.sampling.frequency_penalty = Some(0.2);
    sampled.sampling.top_k = Some(40);
    sampled.sampling.min_p = Some(0.05);
    sampled.sampling.repetition_penalty = Some(1.1);
    sampled.chat_template_kwargs_json = Some(r#"{"enable_thinking": false}"#.into());
    sampled.structured_output = Some(StructuredOutput::JsonObject);

    let mut regex = hi(model);
    regex.structured_output = Some(StructuredOutput::Vllm(r#"{"regex": "[a-z]+"}"#.into()));

    let mut history = with_tools(model, Some(ToolChoice::Auto));
    history.messages = vec![
        Message::System("be brief".into()),
        Message::User(vec![
            ContentPart::Text("weather?".into()),
            ContentPart::ImageUrl("data:image/png;base64,AAAA".into()),
        ]),
        Message::Assistant(AssistantMessage {
            text: None,
            reasoning: Some("they want weather".into()),
            tool_calls: vec![ToolCall {
                id: "call-1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Oslo"}"#.into(),
                from_text: false,
            }],
        }),
        Message::Tool(ToolResult {
            tool_call_id: "call-1".into(),
            content: "sunny".into(),
        }),
    ];

    let mut no_tools_but_choice = hi(model);
    no_tools_but_choice.tool_choice = Some(ToolChoice::Auto);

    let requests = [
        sampled,
        regex,
        history,
        no_tools_but_choice,
        with_tools(model, None),
        with_tools(model, Some(ToolChoice::Auto)),
        with_tools(model, Some(ToolChoice::Required)),
        with_tools(model, Some(ToolChoice::None)),
        with_tools(model, Some(ToolChoice::Named("get_time".into()))),
    ];
    for request in requests {
        let completion: Completion = h
            .complete(&config, request.clone())
            .await
            .unwrap_or_else(|e| panic!("complete {request:?}: {e}"));
        assert_eq!(completion.model, "qwen3-think");
        stream_all(&h, &config, request.clone())
            .await
            .unwrap_or_else(|e| panic!("stream {request:?}: {e}"));
    }

    let recorded = server.requests();
    assert_eq!(server.chat_requests().len(), 18);
    let mut problems = Vec::new();
    for request in &recorded {
        for problem in hygiene_problems(request) {
            problems.push(format!("{} {}: {problem}", request.method, request.path));
        }
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        if request.is_chat() {
            assert_eq!(
                request.header("x-team"),
                Some("blue"),
                "configured headers are sent"
            );
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // What was asked for did arrive.
    let bodies = chat_bodies(&server);
    let first = &bodies[0];
    assert_eq!(first["temperature"], 0.7);
    assert_eq!(first["top_p"], 0.9);
    assert_eq!(first["max_completion_tokens"], 64);
    assert_eq!(first["stop"], json!(["END"]));
    assert_eq!(first["seed"], 7);
    assert_eq!(first["top_k"], 40);
    assert_eq!(first["min_p"], 0.05);
    assert_eq!(first["repetition_penalty"], 1.1);
    assert_eq!(
        first["chat_template_kwargs"],
        json!({"enable_thinking": false})
    );
    assert_eq!(first["response_format"], json!({"type": "json_object"}));
    assert_eq!(bodies[2]["structured_outputs"], json!({"regex": "[a-z]+"}));
    let no_tools = &bodies[6];
    assert_eq!(no_tools.get("tools"), None, "no tools: no tools array");
    assert_eq!(
        no_tools.get("tool_choice"),
        None,
        "no tools: no tool_choice"
    );
    let named = &bodies[16];
    assert_eq!(
        named["tool_choice"],
        json!({"type": "function", "function": {"name": "get_time"}})
    );
    let history = &bodies[4]["messages"];
    assert_eq!(
        history[2]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(history[3]["tool_call_id"], "call-1");
    assert_eq!(history[1]["content"][1]["type"], "image_url");
}

/// The checker above must itself catch what it looks for.
#[test]
fn the_hygiene_checker_flags_every_kind_of_problem() {
    let request = |headers: Vec<(&str, &str)>, body: Value| RecordedRequest {
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        query: None,
        headers: headers
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        body: body.to_string().into_bytes(),
        json: Some(body),
    };
    let dirty = request(
        vec![
            ("x-stainless-os", "Linux"),
            ("user-agent", "OpenAI/Python 1.0"),
            ("x-title", "OpenClaw"),
        ],
        json!({"model": "m", "messages": [], "store": false, "user": "u", "max_tokens": 5,
               "stream_options": {"include_usage": true}, "tools": []}),
    );
    let problems = hygiene_problems(&dirty);
    for expected in [
        "x-stainless-os",
        "user-agent",
        "x-title",
        "`store`",
        "`user`",
        "max_tokens",
        "max_completion_tokens",
        "without stream",
        "empty tools",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected} not flagged: {problems:?}"
        );
    }
    let strict = request(
        vec![],
        json!({"model": "m", "messages": [], "max_completion_tokens": 5, "stream": true,
               "tools": [{"type": "function", "function": {"name": "f", "strict": true}}]}),
    );
    let problems = hygiene_problems(&strict);
    assert_eq!(problems.len(), 2, "{problems:?}");
    let clean = request(
        vec![
            ("user-agent", "wasi-http"),
            ("content-type", "application/json"),
        ],
        json!({"model": "m", "messages": [], "max_completion_tokens": 5, "stream": true,
               "stream_options": {"include_usage": true}}),
    );
    assert_eq!(hygiene_problems(&clean), Vec::<String>::new());
}
