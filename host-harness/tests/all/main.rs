//! The harness's integration tests, one binary with a module per subject:
//! every binary links wasmtime and Cranelift again, and one process lets
//! the tests share the compiled component. The guests (the provider and
//! the hostile plugin) are built before any test runs, by the build script
//! of `vllm-tests`; the CLI binary by cargo, for this package.
//!
//! The conformance tier (`conformance`) runs here too: its tests are
//! ignored unless `tests/run-all.sh` has started real vLLM servers and
//! runs `cargo test -p vllm-harness --test all -- --include-ignored conformance::`.

mod common;

mod artifacts;
mod bad_input;
mod bounds;
mod cancel;
mod cli;
mod component;
mod conformance;
mod doctor;
mod embedded;
mod faults;
mod fixtures;
mod mock_server;
mod older_wit;
mod pool;
mod recorded;
mod request_fields;
mod retries;
mod sandbox;
mod secrets;
mod timeouts;
