//! Bad input, through the real binary: each value a user types or a server
//! sends that once got a wrong answer (a message blaming the wrong party,
//! an exit code the README contradicts, a value silently replaced, a
//! corrupted terminal), with the exit code and the message a user sees.
//! RELIABILITY.md's "Bad input" table lists them.

mod config_values;
mod discovery;
mod keys;
mod plugin_files;
mod replies;
mod requests;
mod terminal;

use vllm_tests::mock::{MockOptions, MockVllm};

use crate::common::cli_run::{Cli, Run};
use crate::common::openclaw_config;

/// The default mock server (one model, `mock-model`).
fn mock() -> MockVllm {
    MockVllm::start_blocking(MockOptions::default())
}

/// Writes an `openclaw.json` in the run's home whose provider section has
/// `body`, and returns its path for `--config`.
fn section_file(cli: &Cli, body: &str) -> String {
    let path = cli.file("openclaw.json", &openclaw_config(body, None));
    path.to_str().expect("a UTF-8 temp path").to_owned()
}

/// Asserts that doctor stopped at its `config` check (exit 2), saying
/// `says`, and never got as far as the server.
fn assert_doctor_fails_config(run: &Run, says: &str) {
    run.code(2);
    assert!(
        run.stdout.starts_with("FAIL  config") && run.stdout.contains(says),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("reachable"), "{}", run.stdout);
}
