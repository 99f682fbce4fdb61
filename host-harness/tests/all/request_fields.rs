//! What `vllm:provider@0.2.0` added to a request (thinking level, priority,
//! session id), read from the requests the mock server received, through
//! the CLI as a user gives them.

use serde_json::{Value, json};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, RecordedRequest};

use crate::common::cli_run::Cli;
use crate::common::openclaw_config;

fn server(ids: &[&str], refuses_priority: bool) -> MockVllm {
    MockVllm::start_blocking(MockOptions {
        refuses_priority,
        ..MockOptions::with_models(ids.iter().map(|id| MockModel::base(id)).collect())
    })
}

/// The newest chat request `server` received.
fn last_chat(server: &MockVllm) -> RecordedRequest {
    server
        .chat_requests()
        .pop()
        .expect("a chat request reached the server")
}

fn body(request: &RecordedRequest) -> &Value {
    request.json.as_ref().expect("chat bodies are JSON")
}

/// A config listing `models` (JSON text of the entries) on `server`.
fn config(cli: &Cli, server: &MockVllm, models: &str) -> String {
    let provider = format!(
        "        baseUrl: \"{}\",\n        apiKey: \"${{VLLM_API_KEY}}\",\n        models: {models},",
        server.base_url()
    );
    let path = cli.file("openclaw.json", &openclaw_config(&provider, None));
    path.to_str().expect("UTF-8 path").to_owned()
}

#[test]
fn thinking_reaches_the_wire_as_the_models_template_takes_it() {
    let server = server(&["qwen3", "qwen-top", "plain"], false);
    let cli = Cli::with_key();
    let config = config(
        &cli,
        &server,
        r#"[
          {id: "qwen3", contextWindow: 2048, reasoning: true, compat: {thinkingFormat: "qwen-chat-template", supportedReasoningEfforts: ["low", "high"]}},
          {id: "qwen-top", contextWindow: 2048, reasoning: true, compat: {thinkingFormat: "qwen"}},
          {id: "plain", contextWindow: 2048},
        ]"#,
    );
    let chat = |model: &str, level: &str| {
        let run = cli.run(&[
            "--config",
            &config,
            "chat",
            "--model",
            model,
            "--thinking",
            level,
            "hi",
        ]);
        run.code(0).keeps_the_key();
        body(&last_chat(&server)).clone()
    };
    let off = chat("qwen3", "off");
    assert_eq!(
        off["chat_template_kwargs"],
        json!({"enable_thinking": false})
    );
    let high = chat("qwen3", "high");
    assert_eq!(
        high["chat_template_kwargs"],
        json!({"enable_thinking": true, "reasoning_effort": "high"})
    );
    let top = chat("qwen-top", "off");
    assert_eq!(top["enable_thinking"], false);
    assert_eq!(top.get("chat_template_kwargs"), None);
    let plain = chat("plain", "off");
    for field in [
        "chat_template_kwargs",
        "enable_thinking",
        "reasoning_effort",
    ] {
        assert_eq!(plain.get(field), None, "{field} in {plain}");
    }

    // models list --json says which models take a thinking level.
    let list = cli.run(&["--config", &config, "models", "list", "--json"]);
    list.code(0);
    let models = list.json()["models"].clone();
    assert_eq!(
        models[0]["thinking"],
        json!({"levels": ["off", "low", "high"], "defaultLevel": "off"})
    );
    assert_eq!(
        models[1]["thinking"],
        json!({"levels": ["off", "low"], "defaultLevel": "off"})
    );
    assert_eq!(models[2]["thinking"], Value::Null);
}

#[test]
fn model_families_the_provider_knows_by_id() {
    let server = server(&["deepseek-v4-flash", "nvidia/nemotron-3-nano"], false);
    let cli = Cli::with_key();
    let base = server.base_url();
    let run = |model: &str, level: &str| {
        cli.run(&[
            "--base-url",
            &base,
            "chat",
            "--model",
            model,
            "--thinking",
            level,
            "hi",
        ])
        .code(0);
        body(&last_chat(&server)).clone()
    };
    assert_eq!(
        run("deepseek-v4-flash", "high")["chat_template_kwargs"],
        json!({"thinking": true, "enable_thinking": true, "reasoning_effort": "high"})
    );
    assert_eq!(
        run("deepseek-v4-flash", "off")["chat_template_kwargs"],
        json!({"thinking": false, "enable_thinking": false})
    );
    assert_eq!(
        run("nvidia/nemotron-3-nano", "off")["chat_template_kwargs"],
        json!({"enable_thinking": false, "force_nonempty_content": true})
    );
    assert_eq!(
        run("nvidia/nemotron-3-nano", "high").get("chat_template_kwargs"),
        None
    );
}

#[test]
fn a_bad_thinking_level_is_a_usage_error_naming_the_levels() {
    Cli::with_key()
        .run(&[
            "--base-url",
            "http://127.0.0.1:9/v1",
            "chat",
            "--thinking",
            "on",
            "hi",
        ])
        .code(2)
        .says("off, minimal, low, medium, high, xhigh, max");
}

#[test]
fn priority_and_session_go_out_as_given() {
    let server = server(&["m"], false);
    let cli = Cli::with_key();
    let base = server.base_url();
    cli.run(&[
        "--base-url",
        &base,
        "chat",
        "--priority",
        "-100",
        "--session",
        "conv-42",
        "hi",
    ])
    .code(0)
    .keeps_the_key();
    let request = last_chat(&server);
    assert_eq!(body(&request)["priority"], -100);
    let sessions: Vec<&str> = request
        .headers
        .iter()
        .filter(|(name, _)| name == "x-session-id")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(sessions, ["conv-42"]);

    cli.run(&["--base-url", &base, "chat", "hi"]).code(0);
    let plain = last_chat(&server);
    assert_eq!(body(&plain).get("priority"), None);
    assert!(!plain.headers.iter().any(|(name, _)| name == "x-session-id"));

    // A session id that would break the header is refused before sending.
    let before = server.chat_requests().len();
    cli.run(&["--base-url", &base, "chat", "--session", "a\nb", "hi"])
        .code(2)
        .says("request.session-id")
        .says("line break");
    assert_eq!(server.chat_requests().len(), before, "nothing was sent");
}

#[test]
fn a_server_without_priority_scheduling_says_which_flag_to_add() {
    let server = server(&["m"], true);
    Cli::with_key()
        .run(&[
            "--base-url",
            &server.base_url(),
            "chat",
            "--priority",
            "100",
            "hi",
        ])
        .code(5)
        .says("Got priority 100 but Priority scheduling is not enabled.")
        .says("--scheduling-policy priority");
}
