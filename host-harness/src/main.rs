//! `vllm-harness`: list models, chat and show the configuration through the
//! vLLM provider component, run in a wasmtime sandbox. See `--help`.

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

mod cli;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with code 2. The version
    // names the plugin, which takes reading it: done only when asked.
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = cli::Cli::command();
    if cli::version::asked(&raw) {
        let text: &'static str = Box::leak(cli::version::text(&raw).into_boxed_str());
        command = command.version(text);
    }
    let args = match cli::Cli::from_arg_matches(&command.get_matches_from(raw)) {
        Ok(args) => args,
        Err(err) => err.exit(),
    };
    // Every command runs one plugin call at a time: on a single thread a
    // body frame never wakes another thread on its way into the plugin.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(cli::run(args));
    // Streams still open hold tasks; do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match cli::fail::ending(&err) {
            cli::fail::Ending::BrokenPipe => ExitCode::SUCCESS,
            cli::fail::Ending::Report { code, message } => {
                eprintln!("error: {}", cli::terminal::line(&message));
                ExitCode::from(u8::try_from(code).unwrap_or(1))
            }
        },
    }
}
