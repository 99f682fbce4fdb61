//! The `vllm-harness` command line: arguments and dispatch.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use vllm_harness::ThinkingLevel;

pub mod chat;
pub mod config_file;
pub mod doctor;
pub mod embedded;
pub mod fail;
pub mod inspect;
pub mod json5_tree;
pub mod models;
pub mod plugin_path;
pub mod secrets;
pub mod setup;
pub mod show_config;
pub mod table;
pub mod terminal;
pub mod thinking;
pub mod tools_file;
pub mod version;

use fail::Failure;
use setup::Setup;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure: server error, redirect, timeout, a reply that broke off
     or could not be read, plugin crash, I/O
  2  usage or configuration error (also: provider disabled, plugin not found or
     not a component, a request refused before it was sent)
  3  cannot connect to the server
  4  the server rejected the API key
  5  the server rejected the request (unknown model, context too long, bad request)
  6  the sandbox refused: an outgoing request, the plugin at load, or a limit
     (memory, CPU, answer size)
130  interrupted (Ctrl-C) while streaming a chat";

/// Run the vLLM provider plugin in a wasmtime sandbox.
#[derive(Debug, Parser)]
#[command(name = "vllm-harness", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// OpenClaw-style JSON5 config [default: $OPENCLAW_CONFIG_PATH, else
    /// ~/.openclaw/openclaw.json if present]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Base URL of the vLLM /v1 API; wins over the config and opts in to discovery
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL"
    )]
    pub base_url: Option<String>,
    /// The provider component [default: $VLLM_HARNESS_PLUGIN, else the one built into this
    /// binary, else one next to it]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE.wasm"
    )]
    pub plugin: Option<PathBuf>,
    /// Sandbox: largest memory the plugin may use, in MiB
    #[arg(long, global = true, help_heading = "Global options", value_name = "MIB", default_value_t = 64,
          allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_limit: u32,
    /// Sandbox: CPU seconds the plugin's own code may use per call (network waits excluded)
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 10.0,
          allow_negative_numbers = true, value_parser = parse_seconds)]
    pub cpu_budget: f64,
    /// Request timeout T, overriding the config's timeoutSeconds [default:
    /// timeoutSeconds, else 120]. Connecting may take min(T, 10 s); the first
    /// byte of the reply T; each gap between bytes or streamed events T; a
    /// whole request 10 × T
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS",
          allow_negative_numbers = true, value_parser = parse_seconds)]
    pub timeout: Option<f64>,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err("expected a number of seconds between 0 and 86400".to_owned()),
    }
}

fn parse_thinking(text: &str) -> Result<ThinkingLevel, String> {
    thinking::parse(text)
}

fn parse_temperature(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        Ok(t) if t.is_finite() => {
            Err("a temperature must be 0 or more (vLLM refuses negative ones)".to_owned())
        }
        _ => Err("expected a finite number such as 0.7".to_owned()),
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the provider's models
    Models {
        /// What to do with models.
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Send a prompt and print the reply as it streams
    #[command(after_help = EXIT_CODES)]
    Chat(ChatArgs),
    /// Show the resolved provider configuration, API key redacted
    #[command(after_help = EXIT_CODES)]
    Config(ConfigArgs),
    /// Check the configuration and the server, one line per check, with fixes
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Show a component's world, imports (granted or refused) and exports, without running it
    /// (without FILE: the plugin the other commands run)
    #[command(after_help = INSPECT_HELP)]
    Inspect(InspectArgs),
}

const INSPECT_HELP: &str = "\
Exit codes: 0 the harness would load the component; 6 it would refuse it
(an import the sandbox does not grant, or no supported vllm:provider/provider
export); 2 the file cannot be read or is not a component.";

const DOCTOR_HELP: &str = "\
Checks, in order: config (resolved), plugin (the component that runs the
checks: embedded, or the file given), reachable, health (GET /health), version
(GET /version), auth (the key is accepted, or none is needed), models (GET
/v1/models, with context windows), completion (a one-token request), tools (a
request with tools is accepted). A check that needs a failed one is skipped.
`warn` lines do not fail the run.

Exit codes: 0 when no check failed; otherwise the code of the first failure:
  1  the server answered but is not healthy or not vLLM, or another failure
  2  configuration error
  3  cannot connect to the server
  4  the server rejected the API key, or needs one
  5  the server rejected the request (unknown model, ...)
  6  the sandbox refused an outgoing request or stopped the plugin at a limit";

/// `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List models: the configured ones, or those the server serves
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
}

/// `models list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Provider to list (only `vllm` is served by this plugin)
    #[arg(long, value_name = "ID", default_value = models::PROVIDER)]
    pub provider: String,
    /// Print {"count", "models": [...]} instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `chat` options.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Model id or vllm/<id> [default: agents.defaults.model.primary, else the only model]
    #[arg(long, value_name = "REF")]
    pub model: Option<String>,
    /// System prompt
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// OpenAI-style tools array: [{"type": "function", "function": {...}}]
    #[arg(long, value_name = "FILE.json")]
    pub tools: Option<PathBuf>,
    /// auto, none, required, or a tool name
    #[arg(long, value_name = "CHOICE")]
    pub tool_choice: Option<String>,
    /// Largest number of output tokens (1 or more)
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: Option<u32>,
    /// Sampling temperature (0 or more; 0 is greedy)
    #[arg(long, value_name = "T", allow_negative_numbers = true, value_parser = parse_temperature)]
    pub temperature: Option<f32>,
    /// How far the model should think: off, minimal, low, medium, high, xhigh or max (sent for
    /// models whose thinking the provider controls; see `models list --json`)
    #[arg(long, value_name = "LEVEL", value_parser = parse_thinking)]
    pub thinking: Option<ThinkingLevel>,
    /// vLLM request priority: lower runs sooner (the server needs --scheduling-policy priority)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// Session id, sent as the X-Session-ID header (vLLM's router keeps a session on one replica)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Wait for the whole reply instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// Print one JSON object with the whole reply at the end
    #[arg(long)]
    pub json: bool,
    /// The prompt; `-` reads it from stdin
    pub prompt: String,
}

/// `config` options.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print {"baseUrl", "apiKey", "headers", "timeoutMs", "mode", "reason", "models"}
    #[arg(long)]
    pub json: bool,
}

/// `doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Model for the completion check [default: agents.defaults.model.primary, else the first served]
    #[arg(long, value_name = "REF")]
    pub model: Option<String>,
    /// Print {"ok", "exitCode", "checks": [{"name", "status", "detail", "fix", "error"}]}
    #[arg(long)]
    pub json: bool,
}

/// `inspect` options.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component to inspect [default: the one the other commands run: --plugin,
    /// $VLLM_HARNESS_PLUGIN, else the embedded one]
    #[arg(value_name = "FILE.wasm")]
    pub file: Option<PathBuf>,
    /// Print {"file", "embedded", "bytes", "accepted", "refusal", "world", "imports": [...],
    /// "exports": [...], "version"}
    #[arg(long)]
    pub json: bool,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Models {
            command: ModelsCommand::List(args),
        } => list_models(&cli.global, args).await,
        Command::Chat(args) => chat::run(&cli.global, args).await,
        Command::Config(args) => show_config(&cli.global, args).await,
        Command::Doctor(args) => doctor::run(&cli.global, args).await,
        Command::Inspect(args) => inspect::run(&cli.global, args),
    }
}

async fn list_models(global: &GlobalArgs, args: &ListArgs) -> anyhow::Result<()> {
    if args.provider != models::PROVIDER {
        return Err(Failure::usage(format!(
            "unknown provider `{}`: this plugin serves only `{}`",
            args.provider,
            models::PROVIDER
        ))
        .into());
    }
    let setup = Setup::new(global).await?;
    setup.require_enabled()?;
    let list = setup.models().await?;
    let text = if args.json {
        format!("{}\n", models::list_json(&list))
    } else {
        if list.is_empty() {
            eprintln!("no models");
        }
        models::list_table(&list, &setup.config, setup.file.primary_model.as_deref())
    };
    print(&text)
}

async fn show_config(global: &GlobalArgs, args: &ConfigArgs) -> anyhow::Result<()> {
    let setup = Setup::new(global).await?;
    let text = if args.json {
        format!("{}\n", show_config::to_json(&setup.config))
    } else {
        show_config::to_text(&setup.config, setup.file.primary_model.as_deref())
    };
    print(&text)
}

/// Writes to stdout, reporting (rather than panicking on) write errors.
/// Control characters other than line breaks and tabs are escaped: the text
/// holds what servers and plugins sent (JSON output has none to escape).
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(terminal::text(text).as_bytes())?;
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
    fn help_has_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(help.contains("6  the sandbox refused"), "{help}");
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = Cli::try_parse_from([
            "vllm-harness",
            "chat",
            "--base-url",
            "http://h:1/v1",
            "--max-tokens",
            "5",
            "hi",
        ])
        .expect("parses");
        assert_eq!(cli.global.base_url.as_deref(), Some("http://h:1/v1"));
        let Command::Chat(args) = cli.command else {
            panic!("not chat");
        };
        assert_eq!(args.max_tokens, Some(5));
        assert_eq!(args.prompt, "hi");
    }

    #[test]
    fn usage_errors_are_exit_code_2() {
        let err = Cli::try_parse_from(["vllm-harness", "chat"]).expect_err("no prompt");
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["vllm-harness", "frobnicate"]).expect_err("no such command");
        assert_eq!(err.exit_code(), 2);
    }
}
