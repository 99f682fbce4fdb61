//! `vllm-bench`: the benchmark runner (`tests/bench/PROTOCOL.md`).
//!
//! `vllm-bench run` measures the component through the harness against
//! other clients of the same server, in one run, and writes the tables
//! behind BENCHMARKS.md (`tests/bench/run` builds and starts everything).
//! `vllm-bench client` is the component as one client of the protocol,
//! driven in process through the `vllm_harness` library.
//!
//! The runner is a test bench, not part of the product: it lives beside
//! the product's crates and ships with none of them.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod child;
mod client;
mod complete;
mod machine;
mod peers;
mod plan;
mod plot;
mod report;
mod results;
mod rounds;
mod run;
mod startup;
mod stats;
mod targets;

/// Measure the vLLM provider component against other clients of one server.
#[derive(Debug, Parser)]
#[command(name = "vllm-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the benchmark against a load server and print the tables
    #[command(after_help = run::HELP)]
    Run(run::RunArgs),
    /// The component as one client of the benchmark protocol
    Client(client::ClientArgs),
}

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with code 2.
    let cli = Cli::parse();
    let concurrent = match &cli.command {
        Command::Run(_) => true,
        Command::Client(args) => args.is_concurrent(),
    };
    // One call at a time runs on one thread, as `vllm-harness` runs its
    // commands, so that the figures are those a user's command sees.
    let mut builder = if concurrent {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("vllm-bench: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Run(args) => run::run(args).await,
            Command::Client(args) => client::run(args).await,
        }
    });
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vllm-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout, reporting (rather than panicking on) write errors.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_needs_the_server_the_plugin_and_the_harness() {
        let err = Cli::try_parse_from(["vllm-bench", "run"]).expect_err("missing options");
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        for flag in ["--base-url", "--plugin", "--harness"] {
            assert!(text.contains(flag), "{text}");
        }
    }
}
