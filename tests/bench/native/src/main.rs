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

use scenario::{Scenario, Setup};

/// The name this client reports in its JSON line.
const CLIENT: &str = "native";

/// The benchmark's native Rust client (tests/bench/PROTOCOL.md).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// What to measure.
    #[arg(value_enum)]
    scenario: Scenario,
    /// The server's base URL, with `/v1` (plain http).
    #[arg(long)]
    base_url: String,
    /// The model id (it selects the load server's reply).
    #[arg(long)]
    model: String,
    /// N: measured requests (latency, ttft, stream).
    #[arg(long, default_value_t = 1)]
    requests: u32,
    /// C: streams at once (concurrent).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// T: events (tokens) per reply.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_tokens: u32,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let setup = Setup {
        base_url: args.base_url,
        model: args.model,
        requests: args.requests,
        concurrency: args.concurrency,
        max_tokens: args.max_tokens,
    };
    let report = scenario::run(args.scenario, &setup);
    if let Some(error) = &report.error {
        eprintln!(
            "vllm-bench-native: {} request(s) failed; the first: {error}",
            report.errors
        );
    }
    let scenario_name = match args.scenario {
        Scenario::Latency => "latency",
        Scenario::Ttft => "ttft",
        Scenario::Stream => "stream",
        Scenario::Concurrent => "concurrent",
        Scenario::Once => "once",
    };
    let line = serde_json::json!({
        "client": CLIENT,
        "scenario": scenario_name,
        "latencies_us": report.latencies_us,
        "events": report.events,
        "elapsed_us": report.elapsed_us,
        "errors": report.errors,
        "error": report.error,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
