//! What a server sends never reaches a terminal raw: control characters in
//! ids, errors and doctor details are shown escaped; `--json` stays exact.

use serde_json::json;
use vllm_tests::canned::{CannedServer, json as json_reply, response};
use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply};

use crate::common::cli_run::Cli;

const RED_ID: &str = "m\u{1b}[31mRED";
const TWO_LINE_ID: &str = "a\nb";

fn hostile_models() -> CannedServer {
    let list = json!({"object": "list", "data": [
        {"id": RED_ID, "object": "model", "max_model_len": 2048},
        {"id": TWO_LINE_ID, "object": "model", "max_model_len": 2048},
    ]});
    CannedServer::start(
        vec![("/v1/models", json_reply(&list.to_string()))],
        response("404 Not Found", &[], b""),
    )
}

fn assert_no_control(text: &str, what: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} holds a raw control character: {text:?}"
    );
}

#[test]
fn model_ids_with_escapes_or_line_breaks_are_shown_escaped() {
    let server = hostile_models();
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list"]);
    run.code(0);
    assert_no_control(&run.stdout, "models list");
    assert!(
        run.stdout.contains("vllm/m\\u{1b}[31mRED"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("vllm/a\\nb"), "{}", run.stdout);
    // A header and exactly two rows: the newline did not add one.
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    // --json keeps the ids exact.
    let run = Cli::new().run(&["--base-url", &server.base_url(), "models", "list", "--json"]);
    let ids: Vec<String> = run.json()["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, [RED_ID, TWO_LINE_ID]);
}

#[test]
fn a_server_error_that_would_retitle_or_clear_the_terminal_is_escaped() {
    let server = MockVllm::start_blocking(MockOptions::with_models(vec![MockModel::base("m")]));
    let message = "bad \u{1b}]0;TITLE\u{7} \u{1b}[2J";
    server.push_reply(Reply::error(400, "BadRequestError", message, None));
    let run = Cli::new().run(&[
        "--base-url",
        &server.base_url(),
        "chat",
        "--model",
        "m",
        "hi",
    ]);
    run.code(5).says("\\u{1b}]0;TITLE\\u{7} \\u{1b}[2J");
    assert_no_control(&run.stderr, "the error");
}

#[test]
fn doctor_details_from_the_server_are_escaped() {
    let server = hostile_models();
    let run = Cli::new().run(&["--base-url", &server.base_url(), "doctor"]);
    assert_no_control(&run.stdout, "doctor");
    assert_no_control(&run.stderr, "doctor's stderr");
    let run = Cli::new().run(&["--base-url", &server.base_url(), "doctor", "--json"]);
    let checks = run.json()["checks"].to_string();
    assert!(
        checks.contains("\\u001b[31m"),
        "--json keeps the id exact: {checks}"
    );
}

#[test]
fn a_reply_with_escapes_is_escaped_on_a_terminal_and_exact_in_a_pipe() {
    let server = MockVllm::start_blocking(MockOptions::with_models(vec![MockModel::base("m")]));
    let tokens = ["Hi", " \u{1b}[2J", "\u{1b}]0;owned\u{7}", " there"];
    let base = server.base_url();
    let args = ["--base-url", base.as_str(), "chat", "--model", "m", "hi"];
    server.push_reply(Reply::text_stream("m", &tokens, None));
    let piped = Cli::new().run(&args);
    piped.code(0);
    assert_eq!(piped.stdout, format!("{}\n", tokens.concat()));
    server.push_reply(Reply::text_stream("m", &tokens, None));
    let tty = Cli::new().run_on_a_terminal(&args);
    tty.code(0);
    assert!(
        tty.stdout
            .contains("Hi \\u{1b}[2J\\u{1b}]0;owned\\u{7} there"),
        "{:?}",
        tty.stdout
    );
    assert!(!tty.stdout.contains('\u{1b}'), "{:?}", tty.stdout);
}
