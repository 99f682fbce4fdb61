//! The real `vllm-harness` binary, run with a cleared environment against
//! the mock vLLM server: what a user sees, and the exit codes scripts use.

use serde_json::{Value, json};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply};

use crate::common::cli_run::Cli;
use crate::common::{ATTEMPTS, KEY, openclaw_config, refused_port, words};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn mock(options: MockOptions) -> MockVllm {
    MockVllm::start_blocking(options)
}

fn models(ids: &[&str]) -> MockOptions {
    MockOptions::with_models(ids.iter().map(|id| MockModel::base(id)).collect())
}

/// The JSON bodies of the chat requests the mock received.
fn chat_bodies(server: &MockVllm) -> Vec<Value> {
    server
        .chat_requests()
        .into_iter()
        .map(|r| r.json.expect("chat bodies are JSON"))
        .collect()
}

const TOOLS: &str = r#"[
  {"type": "function", "function": {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
  }}
]"#;

// ---------------------------------------------------------------------------
// models list
// ---------------------------------------------------------------------------

#[test]
fn models_list_json_has_the_documented_shape() {
    let server = mock(MockOptions::with_models(vec![
        MockModel::base("mock-model"),
        MockModel::base("qwen3-think").with_max_model_len(4096),
        MockModel::lora("sql-lora", "qwen3-think"),
    ]));
    let run = Cli::with_key().run(&["--base-url", &server.base_url(), "models", "list", "--json"]);
    run.code(0).keeps_the_key();
    let expected = concat!(
        r#"{"count":3,"models":["#,
        r#"{"key":"vllm/mock-model","id":"mock-model","name":"mock-model","contextWindow":2048,"maxTokens":2048,"reasoning":false,"input":["text"],"root":"/models/mock-model","parent":null,"thinking":null},"#,
        r#"{"key":"vllm/qwen3-think","id":"qwen3-think","name":"qwen3-think","contextWindow":4096,"maxTokens":4096,"reasoning":true,"input":["text"],"root":"/models/qwen3-think","parent":null,"thinking":null},"#,
        r#"{"key":"vllm/sql-lora","id":"sql-lora","name":"sql-lora","contextWindow":4096,"maxTokens":4096,"reasoning":false,"input":["text"],"root":"/adapters/sql-lora","parent":"qwen3-think","thinking":null}"#,
        "]}\n"
    );
    assert_eq!(run.stdout, expected);
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/models");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[test]
fn models_list_table_has_the_openclaw_columns() {
    let server = mock(MockOptions::with_models(vec![
        MockModel::base("mock-model"),
        MockModel::base("qwen3-think").with_max_model_len(131_072),
        MockModel::lora("sql-lora", "qwen3-think"),
    ]));
    let run = Cli::with_key().run(&["--base-url", &server.base_url(), "models", "list"]);
    run.code(0).keeps_the_key();
    let lines: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert_eq!(lines[0], ["Model", "Input", "Ctx", "Local", "Auth", "Tags"]);
    assert_eq!(
        lines[1],
        ["vllm/mock-model", "text", "2k", "yes", "yes", "discovered"]
    );
    assert_eq!(
        lines[2],
        [
            "vllm/qwen3-think",
            "text",
            "128k",
            "yes",
            "yes",
            "reasoning,discovered"
        ]
    );
    assert_eq!(
        lines[3],
        [
            "vllm/sql-lora",
            "text",
            "128k",
            "yes",
            "yes",
            "discovered,lora"
        ]
    );
}

#[test]
fn an_explicit_json5_config_lists_its_models_without_a_request() {
    let server = mock(MockOptions::default());
    let cli = Cli::with_key();
    let provider = format!(
        r#"        baseUrl: "{}", // the mock; never contacted
        apiKey: "${{VLLM_API_KEY}}",
        api: "openai-completions",
        models: [
          {{ id: "configured-a", contextWindow: 8192, maxTokens: 1024, }},
          {{ id: "configured-r1", name: "R1", }},
        ],"#,
        server.base_url()
    );
    let config = cli.file(
        "openclaw.json",
        &openclaw_config(&provider, Some("vllm/configured-a")),
    );
    let config = config.to_str().expect("UTF-8 path");

    let run = cli.run(&["--config", config, "models", "list", "--json"]);
    run.code(0).keeps_the_key();
    let list = run.json();
    assert_eq!(list["count"], 2);
    let a = &list["models"][0];
    assert_eq!(a["key"], "vllm/configured-a");
    assert_eq!(
        (a["contextWindow"].as_u64(), a["maxTokens"].as_u64()),
        (Some(8192), Some(1024))
    );
    let r1 = &list["models"][1];
    assert_eq!(r1["name"], "R1");
    assert_eq!(r1["reasoning"], true);
    assert_eq!(r1["root"], Value::Null);

    let table = cli.run(&["--config", config, "models", "list"]);
    table.code(0);
    let rows: Vec<&str> = table.stdout.lines().collect();
    assert!(
        rows[1].starts_with("vllm/configured-a") && rows[1].ends_with("default,configured"),
        "{}",
        table.stdout
    );
    assert!(rows[2].contains("reasoning,configured"), "{}", table.stdout);
    assert!(rows[1].contains(" 8k "), "{}", table.stdout);

    assert!(server.requests().is_empty(), "explicit mode made a request");
}

#[test]
fn models_list_for_another_provider_is_a_usage_error() {
    let run = Cli::with_key().run(&["models", "list", "--provider", "other"]);
    run.code(2).says("`other`").says("`vllm`").keeps_the_key();
    assert!(run.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// chat
// ---------------------------------------------------------------------------

#[test]
fn chat_streams_the_reply_and_no_stream_prints_the_same() {
    let server = mock(MockOptions::default());
    let base = server.base_url();
    let cli = Cli::with_key();
    let streamed = cli.run(&["--base-url", &base, "chat", "hi there"]);
    streamed.code(0).keeps_the_key();
    assert_eq!(streamed.stdout, "Hello! You said: hi there\n");
    streamed.says("[stop] 6 input + 6 output = 12 tokens");

    let whole = cli.run(&["--base-url", &base, "chat", "--no-stream", "hi there"]);
    whole.code(0);
    assert_eq!(whole.stdout, streamed.stdout);
    whole.says("[stop] 6 input + 6 output = 12 tokens");

    let bodies = chat_bodies(&server);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["stream"], true);
    assert_eq!(bodies[0]["stream_options"], json!({"include_usage": true}));
    assert_eq!(bodies[1].get("stream"), None);
}

#[test]
fn chat_json_prints_one_object_with_the_documented_keys() {
    let server = mock(MockOptions {
        models: vec![MockModel::base("qwen3-think")],
        reasoning_parser: true,
        ..MockOptions::default()
    });
    let base = server.base_url();
    let cli = Cli::with_key();
    let streamed = cli.run(&["--base-url", &base, "chat", "--json", "hi there"]);
    streamed.code(0).keeps_the_key();
    assert!(
        streamed.stdout.starts_with(r#"{"model":"#),
        "{}",
        streamed.stdout
    );
    assert_eq!(
        streamed.stdout.lines().count(),
        1,
        "one object: {}",
        streamed.stdout
    );
    let reply = streamed.json();
    let keys: Vec<&str> = reply
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "error",
            "finishReason",
            "model",
            "reasoning",
            "text",
            "toolCalls",
            "usage"
        ]
    );
    assert_eq!(reply["model"], "qwen3-think");
    assert_eq!(reply["text"], "Hello! You said: hi there");
    assert_eq!(reply["reasoning"], "The user wrote 2 words.");
    assert_eq!(reply["toolCalls"], json!([]));
    assert_eq!(reply["finishReason"], "stop");
    assert_eq!(reply["error"], Value::Null, "a whole reply has no error");
    let usage = reply["usage"].as_object().expect("usage object");
    let mut usage_keys: Vec<&str> = usage.keys().map(String::as_str).collect();
    usage_keys.sort_unstable();
    assert_eq!(usage_keys, ["cacheRead", "input", "output", "total"]);
    let count = |key: &str| reply["usage"][key].as_u64().expect("a count");
    assert_eq!(count("input"), 6);
    assert!(count("output") > 0);
    assert_eq!(count("total"), count("input") + count("output"));

    let whole = cli.run(&[
        "--base-url",
        &base,
        "chat",
        "--json",
        "--no-stream",
        "hi there",
    ]);
    whole.code(0);
    assert_eq!(whole.json(), reply, "streamed and whole replies agree");
}

#[test]
fn chat_with_a_tools_file_returns_tool_calls() {
    let server = mock(MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    });
    let base = server.base_url();
    let cli = Cli::with_key();
    let tools = cli.file("tools.json", TOOLS);
    let tools = tools.to_str().expect("UTF-8 path");
    let args = [
        "--base-url",
        &base,
        "chat",
        "--tools",
        tools,
        "--tool-choice",
        "required",
    ];

    let json_run = cli.run(&[&args[..], &["--json", "weather in Oslo?"]].concat());
    json_run.code(0).keeps_the_key();
    let reply = json_run.json();
    let calls = reply["toolCalls"].as_array().expect("toolCalls");
    assert_eq!(calls.len(), 1, "{reply}");
    assert_eq!(calls[0]["name"], "get_weather");
    assert!(calls[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    let arguments: Value = serde_json::from_str(calls[0]["arguments"].as_str().expect("text"))
        .expect("the arguments are JSON");
    assert_eq!(arguments, json!({"city": "test"}));
    assert_eq!(reply["finishReason"], "tool_calls");

    let plain = cli.run(&[&args[..], &["weather in Oslo?"]].concat());
    plain.code(0);
    assert_eq!(
        plain.stdout,
        "tool call: get_weather {\"city\": \"test\"}\n"
    );
    plain.says("[tool_calls]");

    for body in chat_bodies(&server) {
        assert_eq!(body["tool_choice"], "required");
        assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(body["tools"][0].get("strict"), None);
        assert_eq!(body["tools"][0]["function"].get("strict"), None);
    }
}

#[test]
fn tool_calls_the_server_passed_on_as_text_are_recovered() {
    let server = mock(MockOptions {
        auto_tool_choice: true,
        parser_misses_calls: true,
        ..MockOptions::default()
    });
    let base = server.base_url();
    let cli = Cli::with_key();
    let tools = cli.file("tools.json", TOOLS);
    let tools = tools.to_str().expect("UTF-8 path");
    let args = ["--base-url", &base, "chat", "--tools", tools];
    let mut replies = Vec::new();
    for mode in [&[][..], &["--no-stream"][..]] {
        let run = cli.run(&[&args[..], mode, &["--json", "weather in Oslo?"]].concat());
        run.code(0)
            .keeps_the_key()
            .says("warning: the server passed 1 tool call on as text; they were recovered from it")
            .says("--tool-call-parser");
        let reply = run.json();
        assert_eq!(reply["text"], "", "{reply}");
        assert_eq!(reply["finishReason"], "tool_calls", "{reply}");
        let calls = reply["toolCalls"].as_array().expect("toolCalls");
        assert_eq!(calls.len(), 1, "{reply}");
        assert_eq!(calls[0]["name"], "get_weather");
        let arguments: Value = serde_json::from_str(calls[0]["arguments"].as_str().expect("text"))
            .expect("the arguments are JSON");
        assert_eq!(arguments, json!({"city": "test"}));
        replies.push(reply);
    }
    // What the server sent: the call as content, no tool_calls.
    let streamed = chat_bodies(&server);
    assert_eq!(streamed.len(), 2);
    assert_eq!(
        replies[0]["toolCalls"][0]["name"],
        replies[1]["toolCalls"][0]["name"]
    );

    // Without tools in the request, the same text would stay text: the mock
    // then answers as a plain chat, and nothing is recovered or warned of.
    let plain = cli.run(&["--base-url", &base, "chat", "--json", "weather in Oslo?"]);
    plain.code(0);
    assert!(!plain.stderr.contains("recovered"), "{}", plain.stderr);
    assert_eq!(plain.json()["toolCalls"], json!([]));
}

#[test]
fn chat_options_reach_the_request_body() {
    let server = mock(models(&["mock-model", "other-model"]));
    let run = Cli::with_key().run(&[
        "--base-url",
        &server.base_url(),
        "chat",
        "--model",
        "vllm/mock-model",
        "--system",
        "be brief",
        "--max-tokens",
        "3",
        "--temperature",
        "0.25",
        "hi there",
    ]);
    run.code(0).keeps_the_key();
    assert_eq!(run.stdout, "Hello! You said:\n", "3 tokens, cut");
    run.says("[length]");
    let body = &chat_bodies(&server)[0];
    assert_eq!(body["model"], "mock-model");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}])
    );
    assert_eq!(body["max_completion_tokens"], 3);
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(body.get("max_tokens"), None);
}

#[test]
fn chat_picks_the_primary_model_then_the_only_one_else_asks() {
    // agents.defaults.model.primary, with the models discovered.
    let two = mock(models(&["model-a", "model-b"]));
    let cli = Cli::with_key();
    let provider = format!(
        "        baseUrl: \"{}\",\n        apiKey: \"${{VLLM_API_KEY}}\",",
        two.base_url()
    );
    let config = cli.file(
        "openclaw.json",
        &openclaw_config(&provider, Some("vllm/model-b")),
    );
    let config = config.to_str().expect("UTF-8 path");
    cli.run(&["--config", config, "chat", "hi"]).code(0);
    assert_eq!(chat_bodies(&two)[0]["model"], "model-b");

    // No default and several models: a usage error that lists them.
    let ambiguous = cli.run(&["--base-url", &two.base_url(), "chat", "hi"]);
    ambiguous
        .code(2)
        .says("--model")
        .says("model-a, model-b")
        .keeps_the_key();
    assert_eq!(two.chat_requests().len(), 1, "nothing was sent");

    // The only model the server has.
    let one = mock(models(&["solo"]));
    cli.run(&["--base-url", &one.base_url(), "chat", "hi"])
        .code(0);
    assert_eq!(chat_bodies(&one)[0]["model"], "solo");
}

#[test]
fn chat_reads_the_prompt_from_stdin() {
    let server = mock(MockOptions::default());
    let run = Cli::with_key().stdin("hello from stdin\n").run(&[
        "--base-url",
        &server.base_url(),
        "chat",
        "-",
    ]);
    run.code(0);
    assert_eq!(run.stdout, "Hello! You said: hello from stdin\n");
    assert_eq!(
        chat_bodies(&server)[0]["messages"][0]["content"],
        "hello from stdin\n"
    );

    let empty = Cli::with_key()
        .stdin("  \n")
        .run(&["--base-url", &server.base_url(), "chat", "-"]);
    empty.code(2).says("empty");
}

#[test]
fn a_bad_tools_file_is_a_usage_error_naming_the_file() {
    let server = mock(MockOptions::default());
    let base = server.base_url();
    let cli = Cli::with_key();
    let cases = [
        ("broken.json", "[{not json", "not valid JSON"),
        (
            "untyped.json",
            r#"[{"function": {"name": "f"}}]"#,
            "tools[0]",
        ),
    ];
    for (name, text, reason) in cases {
        let path = cli.file(name, text);
        let path = path.to_str().expect("UTF-8 path");
        let run = cli.run(&["--base-url", &base, "chat", "--tools", path, "hi"]);
        run.code(2).says(path).says(reason).keeps_the_key();
    }
    let missing = cli.home.path().join("missing.json");
    let missing = missing.to_str().expect("UTF-8 path");
    cli.run(&["--base-url", &base, "chat", "--tools", missing, "hi"])
        .code(2)
        .says(missing);
    assert!(
        server.requests().is_empty(),
        "tools are checked before any request"
    );
}

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------

#[test]
fn config_shows_the_resolved_config_with_the_key_redacted() {
    let server = mock(MockOptions::default());
    let base = server.base_url();
    let cli = Cli::with_key();
    let provider = format!(
        "        baseUrl: \"{base}/\",\n        apiKey: \"${{VLLM_API_KEY}}\",\n        headers: {{ \"X-Team\": \"blue\", \"X-Api-Key\": \"${{VLLM_API_KEY}}\" }},\n        timeoutSeconds: 30,"
    );
    let config = cli.file("openclaw.json", &openclaw_config(&provider, None));
    let config = config.to_str().expect("UTF-8 path");

    let text = cli.run(&["--config", config, "config"]);
    text.code(0).keeps_the_key();
    let out = &text.stdout;
    assert!(out.contains(&format!("Base URL  {base}\n")), "{out}");
    assert!(out.contains("API key   set (redacted)"), "{out}");
    assert!(out.contains("X-Team: blue"), "{out}");
    assert!(out.contains("X-Api-Key: <redacted>"), "{out}");
    assert!(out.contains("Timeout   30000 ms"), "{out}");
    assert!(out.contains("Mode      discover ("), "{out}");

    let json_run = cli.run(&["--config", config, "config", "--json"]);
    json_run.code(0).keeps_the_key();
    let shown = json_run.json();
    assert_eq!(shown["baseUrl"], base.as_str());
    assert_eq!(shown["apiKey"], "<redacted>");
    assert_eq!(
        shown["headers"],
        json!({"X-Team": "blue", "X-Api-Key": "<redacted>"})
    );
    assert_eq!(shown["timeoutMs"], 30_000);
    assert_eq!(shown["mode"], "discover");
    assert!(
        shown["reason"]
            .as_str()
            .is_some_and(|r| r.contains("discovered")),
        "{shown}"
    );
    assert_eq!(shown["models"], json!([]));

    let flag = cli.run(&["--base-url", &base, "config", "--json"]);
    flag.code(0).keeps_the_key();
    assert_eq!(flag.json()["mode"], "discover");
    assert!(server.requests().is_empty(), "config makes no request");
}

#[test]
fn config_in_disabled_mode_exits_0_with_the_reason() {
    let cli = Cli::new();
    let text = cli.run(&["config"]);
    text.code(0);
    assert!(
        text.stdout.contains("Base URL  http://127.0.0.1:8000/v1"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("API key   not set"), "{}", text.stdout);
    let mode = text
        .stdout
        .lines()
        .find(|l| l.starts_with("Mode"))
        .expect("a Mode line");
    assert!(
        mode.contains("disabled (") && mode.contains("VLLM_API_KEY"),
        "{mode}"
    );

    let json_run = cli.run(&["config", "--json"]);
    json_run.code(0);
    let shown = json_run.json();
    assert_eq!(shown["mode"], "disabled");
    assert_eq!(shown["apiKey"], Value::Null);
    assert!(
        shown["reason"]
            .as_str()
            .is_some_and(|r| r.contains("VLLM_API_KEY")),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------
// exit codes
// ---------------------------------------------------------------------------

#[test]
fn a_bad_json5_config_is_exit_2_with_file_and_line() {
    let cli = Cli::with_key();
    let text = format!(
        "// config\n{{\n  models: {{ providers: {{ vllm: {{\n    apiKey: \"{KEY}\" oops,\n  }} }} }},\n}}\n"
    );
    let path = cli.file("bad.json5", &text);
    let path = path.to_str().expect("UTF-8 path");
    for args in [vec!["config"], vec!["models", "list"], vec!["chat", "hi"]] {
        let run = cli.run(&[&["--config", path][..], &args].concat());
        run.code(2).says(&format!("{path}:4:")).keeps_the_key();
    }
    let not_object = cli.file("list.json5", "[1, 2,]");
    let not_object = not_object.to_str().expect("UTF-8 path");
    cli.run(&["--config", not_object, "config"])
        .code(2)
        .says(not_object);
    let missing = cli.home.path().join("nope.json5");
    let missing = missing.to_str().expect("UTF-8 path");
    cli.run(&["--config", missing, "config"])
        .code(2)
        .says(missing);
}

#[test]
fn a_missing_variable_is_exit_2_naming_the_config_path() {
    let server = mock(MockOptions::default());
    let cli = Cli::with_key();
    let provider = format!(
        "        baseUrl: \"{}\",\n        apiKey: \"${{MISSING_VLLM_KEY}}\",",
        server.base_url()
    );
    let config = cli.file("openclaw.json", &openclaw_config(&provider, None));
    let config = config.to_str().expect("UTF-8 path");
    for args in [vec!["config"], vec!["models", "list"], vec!["chat", "hi"]] {
        let run = cli.run(&[&["--config", config][..], &args].concat());
        run.code(2)
            .says("models.providers.vllm.apiKey")
            .says("MISSING_VLLM_KEY is not set")
            .says("$${MISSING_VLLM_KEY}")
            .keeps_the_key();
    }
    assert!(server.requests().is_empty());
}

#[test]
fn a_disabled_provider_is_exit_2_for_models_list_and_chat() {
    let cli = Cli::new();
    for args in [
        vec!["models", "list"],
        vec!["models", "list", "--json"],
        vec!["chat", "hi"],
    ] {
        let run = cli.run(&args);
        run.code(2).says("disabled").says("VLLM_API_KEY");
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

#[test]
fn a_missing_plugin_is_exit_2() {
    let cli = Cli::with_key();
    let missing = cli.home.path().join("no-such-plugin.wasm");
    let run = cli.plugin(&missing).run(&["config"]);
    run.code(2)
        .says(missing.to_str().expect("UTF-8 path"))
        .keeps_the_key();
}

#[test]
fn connection_refused_is_exit_3_naming_the_address() {
    let port = refused_port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let cli = Cli::with_key();
    for args in [
        vec!["models", "list"],
        vec!["chat", "hi"],
        vec!["chat", "--model", "m", "--no-stream", "hi"],
    ] {
        let run = cli.run(&[&["--base-url", base.as_str()][..], &args].concat());
        run.code(3)
            .says(&format!("127.0.0.1:{port}"))
            .says("vLLM is running")
            .keeps_the_key();
    }
}

#[test]
fn a_wrong_key_is_exit_4_and_never_printed() {
    let server = mock(MockOptions {
        api_key: Some("the-servers-real-key".into()),
        ..MockOptions::default()
    });
    let base = server.base_url();
    let cli = Cli::with_key();
    for args in [
        vec!["models", "list"],
        vec!["chat", "hi"],
        vec!["chat", "--model", "mock-model", "--json", "hi"],
        vec!["chat", "--model", "mock-model", "--no-stream", "hi"],
    ] {
        let run = cli.run(&[&["--base-url", base.as_str()][..], &args].concat());
        run.code(4).says("VLLM_API_KEY").keeps_the_key();
        assert!(
            !run.stderr.contains("the-servers-real-key"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn no_key_for_a_server_that_requires_one_is_exit_4() {
    let server = mock(MockOptions {
        api_key: Some("the-servers-real-key".into()),
        ..MockOptions::default()
    });
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list"]);
    run.code(4).says("VLLM_API_KEY");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
}

#[test]
fn an_unknown_model_is_exit_5_naming_it_and_the_valid_ids() {
    let server = mock(models(&["mock-model", "other-model"]));
    let base = server.base_url();
    let cli = Cli::with_key();
    for extra in [None, Some("--no-stream")] {
        let mut args = vec!["--base-url", base.as_str(), "chat", "--model", "vllm/nope"];
        args.extend(extra);
        args.push("hi");
        let run = cli.run(&args);
        run.code(5)
            .says("`nope`")
            .says("mock-model, other-model")
            .keeps_the_key();
    }
}

#[test]
fn a_prompt_over_the_context_window_is_exit_5_with_the_limit() {
    let server = mock(MockOptions::default());
    let run =
        Cli::with_key()
            .stdin(&words(2100))
            .run(&["--base-url", &server.base_url(), "chat", "-"]);
    run.code(5).says("2048").keeps_the_key();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_failing_server_is_exit_1() {
    let server = mock(MockOptions::default());
    let base = server.base_url();
    let cli = Cli::with_key();
    server.push_replies(
        &Reply::html(
            502,
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        ),
        ATTEMPTS,
    );
    cli.run(&["--base-url", &base, "chat", "hi"])
        .code(1)
        .says("502 Bad Gateway")
        .keeps_the_key();
    server.push_replies(&Reply::empty(500), ATTEMPTS);
    cli.run(&["--base-url", &base, "chat", "--no-stream", "hi"])
        .code(1)
        .says("HTTP 500")
        .keeps_the_key();
    server.push_reply(Reply::cut_stream("mock-model", &["partial ", "reply"]));
    // Whether the text also reached stdout depends on how the bytes were
    // batched; the error always carries it.
    cli.run(&["--base-url", &base, "chat", "hi"])
        .code(1)
        .says("partial reply")
        .says("ended before it was complete");
}

#[test]
fn help_for_every_command_exits_0_and_the_top_level_lists_exit_codes() {
    let cli = Cli::new();
    let top = cli.run(&["--help"]);
    top.code(0);
    for line in [
        "Exit codes:",
        "0  success",
        "1  any other failure",
        "2  usage or configuration error",
        "3  cannot connect to the server",
        "4  the server rejected the API key",
        "5  the server rejected the request",
        "6  the sandbox refused",
    ] {
        assert!(
            top.stdout.contains(line),
            "--help lacks {line:?}:\n{}",
            top.stdout
        );
    }
    for command in ["models", "chat", "config", "doctor"] {
        assert!(top.stdout.contains(command), "{}", top.stdout);
    }
    for args in [
        vec!["models", "--help"],
        vec!["models", "list", "--help"],
        vec!["chat", "--help"],
        vec!["config", "--help"],
        vec!["doctor", "--help"],
        vec!["help", "chat"],
    ] {
        let run = cli.run(&args);
        run.code(0);
        assert!(
            run.stdout.contains("Usage: vllm-harness"),
            "{args:?}:\n{}",
            run.stdout
        );
    }
    let chat = cli.run(&["chat", "--help"]);
    for flag in [
        "--model",
        "--system",
        "--tools",
        "--tool-choice",
        "--max-tokens",
        "--temperature",
        "--no-stream",
        "--json",
    ] {
        assert!(chat.stdout.contains(flag), "chat --help lacks {flag}");
    }
    let doctor = cli.run(&["doctor", "--help"]);
    for text in [
        "--model",
        "--json",
        "Checks, in order",
        "4  the server rejected the API key",
    ] {
        assert!(doctor.stdout.contains(text), "doctor --help lacks {text}");
    }
    // Usage errors are exit 2 too.
    cli.run(&["chat"]).code(2).says("Usage:");
    cli.run(&["frobnicate"]).code(2);
}

#[test]
fn the_key_is_never_printed_by_a_failing_run() {
    let guarded = mock(MockOptions {
        api_key: Some("the-servers-real-key".into()),
        ..MockOptions::default()
    });
    let open = mock(models(&["mock-model", "other-model"]));
    let open_base = open.base_url();
    let guarded_base = guarded.base_url();
    let refused = format!("http://127.0.0.1:{}/v1", refused_port());
    let cli = Cli::with_key();
    let tools = cli.file("tools.json", "[{broken");
    let tools = tools.to_str().expect("UTF-8 path");
    let bad_config = cli.file(
        "bad.json5",
        &format!("{{\n  models: {{ providers: {{ vllm: {{ apiKey: \"{KEY}\" !!! }} }} }}\n}}\n"),
    );
    let bad_config = bad_config.to_str().expect("UTF-8 path");
    let literal_key = cli.file(
        "literal.json5",
        &openclaw_config(
            &format!("        baseUrl: \"{guarded_base}\",\n        apiKey: \"{KEY}\","),
            None,
        ),
    );
    let literal_key = literal_key.to_str().expect("UTF-8 path");
    let missing_var = cli.file(
        "missing.json5",
        &openclaw_config(
            &format!(
                "        apiKey: \"${{NOPE_KEY}}\",\n        headers: {{ \"X-K\": \"{KEY}\" }},"
            ),
            None,
        ),
    );
    let missing_var = missing_var.to_str().expect("UTF-8 path");
    let long = words(2100);

    // A server that echoes the key in its error message.
    let echo = Reply::error(
        500,
        "InternalServerError",
        &format!("upstream rejected key {KEY}"),
        None,
    );
    open.push_replies(&echo, ATTEMPTS);
    let echoed = cli.run(&[
        "--base-url",
        &open_base,
        "chat",
        "--model",
        "mock-model",
        "hi",
    ]);
    echoed.code(1).says("<redacted>");
    // The same echo in doctor's completion check.
    open.push_replies(&echo, ATTEMPTS);
    let doctor_echoed = cli.run(&["--base-url", &open_base, "doctor", "--json"]);
    doctor_echoed.code(1);
    assert!(
        doctor_echoed.stdout.contains("<redacted>"),
        "{}",
        doctor_echoed.stdout
    );

    let mut runs = vec![echoed, doctor_echoed];
    let failing: Vec<Vec<&str>> = vec![
        vec!["--base-url", &guarded_base, "models", "list"],
        vec!["--base-url", &guarded_base, "models", "list", "--json"],
        vec!["--base-url", &guarded_base, "chat", "hi"],
        vec![
            "--base-url",
            &guarded_base,
            "chat",
            "--json",
            "--model",
            "mock-model",
            "hi",
        ],
        vec!["--config", literal_key, "models", "list"],
        vec![
            "--config",
            literal_key,
            "chat",
            "--model",
            "mock-model",
            "hi",
        ],
        vec!["--base-url", &open_base, "chat", "--model", "nope", "hi"],
        vec!["--base-url", &open_base, "chat", "hi"],
        vec![
            "--base-url",
            &open_base,
            "chat",
            "--model",
            "mock-model",
            &long,
        ],
        vec!["--base-url", &refused, "models", "list"],
        vec!["--base-url", &refused, "chat", "--model", "m", "hi"],
        vec!["--base-url", &open_base, "chat", "--tools", tools, "hi"],
        vec!["--config", bad_config, "config"],
        vec!["--config", missing_var, "config", "--json"],
        vec!["--base-url", "not a url", "models", "list"],
        vec!["--base-url", &guarded_base, "doctor"],
        vec!["--base-url", &guarded_base, "doctor", "--json"],
        vec!["--config", literal_key, "doctor"],
        vec!["--base-url", &refused, "doctor", "--json"],
        vec!["--config", bad_config, "doctor"],
    ];
    for args in &failing {
        let run = cli.run(args);
        assert_ne!(run.code, 0, "{args:?} should fail");
        runs.push(run);
    }
    // A key written as a literal in the config is redacted by `config` too.
    for args in [
        ["--config", literal_key, "config"].as_slice(),
        ["--config", literal_key, "config", "--json"].as_slice(),
    ] {
        let run = cli.run(args);
        run.code(0);
        runs.push(run);
    }
    for run in &runs {
        run.keeps_the_key();
    }
}
