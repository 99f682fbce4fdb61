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

/// The default mock server (one model, `mock-model`).
fn mock() -> MockVllm {
    MockVllm::start_blocking(MockOptions::default())
}
