//! Values the CLI or the plugin refuses before anything is sent: usage and
//! configuration errors (exit 2), never "the server rejected the request".

use crate::common::cli_run::Cli;

#[test]
fn request_values_out_of_range_are_usage_errors_and_nothing_is_sent() {
    let server = super::mock();
    let base = server.base_url();
    let cli = Cli::new();
    for (args, says) in [
        (vec!["--max-tokens", "0"], "--max-tokens"),
        (vec!["--temperature", "nan"], "expected a finite number"),
        (vec!["--temperature", "inf"], "expected a finite number"),
        (vec!["--temperature", "-1"], "must be 0 or more"),
        (vec!["--model", ""], "names no model"),
        (vec!["--model", "vllm/"], "names no model"),
    ] {
        let mut line = vec!["--base-url", base.as_str(), "chat"];
        if !args.contains(&"--model") {
            line.extend(["--model", "mock-model"]);
        }
        line.extend(&args);
        line.push("hi");
        let run = cli.run(&line);
        run.code(2).says(says);
        assert!(!run.stderr.contains("server rejected"), "{}", run.stderr);
    }
    assert!(server.chat_requests().is_empty(), "nothing may be sent");
}

#[test]
fn negative_numbers_parse_for_every_numeric_flag() {
    let cli = Cli::new();
    for flag in [
        "--max-tokens",
        "--temperature",
        "--memory-limit",
        "--cpu-budget",
        "--timeout",
    ] {
        let run = cli.run(&[
            "--base-url",
            "http://127.0.0.1:9/v1",
            "chat",
            flag,
            "-1",
            "hi",
        ]);
        run.code(2).says(flag).says("'-1'");
        assert!(!run.stderr.contains("'-- -1'"), "{flag}: {}", run.stderr);
    }
}

#[test]
fn headers_http_or_the_host_refuses_are_config_errors_everywhere() {
    let server = super::mock();
    let cli = Cli::new();
    for (header, says) in [
        ("Host: 'example.com'", "headers.Host: cannot be configured"),
        (
            "Connection: 'close'",
            "headers.Connection: cannot be configured",
        ),
        (
            "'Content-Length': '5'",
            "headers.Content-Length: cannot be configured",
        ),
        (
            "'Transfer-Encoding': 'chunked'",
            "headers.Transfer-Encoding: cannot be configured",
        ),
        ("'X Team': 'a'", "\"X Team\" is not a valid header name"),
        (
            "'X-Team': 'a\\r\\nEvil: 1'",
            "headers.X-Team: holds a line break",
        ),
    ] {
        let config = super::section_file(
            &cli,
            &format!("baseUrl: '{}', headers: {{{header}}}", server.base_url()),
        );
        let config = config.as_str();
        for command in [
            &["models", "list"][..],
            &["chat", "--model", "mock-model", "hi"],
            &["config"],
        ] {
            let run = cli.run(&[&["--config", config][..], command].concat());
            run.code(2).says("invalid configuration at").says(says);
        }
        let run = cli.run(&["--config", config, "doctor"]);
        super::assert_doctor_fails_config(&run, says);
    }
    assert!(server.requests().is_empty(), "nothing may be sent");
}

#[test]
fn a_prompt_too_large_for_the_sandbox_names_the_knob_that_raises_it() {
    let server = super::mock();
    let prompt = "word ".repeat(2 * 1024 * 1024);
    let run = Cli::new().stdin(&prompt).run(&[
        "--base-url",
        &server.base_url(),
        "--memory-limit",
        "16",
        "chat",
        "--model",
        "mock-model",
        "-",
    ]);
    run.code(6)
        .says("memory limit of 16 MiB")
        .says("raise the limit with --memory-limit MIB");
}
