//! API keys as users really set them: placeholders like `1` or `EMPTY`,
//! and keys read from files with their trailing newline.

use crate::common::cli_run::Cli;
use crate::common::refused_port;

#[test]
fn a_placeholder_key_does_not_garble_messages() {
    let port = refused_port();
    let base = format!("http://127.0.0.1:{port}/v1");
    for key in ["1", "EMPTY", "0"] {
        let run = Cli::new()
            .env("VLLM_API_KEY", key)
            .run(&["--base-url", &base, "models", "list"]);
        run.code(3).says(&format!("127.0.0.1:{port}"));
        assert!(
            !run.stderr.contains("<redacted>"),
            "VLLM_API_KEY={key} garbled the message:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_key_with_a_line_break_is_a_config_error_naming_its_variable() {
    let server = super::mock();
    for key in ["sk-from-a-file\n", "sk-from-a-file\r\n"] {
        let cli = Cli::new().env("VLLM_API_KEY", key);
        for args in [
            vec!["models", "list"],
            vec!["chat", "--model", "mock-model", "hi"],
        ] {
            let run = cli.run(&[&["--base-url", server.base_url().as_str()][..], &args].concat());
            run.code(2)
                .says("VLLM_API_KEY")
                .says("ends with a line break");
            assert!(!run.stderr.contains("sk-from-a-file"), "{}", run.stderr);
        }
        // Doctor fails the config check, not reachability.
        let run = cli.run(&["--base-url", &server.base_url(), "doctor"]);
        super::assert_doctor_fails_config(&run, "correct VLLM_API_KEY");
    }
    assert!(server.requests().is_empty(), "nothing may be sent");
}

#[test]
fn an_api_key_in_the_config_with_a_line_break_names_its_path() {
    let server = super::mock();
    let cli = Cli::new();
    let config = super::section_file(
        &cli,
        &format!("baseUrl: '{}', apiKey: 'sk-pasted\\n'", server.base_url()),
    );
    let run = cli.run(&["--config", &config, "models", "list"]);
    run.code(2)
        .says("models.providers.vllm.apiKey")
        .says("line break");
}
