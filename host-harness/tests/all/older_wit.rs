//! A plugin built against `vllm:provider@0.1.0` (kept in
//! `tests/fixtures/provider-0.1.0`) through this harness, which speaks
//! 0.2.0 too: the commands a user runs still work with it.

use serde_json::json;
use vllm_tests::artifacts::plugin_0_1_0_wasm;
use vllm_tests::mock::{MockModel, MockOptions, MockVllm};

use crate::common::cli_run::Cli;
use crate::common::doctor::statuses;
use crate::common::openclaw_config;

fn cli() -> Cli {
    Cli::with_key().plugin(&plugin_0_1_0_wasm())
}

fn server() -> MockVllm {
    MockVllm::start_blocking(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::with_models(vec![MockModel::base("mock-model")])
    })
}

#[test]
fn inspect_names_the_version() {
    let fixture = plugin_0_1_0_wasm();
    let path = fixture.to_str().expect("UTF-8 path");
    let run = Cli::new().run(&["inspect", "--json", path]);
    run.code(0);
    let report = run.json();
    assert_eq!(report["version"], "0.1.0");
    assert_eq!(report["accepted"], true);
    let text = Cli::new().run(&["inspect", path]);
    text.code(0);
    assert!(
        text.stdout.contains("Version   vllm:provider@0.1.0"),
        "{}",
        text.stdout
    );
}

#[test]
fn models_list_and_chat_streamed_and_not() {
    let server = server();
    let base = server.base_url();
    let cli = cli();
    let list = cli.run(&["--base-url", &base, "models", "list", "--json"]);
    list.code(0).keeps_the_key();
    let models = list.json()["models"].clone();
    assert_eq!(models[0]["id"], "mock-model");
    assert_eq!(models[0]["thinking"], serde_json::Value::Null);

    let streamed = cli.run(&["--base-url", &base, "chat", "--json", "hi there"]);
    streamed.code(0).keeps_the_key();
    let whole = cli.run(&[
        "--base-url",
        &base,
        "chat",
        "--no-stream",
        "--json",
        "hi there",
    ]);
    whole.code(0);
    assert_eq!(streamed.json()["text"], whole.json()["text"]);
    assert!(
        !streamed.json()["text"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    assert_eq!(streamed.json()["finishReason"], "stop");
}

#[test]
fn tool_calls_come_back_marked_as_the_servers() {
    let server = server();
    let cli = cli();
    let tools = cli.file(
        "tools.json",
        r#"[{"type": "function", "function": {"name": "get_weather",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]"#,
    );
    let tools = tools.to_str().expect("UTF-8 path");
    let run = cli.run(&[
        "--base-url",
        &server.base_url(),
        "chat",
        "--tools",
        tools,
        "--json",
        "weather?",
    ]);
    run.code(0);
    let calls = run.json()["toolCalls"].clone();
    assert_eq!(calls[0]["name"], "get_weather");
    assert_eq!(calls[0]["fromText"], false);
}

#[test]
fn what_0_1_0_has_no_place_for_is_named_not_sent() {
    let server = server();
    let run = cli().run(&[
        "--base-url",
        &server.base_url(),
        "chat",
        "--session",
        "conv-1",
        "--priority",
        "5",
        "hi",
    ]);
    run.code(0)
        .says("warning: this plugin speaks vllm:provider@0.1.0, which has no priority, session-id");
    let request = server.chat_requests().pop().expect("a chat request");
    assert!(
        !request
            .headers
            .iter()
            .any(|(name, _)| name == "x-session-id")
    );
    assert_eq!(request.json.expect("JSON").get("priority"), None);
}

#[test]
fn doctor_and_its_warnings_on_stderr() {
    let server = server();
    let cli = cli();
    let provider = format!(
        "        baseUrl: \"{}\",\n        bseUrl: \"typo\",",
        server.base_url()
    );
    let config = cli.file("openclaw.json", &openclaw_config(&provider, None));
    let config = config.to_str().expect("UTF-8 path");
    let run = cli.run(&["--config", config, "doctor", "--json"]);
    run.code(0)
        .keeps_the_key()
        .says("warning: models.providers.vllm.bseUrl is not a setting this provider knows");
    let report = run.json();
    assert_eq!(report["ok"], true, "{report}");
    let names: Vec<String> = statuses(&report)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(names.contains(&"completion".to_owned()), "{names:?}");
    assert_eq!(report["checks"][0]["status"], json!("pass"));
}
