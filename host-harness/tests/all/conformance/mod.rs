//! The conformance tier: the real component, through the harness and the
//! CLI, against real vLLM servers (`tests/vllm/vllm-local`). This is the
//! truth the mock server must agree with.
//!
//! `tests/run-all.sh` starts the servers and passes their base URLs in
//! `VLLM_CONFORMANCE_PLAIN` (no flags), `VLLM_CONFORMANCE_KEYED` (with
//! `--api-key $VLLM_CONFORMANCE_KEY`), `VLLM_CONFORMANCE_TOOLS` (hermes
//! tool parser and qwen3 reasoning parser) and `VLLM_CONFORMANCE_PRIORITY`
//! (`--scheduling-policy priority --max-num-seqs 1`, see [`priority`]), then
//! runs these tests with `--include-ignored`. A plain `cargo test` lists
//! them as ignored.

use serde_json::Value;
use vllm_harness::{
    AssistantMessage, ChatRequest, ConfigInput, ContentPart, FinishReason, KeyValue, Message,
    ProviderConfig, StreamEvent, Tool, ToolCall, ToolChoice, ToolResult,
};

mod priority;

use crate::common::cli_run::Cli;
use crate::common::{plugin, refused_port, words};

/// The id the local servers serve their model under.
const MODEL: &str = "tiny-chat";
/// `--max-model-len` of the local servers.
const CONTEXT: u32 = 2048;

fn server(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: the conformance tier runs through tests/run-all.sh, which starts real vLLM servers")
    })
}

fn plain() -> String {
    server("VLLM_CONFORMANCE_PLAIN")
}

fn tools_server() -> String {
    server("VLLM_CONFORMANCE_TOOLS")
}

/// The keyed server's base URL and its key.
fn keyed() -> (String, String) {
    (
        server("VLLM_CONFORMANCE_KEYED"),
        server("VLLM_CONFORMANCE_KEY"),
    )
}

/// A discovered configuration for `base`, as the CLI builds it.
async fn config(base: &str, key: Option<&str>) -> ProviderConfig {
    let h = plugin().await;
    let mut config = h
        .resolve_config(ConfigInput {
            provider_json: None,
            env: key
                .map(|k| KeyValue {
                    name: "VLLM_API_KEY".into(),
                    value: k.into(),
                })
                .into_iter()
                .collect(),
            auth_profile_key: None,
            base_url_override: Some(base.to_owned()),
        })
        .await
        .expect("resolve-config");
    config.models = h.discover_models(&config).await.expect("discovery");
    config
}

fn request(prompt: &str) -> ChatRequest {
    let mut request = ChatRequest::user_text(format!("vllm/{MODEL}"), prompt);
    request.sampling.temperature = Some(0.0);
    request.sampling.max_tokens = Some(64);
    request
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Get the current weather in a city".into()),
        parameters_json: r#"{"type":"object","properties":{"city":{"type":"string","description":"The city name"}},"required":["city"]}"#.into(),
    }
}

fn with_tool(prompt: &str, choice: ToolChoice) -> ChatRequest {
    let mut request = request(prompt);
    request.tools = vec![weather_tool()];
    request.tool_choice = Some(choice);
    request.sampling.max_tokens = Some(128);
    request
}

/// Text, reasoning, finished tool calls, usage and finish of a stream.
#[derive(Debug, Default)]
struct Streamed {
    text: String,
    reasoning: String,
    calls: Vec<ToolCall>,
    usage: Option<vllm_harness::Usage>,
    finish: Option<FinishReason>,
    last_is_finish: bool,
}

async fn stream(config: &ProviderConfig, request: ChatRequest) -> Streamed {
    let h = plugin().await;
    let events = h
        .stream(config, request)
        .await
        .expect("start the stream")
        .collect()
        .await
        .expect("a whole stream");
    let mut out = Streamed {
        last_is_finish: matches!(events.last(), Some(StreamEvent::Finish(_))),
        ..Streamed::default()
    };
    for event in events {
        match event {
            StreamEvent::TextDelta(t) => out.text.push_str(&t),
            StreamEvent::ReasoningDelta(r) => out.reasoning.push_str(&r),
            StreamEvent::ToolCallEnd(call) => out.calls.push(call),
            StreamEvent::Usage(u) => out.usage = Some(u),
            StreamEvent::Finish(f) => out.finish = Some(f),
            _ => {}
        }
    }
    out
}

fn assert_weather_call(calls: &[ToolCall], how: &str) {
    assert_eq!(calls.len(), 1, "{how}: one tool call, got {calls:?}");
    assert_eq!(calls[0].name, "get_weather", "{how}");
    let arguments: Value = serde_json::from_str(&calls[0].arguments).unwrap_or_else(|e| {
        panic!(
            "{how}: arguments are not JSON ({e}): {}",
            calls[0].arguments
        )
    });
    assert!(arguments.is_object(), "{how}: {arguments}");
    assert!(!calls[0].id.is_empty(), "{how}: the call has an id");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn discovery_reads_max_model_len_from_every_server() {
    let (keyed_url, key) = keyed();
    for (base, key) in [
        (plain(), None),
        (keyed_url, Some(key.as_str())),
        (tools_server(), None),
    ] {
        let config = config(&base, key).await;
        let [model] = config.models.as_slice() else {
            panic!("{base}: one model expected, got {:?}", config.models);
        };
        assert_eq!(model.id, MODEL, "{base}");
        assert_eq!(model.context_window, CONTEXT, "{base}: max_model_len");
        assert_eq!(model.max_tokens, CONTEXT, "{base}: never above the window");
        assert!(model.root.is_some(), "{base}: root is kept");
    }
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn models_list_json_shows_the_servers_context_window() {
    let run = Cli::new().run(&["--base-url", &plain(), "models", "list", "--json"]);
    run.code(0);
    let json = run.json();
    assert_eq!(json["count"], 1);
    assert_eq!(json["models"][0]["key"], format!("vllm/{MODEL}"));
    assert_eq!(json["models"][0]["contextWindow"], CONTEXT);
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn the_key_is_sent_only_when_set_and_a_wrong_one_is_exit_4() {
    let (base, key) = keyed();
    Cli::new()
        .env("VLLM_API_KEY", &key)
        .run(&["--base-url", &base, "models", "list", "--json"])
        .code(0);
    let missing = Cli::new().run(&["--base-url", &base, "models", "list"]);
    missing.code(4).says("VLLM_API_KEY");
    let wrong = Cli::with_key().run(&["--base-url", &base, "chat", "--model", MODEL, "hi"]);
    wrong.code(4).says("VLLM_API_KEY").keeps_the_key();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn complete_and_stream_give_the_same_reply_with_usage() {
    let config = config(&plain(), None).await;
    let h = plugin().await;
    let completion = h
        .complete(&config, request("Hello!"))
        .await
        .expect("complete");
    assert_eq!(completion.model, MODEL);
    assert!(!completion.text.trim().is_empty(), "{completion:?}");
    let usage = completion.usage.expect("usage");
    assert!(usage.input > 0 && usage.output > 0, "{usage:?}");
    assert_eq!(usage.total, usage.input + usage.output);

    let streamed = stream(&config, request("Hello!")).await;
    assert_eq!(streamed.text, completion.text, "greedy: the same text");
    let streamed_usage = streamed
        .usage
        .expect("usage while streaming (include_usage)");
    assert_eq!(streamed_usage.input, usage.input);
    assert!(streamed.last_is_finish, "finish is the last event");
    assert_eq!(streamed.finish, Some(completion.finish_reason));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn tool_calls_for_auto_required_and_named_choice() {
    let config = config(&tools_server(), None).await;
    let h = plugin().await;
    let prompt = "What is the weather in Paris?";
    for choice in [
        ToolChoice::Auto,
        ToolChoice::Required,
        ToolChoice::Named("get_weather".into()),
    ] {
        let how = format!("{choice:?}");
        let completion = h
            .complete(&config, with_tool(prompt, choice.clone()))
            .await
            .unwrap_or_else(|e| panic!("{how}: {e}"));
        assert_weather_call(&completion.tool_calls, &format!("{how}, not streamed"));
        let streamed = stream(&config, with_tool(prompt, choice)).await;
        assert_weather_call(&streamed.calls, &format!("{how}, streamed"));
        assert_eq!(
            streamed.calls[0].arguments, completion.tool_calls[0].arguments,
            "{how}: the stream assembles the same arguments"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn reasoning_is_kept_apart_from_the_text() {
    let config = config(&tools_server(), None).await;
    let h = plugin().await;
    let prompt = "Think step by step: what is 2 + 2?";
    let completion = h
        .complete(&config, request(prompt))
        .await
        .expect("complete");
    assert!(!completion.reasoning.trim().is_empty(), "{completion:?}");
    assert!(!completion.text.contains("<think>"), "{completion:?}");
    assert!(!completion.text.contains("</think>"), "{completion:?}");
    let streamed = stream(&config, request(prompt)).await;
    assert_eq!(streamed.reasoning, completion.reasoning);
    assert_eq!(streamed.text, completion.text);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn a_thinking_level_turns_the_templates_thinking_off_and_on() {
    let mut config = config(&tools_server(), None).await;
    // What an OpenClaw config says of a model with a Qwen 3 style template.
    for model in &mut config.models {
        model.reasoning = true;
        model.compat.thinking_format = Some(vllm_harness::ThinkingFormat::QwenChatTemplate);
    }
    let h = plugin().await;
    let prompt = "Think step by step: what is 2 + 2?";
    for streamed in [false, true] {
        let mut off = request(prompt);
        off.thinking = Some(vllm_harness::ThinkingLevel::Off);
        let mut on = request(prompt);
        on.thinking = Some(vllm_harness::ThinkingLevel::High);
        let (off, on) = if streamed {
            let (off, on) = (stream(&config, off).await, stream(&config, on).await);
            ((off.text, off.reasoning), (on.text, on.reasoning))
        } else {
            let off = h.complete(&config, off).await.expect("complete");
            let on = h.complete(&config, on).await.expect("complete");
            ((off.text, off.reasoning), (on.text, on.reasoning))
        };
        assert_eq!(
            off.1, "",
            "thinking off left reasoning (streamed: {streamed})"
        );
        assert_eq!(off.0.trim(), "2 + 2 = 4.", "streamed: {streamed}");
        assert!(
            !on.1.trim().is_empty(),
            "thinking on gave no reasoning (streamed: {streamed})"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn a_tool_result_turn_is_answered() {
    let config = config(&tools_server(), None).await;
    let h = plugin().await;
    let mut turn = with_tool("What is the weather in Paris?", ToolChoice::Auto);
    // With the qwen3 reasoning parser, vLLM 0.32 reads an answer that has
    // no `</think>` as reasoning; `enable_thinking: false` (passed through
    // as chat_template_kwargs) makes it plain content, as with real Qwen3.
    turn.chat_template_kwargs_json = Some(r#"{"enable_thinking": false}"#.into());
    turn.messages.push(Message::Assistant(AssistantMessage {
        text: None,
        reasoning: None,
        tool_calls: vec![ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city": "Paris"}"#.into(),
            from_text: false,
        }],
    }));
    turn.messages.push(Message::Tool(ToolResult {
        tool_call_id: "call_1".into(),
        content: r#"{"temperature": 18, "sky": "sunny"}"#.into(),
    }));
    let completion = h.complete(&config, turn).await.expect("complete");
    assert!(completion.tool_calls.is_empty(), "{completion:?}");
    assert!(!completion.text.trim().is_empty(), "{completion:?}");
    assert!(completion.reasoning.is_empty(), "{completion:?}");
    assert_ne!(completion.finish_reason, FinishReason::ToolCalls);
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn an_unknown_model_is_exit_5_naming_the_valid_ids() {
    let run = Cli::new().run(&["--base-url", &plain(), "chat", "--model", "nope", "hi"]);
    run.code(5).says("nope").says(MODEL);
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn a_prompt_over_the_context_is_exit_5_with_the_limit() {
    let prompt = words(3 * CONTEXT as usize);
    let run = Cli::new().run(&["--base-url", &plain(), "chat", "--model", MODEL, &prompt]);
    run.code(5).says("2048");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn max_tokens_over_the_context_is_clamped_not_an_error() {
    let config = config(&plain(), None).await;
    let h = plugin().await;
    let mut big = request("Hello!");
    big.sampling.max_tokens = Some(100_000);
    let completion = h
        .complete(&config, big)
        .await
        .expect("clamped, not refused");
    assert!(!completion.text.is_empty());
    let run = Cli::new().run(&[
        "--base-url",
        &plain(),
        "chat",
        "--model",
        MODEL,
        "--max-tokens",
        "100000",
        "Hello!",
    ]);
    run.code(0);
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn a_server_that_is_down_is_exit_3_naming_host_and_port() {
    // The real servers stay up; this is the port of one that is not there.
    let port = refused_port();
    let run = Cli::new().run(&[
        "--base-url",
        &format!("http://127.0.0.1:{port}/v1"),
        "models",
        "list",
    ]);
    run.code(3).says(&format!("127.0.0.1:{port}"));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn user_content_parts_are_accepted() {
    let config = config(&plain(), None).await;
    let h = plugin().await;
    let mut parts = request("");
    parts.messages = vec![Message::User(vec![
        ContentPart::Text("Hello!".into()),
        ContentPart::Text("".into()),
    ])];
    let completion = h
        .complete(&config, parts)
        .await
        .expect("a list of text parts is valid OpenAI input");
    assert!(!completion.text.is_empty());
}

// ---------------------------------------------------------------------------
// doctor
// ---------------------------------------------------------------------------

fn doctor_check(run: &crate::common::cli_run::Run, name: &str) -> Value {
    crate::common::doctor::check(&run.json(), name).clone()
}

fn status_of(run: &crate::common::cli_run::Run, name: &str) -> String {
    doctor_check(run, name)["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn doctor_passes_on_each_server_and_flags_the_ones_without_tool_parsing() {
    let tools = Cli::new().run(&["--base-url", &tools_server(), "doctor", "--json"]);
    tools.code(0);
    assert!(
        crate::common::doctor::statuses(&tools.json())
            .iter()
            .all(|(_, s)| s == "pass"),
        "{}",
        tools.stdout
    );
    assert_eq!(doctor_check(&tools, "version")["detail"], "vLLM 0.32.0");
    assert_eq!(
        doctor_check(&tools, "models")["detail"],
        format!("1 model: {MODEL} (context {CONTEXT})")
    );

    let plain_run = Cli::new().run(&["--base-url", &plain(), "doctor", "--json"]);
    plain_run.code(0);
    assert_eq!(
        status_of(&plain_run, "tools"),
        "warn",
        "{}",
        plain_run.stdout
    );
    assert!(
        doctor_check(&plain_run, "tools")["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--enable-auto-tool-choice")),
        "{}",
        plain_run.stdout
    );

    let (base, key) = keyed();
    let keyed_run = Cli::new()
        .env("VLLM_API_KEY", &key)
        .run(&["--base-url", &base, "doctor"]);
    keyed_run.code(0);
    assert!(
        keyed_run.stdout.contains("the server accepted the API key"),
        "{}",
        keyed_run.stdout
    );
    assert!(!keyed_run.stdout.contains(&key) && !keyed_run.stderr.contains(&key));
}

#[test]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
fn doctor_names_each_failure_with_its_fix_and_exit_code() {
    // Down: nothing listens on the port.
    let port = refused_port();
    let down = Cli::new().run(&[
        "--base-url",
        &format!("http://127.0.0.1:{port}/v1"),
        "doctor",
        "--json",
    ]);
    down.code(3);
    assert_eq!(status_of(&down, "reachable"), "fail");
    assert_eq!(status_of(&down, "health"), "skip");

    // Wrong port: something answers, but it is not vLLM.
    let other = vllm_tests::canned::CannedServer::not_vllm();
    let wrong_port = Cli::new().run(&["--base-url", &other.base_url(), "doctor", "--json"]);
    wrong_port.code(1);
    assert_eq!(status_of(&wrong_port, "health"), "fail");
    assert!(
        doctor_check(&wrong_port, "health")["fix"]
            .as_str()
            .is_some_and(|f| f.contains("check the port")),
        "{}",
        wrong_port.stdout
    );

    // Wrong key, and no key, for the server started with --api-key.
    let (base, _) = keyed();
    let wrong_key = Cli::with_key().run(&["--base-url", &base, "doctor", "--json"]);
    wrong_key.code(4).keeps_the_key();
    assert_eq!(status_of(&wrong_key, "auth"), "fail");
    assert_eq!(status_of(&wrong_key, "models"), "skip");
    let no_key = Cli::new().run(&["--base-url", &base, "doctor", "--json"]);
    no_key.code(4);
    let auth = doctor_check(&no_key, "auth");
    assert!(
        auth["detail"]
            .as_str()
            .is_some_and(|d| d.contains("requires an API key")),
        "{auth}"
    );
    assert!(
        auth["fix"]
            .as_str()
            .is_some_and(|f| f.contains("VLLM_API_KEY")),
        "{auth}"
    );

    // Unknown model: named, with the ids the server serves.
    let unknown = Cli::new().run(&[
        "--base-url",
        &tools_server(),
        "doctor",
        "--model",
        "vllm/nope",
        "--json",
    ]);
    unknown.code(5);
    let completion = doctor_check(&unknown, "completion");
    assert_eq!(completion["status"], "fail");
    assert!(
        completion["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`nope`") && d.contains(MODEL)),
        "{completion}"
    );

    // The server's root instead of its /v1 API.
    let root = plain().trim_end_matches("/v1").to_owned();
    let no_v1 = Cli::new().run(&["--base-url", &root, "doctor", "--json"]);
    no_v1.code(1);
    assert_eq!(status_of(&no_v1, "health"), "pass");
    assert_eq!(status_of(&no_v1, "models"), "fail");
}
