//! `vllm-load-server ceiling`, the raw client, against the server: the
//! protocol's JSON line, event counts, and failures reported as such.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Server, run};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `ceiling` with `args`; its exit code and JSON line.
fn ceiling(args: &[&str]) -> (i32, Value) {
    let output = run(&[&["ceiling"], args].concat(), LIMIT);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one line on stdout: {stdout:?}, stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = serde_json::from_str(lines[0]).expect("JSON line");
    (output.status.code().unwrap_or(-1), line)
}

#[test]
fn stream_counts_every_event() {
    let server = Server::start();
    let url = server.base_url();
    for model in ["text-w64", "text", "reasoning-w3", "tools-w5"] {
        let (code, line) = ceiling(&[
            "--base-url",
            &url,
            "--model",
            model,
            "--max-tokens",
            "1000",
            "--requests",
            "3",
        ]);
        assert_eq!(code, 0, "{line}");
        assert_eq!(line["client"], "raw");
        assert_eq!(line["scenario"], "stream");
        assert_eq!(line["events"], 3000, "{model}: {line}");
        assert_eq!(line["latencies_us"].as_array().map(Vec::len), Some(3));
        assert_eq!(
            (line["errors"].clone(), line["error"].clone()),
            (0.into(), Value::Null)
        );
        assert!(line["elapsed_us"].as_u64().is_some_and(|us| us > 0));
    }
}

#[test]
fn protocol_scenarios() {
    let server = Server::start();
    let url = server.base_url();
    let (code, line) = ceiling(&["stream", "--base-url", &url, "--model", "text"]);
    assert_eq!((code, line["events"].clone()), (0, 16.into()), "{line}");
    let (code, line) = ceiling(&[
        "once",
        "--base-url",
        &url,
        "--model",
        "text",
        "--max-tokens",
        "5",
    ]);
    assert_eq!((code, line["events"].clone()), (0, 5.into()), "{line}");
    assert_eq!(line["latencies_us"], Value::Array(Vec::new()));
    let (code, line) = ceiling(&[
        "concurrent",
        "--base-url",
        &url,
        "--model",
        "text-w4-d1000",
        "--concurrency",
        "50",
        "--max-tokens",
        "40",
    ]);
    assert_eq!((code, line["events"].clone()), (0, 2000.into()), "{line}");
}

#[test]
fn failures_are_reported() {
    let server = Server::start();
    let url = server.base_url();
    let (code, line) = ceiling(&["--base-url", &url, "--model", "nope", "--requests", "2"]);
    assert_eq!(code, 1);
    assert_eq!(line["errors"], 3, "warm-up and both requests: {line}");
    assert!(
        line["error"].as_str().is_some_and(|e| e.contains("404")),
        "{line}"
    );

    // Nothing listening.
    let port = server.port;
    drop(server);
    let (code, line) = ceiling(&[
        "--base-url",
        &format!("http://127.0.0.1:{port}/v1"),
        "--model",
        "text",
    ]);
    assert_eq!(code, 1);
    assert!(line["errors"].as_u64().is_some_and(|n| n > 0), "{line}");
}
