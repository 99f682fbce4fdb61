//! `vllm-harness doctor` against the mock vLLM server and a server that is
//! not vLLM: one line per check, the fix under each failure, and the exit
//! code of the first failure. The same failure modes against real vLLM
//! servers are in `conformance.rs`.

use vllm_tests::canned::CannedServer;
use vllm_tests::mock::{MockOptions, MockVllm};

use crate::common::cli_run::{Cli, Run};
use crate::common::doctor::{check, statuses};
use crate::common::{KEY, refused_port};

const CHECKS: [&str; 9] = [
    "config",
    "plugin",
    "reachable",
    "health",
    "version",
    "auth",
    "models",
    "completion",
    "tools",
];

fn mock(options: MockOptions) -> MockVllm {
    MockVllm::start_blocking(options)
}

fn with_tools() -> MockOptions {
    MockOptions {
        auto_tool_choice: true,
        ..MockOptions::default()
    }
}

fn doctor(cli: &Cli, base: &str, extra: &[&str]) -> Run {
    cli.run(&[&["--base-url", base, "doctor"][..], extra].concat())
}

/// Asserts the status of each check, in order.
fn assert_statuses(run: &Run, expected: &[&str]) {
    let got = statuses(&run.json());
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, CHECKS[..expected.len()], "{}", run.stdout);
    let got: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(got, expected, "{}", run.stdout);
}

#[test]
fn a_healthy_server_passes_every_check_one_line_each() {
    let server = mock(MockOptions {
        api_key: Some(KEY.into()),
        ..with_tools()
    });
    let run = doctor(&Cli::with_key(), &server.base_url(), &[]);
    run.code(0).keeps_the_key();
    let lines: Vec<&str> = run.stdout.lines().collect();
    for (line, name) in lines.iter().zip(CHECKS) {
        assert!(
            line.starts_with(&format!("ok    {name:<11} ")),
            "{line:?} in\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("vLLM 0.32.0"), "{}", run.stdout);
    assert!(
        run.stdout.contains("mock-model (context 2048)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the server accepted the API key"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("all 9 checks passed\n"),
        "{}",
        run.stdout
    );

    // Exactly the requests the checks name, each with the key.
    let seen: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let expected = [
        ("GET", "/health"),
        ("GET", "/version"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/chat/completions"),
    ];
    assert_eq!(
        seen,
        expected.map(|(m, p)| (m.to_owned(), p.to_owned())),
        "requests"
    );
    let chats = server.chat_requests();
    for chat in &chats {
        let body = chat.json.as_ref().expect("JSON body");
        assert_eq!(body["max_completion_tokens"], 1, "{body}");
        assert_eq!(
            chat.header("authorization"),
            Some(&*format!("Bearer {KEY}"))
        );
    }
    assert_eq!(
        chats[1].json.as_ref().expect("JSON body")["tool_choice"],
        "auto"
    );
}

#[test]
fn json_has_the_documented_shape() {
    let server = mock(with_tools());
    let run = doctor(&Cli::new(), &server.base_url(), &["--json"]);
    run.code(0);
    let json = run.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["exitCode"], 0);
    for c in json["checks"].as_array().expect("checks") {
        let mut keys: Vec<&str> = c
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["detail", "error", "fix", "name", "status"], "{c}");
    }
    assert_statuses(&run, &["pass"; 9]);
}

#[test]
fn without_tool_parsing_tools_is_a_warning_with_the_flags_and_still_exit_0() {
    let server = mock(MockOptions::default());
    let run = doctor(&Cli::new(), &server.base_url(), &["--json"]);
    run.code(0);
    let json = run.json();
    assert_eq!(check(&json, "tools")["status"], "warn");
    let fix = check(&json, "tools")["fix"].as_str().expect("fix");
    assert!(fix.contains("--enable-auto-tool-choice"), "{fix}");
    assert!(fix.contains("--tool-call-parser"), "{fix}");

    let text = doctor(&Cli::new(), &server.base_url(), &[]);
    text.code(0);
    assert!(
        text.stdout.contains("all 9 checks passed (1 warning)"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_server_that_is_down_fails_reachable_with_exit_3_and_skips_the_rest() {
    let port = refused_port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let run = doctor(&Cli::with_key(), &base, &["--json"]);
    run.code(3).keeps_the_key();
    assert_statuses(
        &run,
        &[
            "pass", "pass", "fail", "skip", "skip", "skip", "skip", "skip", "skip",
        ],
    );
    let json = run.json();
    assert_eq!(json["exitCode"], 3);
    let reachable = check(&json, "reachable");
    assert_eq!(reachable["error"], "connection");
    assert!(
        reachable["fix"]
            .as_str()
            .is_some_and(|f| f.contains(&format!("127.0.0.1:{port}"))),
        "{reachable}"
    );
    let text = doctor(&Cli::with_key(), &base, &[]);
    text.code(3).says("1 of 9 checks failed (first: reachable)");
    assert!(text.stdout.contains("FAIL  reachable"), "{}", text.stdout);
    assert!(text.stdout.contains("fix: start vLLM"), "{}", text.stdout);
}

#[test]
fn a_port_where_something_else_answers_fails_health_as_not_vllm() {
    let other = CannedServer::not_vllm();
    let run = doctor(&Cli::new(), &other.base_url(), &["--json"]);
    run.code(1);
    assert_statuses(
        &run,
        &[
            "pass", "pass", "pass", "fail", "warn", "skip", "fail", "skip", "skip",
        ],
    );
    let json = run.json();
    let health = check(&json, "health");
    assert!(
        health["detail"]
            .as_str()
            .is_some_and(|d| d.contains("does not look like a vLLM server")),
        "{health}"
    );
    assert!(
        health["fix"]
            .as_str()
            .is_some_and(|f| f.contains("check the port")),
        "{health}"
    );
    assert!(other.served() >= 3, "served {}", other.served());
}

#[test]
fn an_unhealthy_engine_fails_health_with_exit_1() {
    let server = mock(MockOptions {
        unhealthy: true,
        ..MockOptions::default()
    });
    let run = doctor(&Cli::new(), &server.base_url(), &["--json"]);
    run.code(1);
    let json = run.json();
    let health = check(&json, "health");
    assert_eq!(health["status"], "fail");
    assert!(
        health["detail"]
            .as_str()
            .is_some_and(|d| d.contains("HTTP 503")),
        "{health}"
    );
}

#[test]
fn a_wrong_key_and_a_missing_key_fail_auth_with_exit_4() {
    let server = mock(MockOptions {
        api_key: Some("the-servers-real-key".into()),
        ..MockOptions::default()
    });
    let expected = [
        "pass", "pass", "pass", "pass", "pass", "fail", "skip", "skip", "skip",
    ];
    let wrong = doctor(&Cli::with_key(), &server.base_url(), &["--json"]);
    wrong.code(4).keeps_the_key();
    assert_statuses(&wrong, &expected);
    let json = wrong.json();
    assert!(
        check(&json, "auth")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("rejected the API key")),
        "{json}"
    );
    assert!(!wrong.stdout.contains("the-servers-real-key"));

    let missing = doctor(&Cli::new(), &server.base_url(), &["--json"]);
    missing.code(4);
    assert_statuses(&missing, &expected);
    let json = missing.json();
    let auth = check(&json, "auth");
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
}

#[test]
fn an_unknown_model_fails_the_completion_with_exit_5_naming_the_served_ones() {
    let server = mock(with_tools());
    let run = doctor(
        &Cli::new(),
        &server.base_url(),
        &["--model", "vllm/nope", "--json"],
    );
    run.code(5);
    assert_statuses(
        &run,
        &[
            "pass", "pass", "pass", "pass", "pass", "pass", "pass", "fail", "pass",
        ],
    );
    let json = run.json();
    let completion = check(&json, "completion");
    assert_eq!(completion["error"], "model-not-found");
    let detail = completion["detail"].as_str().expect("detail");
    assert!(
        detail.contains("`nope`") && detail.contains("mock-model"),
        "{detail}"
    );
}

#[test]
fn a_base_url_without_v1_fails_models_with_the_path_to_use() {
    let server = mock(with_tools());
    let root = server.base_url().trim_end_matches("/v1").to_owned();
    let run = doctor(&Cli::new(), &root, &["--json"]);
    run.code(1);
    let json = run.json();
    let models = check(&json, "models");
    assert_eq!(models["status"], "fail");
    assert!(
        models["fix"].as_str().is_some_and(|f| f.contains("/v1")),
        "{models}"
    );
}

#[test]
fn a_disabled_provider_or_a_broken_config_fails_the_config_check_with_exit_2() {
    let cli = Cli::new();
    let run = cli.run(&["doctor", "--json"]);
    run.code(2);
    assert_statuses(&run, &["fail"]);
    let json = run.json();
    let config = check(&json, "config");
    assert!(
        config["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disabled")),
        "{config}"
    );
    assert!(
        config["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--base-url")),
        "{config}"
    );

    let file = cli.file(
        "bad.json5",
        "{ models: { providers: { vllm: { baseUrl: 7 } } } }",
    );
    let file = file.to_str().expect("utf-8 path");
    let run = cli.run(&["--config", file, "doctor"]);
    run.code(2).says("1 of 1 checks failed (first: config)");
    assert!(run.stdout.starts_with("FAIL  config"), "{}", run.stdout);
}
