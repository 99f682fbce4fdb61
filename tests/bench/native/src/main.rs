//! `vllm-bench-native`: the benchmark's native Rust client.
//!
//! It runs the plugin's own client code (`vllm_provider::client::Client`:
//! request building, SSE decoding, event assembly) over a native HTTP/1.1
//! transport, with no wasm and no harness: the floor for our own code.
//! It speaks the protocol of tests/bench/PROTOCOL.md and prints one JSON
//! line on stdout; diagnostics go to stderr.

mod chunked;
mod scenario;
mod transport;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use vllm_bench_protocol::{Job, Scenario};

/// The name this client reports in its JSON line.
const CLIENT: &str = "native";

/// The benchmark's native Rust client (tests/bench/PROTOCOL.md).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// What to measure.
    #[arg(value_enum)]
    scenario: Scenario,
    /// The requests.
    #[command(flatten)]
    job: Job,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let report = scenario::run(CLIENT, args.scenario, &args.job);
    if let Some(error) = &report.error {
        eprintln!(
            "vllm-bench-native: {} request(s) failed; the first: {error}",
            report.errors
        );
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", report.line())?;
    stdout.flush()?;
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
