//! Errors of loading and calling the plugin, and the CLI's exit codes.

use std::path::PathBuf;
use std::time::Duration;

use crate::bindings::ProviderError;

/// Loading the plugin failed: nothing can be called.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The `.wasm` file could not be read.
    #[error("cannot read the plugin {}: {source}", path.display())]
    Read {
        /// The file that was tried.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component (not WebAssembly, a core
    /// module, or a component wasmtime cannot compile).
    #[error("the plugin is not a WebAssembly component: {0}")]
    Compile(String),
    /// The component needs imports this host does not provide, or does not
    /// export `vllm:provider/provider@0.1.0`.
    #[error("the plugin does not fit this host: {0}")]
    Link(String),
    /// The component asks for what the sandbox does not grant, or does not
    /// export a provider version this harness speaks; nothing of it ran.
    #[error("the plugin was refused before it ran: {0}")]
    Refused(String),
    /// wasmtime itself could not be set up.
    #[error("cannot set up the WebAssembly runtime: {0}")]
    Engine(String),
}

/// A call into the plugin failed.
///
/// The two cases read differently on purpose: a [`CallError::Provider`] is
/// the server or the configuration saying no (something the user can fix),
/// a [`CallError::Trap`] is the plugin breaking or being stopped by the
/// sandbox (a plugin bug or a limit).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error: see [`ProviderError::user_message`].
    #[error("{}", .0.user_message())]
    Provider(ProviderError),
    /// The plugin trapped, or the sandbox stopped it.
    #[error("{0}")]
    Trap(PluginTrap),
}

/// How the plugin broke or was stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginTrap {
    /// It tried to grow its memory past the store's limit.
    #[error(
        "the plugin was stopped: it needed more than its memory limit of {} MiB{}",
        limit_bytes / (1024 * 1024),
        output_suffix(.output)
    )]
    OutOfMemory {
        /// The limit, in bytes.
        limit_bytes: usize,
        /// The plugin's last stdout/stderr output, if any.
        output: Option<String>,
    },
    /// Its own code ran longer than the CPU budget of one call.
    #[error(
        "the plugin was stopped: it computed for more than {:.1} s in one call (a runaway loop?)",
        budget.as_secs_f64()
    )]
    CpuBudgetExceeded {
        /// The budget that was exceeded.
        budget: Duration,
    },
    /// Its answer was larger than a host takes from a plugin (see
    /// [`crate::MAX_RESULT_BYTES`] and [`crate::MAX_RESULT_ITEMS`]).
    #[error(
        "the plugin was stopped: its answer was too large ({bytes} bytes of text in {items} list \
         items; the limits are {} MiB and {} items)",
        crate::MAX_RESULT_BYTES / (1024 * 1024),
        crate::MAX_RESULT_ITEMS
    )]
    ResultTooLarge {
        /// String bytes in the answer.
        bytes: usize,
        /// List elements in the answer.
        items: usize,
    },
    /// It trapped: a panic, an `unreachable`, a bad memory access, or a
    /// violation of the component model's rules.
    #[error("the plugin crashed (a bug in the plugin, not a server problem): {message}{}", output_suffix(.output))]
    Crashed {
        /// The trap, in one line.
        message: String,
        /// The plugin's last stdout/stderr output (a panic message is here).
        output: Option<String>,
        /// The full wasmtime error, with the wasm backtrace when there is one.
        details: String,
    },
}

fn output_suffix(output: &Option<String>) -> String {
    match output.as_deref().and_then(last_words) {
        Some(words) => format!("; plugin output: {words}"),
        None => String::new(),
    }
}

/// The line of plugin output worth showing: a Rust panic's location and
/// message when there is one, else the last line that is not the standard
/// `RUST_BACKTRACE` note.
fn last_words(output: &str) -> Option<String> {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    if let Some(at) = lines.iter().rposition(|l| l.contains("panicked at")) {
        let head = lines[at];
        let head = head.find("panicked at").map_or(head, |i| &head[i..]);
        let head = head.trim_end_matches(':');
        return Some(match lines.get(at + 1) {
            Some(message) => format!("{head}: {message}"),
            None => head.to_owned(),
        });
    }
    lines.last().map(|l| (*l).to_owned())
}

impl CallError {
    /// A stable name for scripts and logs: the WIT case of a provider
    /// error (`connection`, `invalid-response`, ...), else the trap's
    /// (`out-of-memory`, `cpu-budget-exceeded`, `result-too-large`,
    /// `plugin-crashed`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Provider(error) => error.kind(),
            Self::Trap(PluginTrap::OutOfMemory { .. }) => "out-of-memory",
            Self::Trap(PluginTrap::CpuBudgetExceeded { .. }) => "cpu-budget-exceeded",
            Self::Trap(PluginTrap::ResultTooLarge { .. }) => "result-too-large",
            Self::Trap(PluginTrap::Crashed { .. }) => "plugin-crashed",
        }
    }
}

/// The CLI's exit code for a failed call.
///
/// | code | meaning |
/// |------|---------|
/// | 0 | success |
/// | 1 | anything else: server error, timeout, unreadable reply, plugin crash, I/O |
/// | 2 | usage or configuration error (`invalid-config`, bad CLI usage) |
/// | 3 | cannot connect to the server (`connection`) |
/// | 4 | the server rejected the credentials (`auth`) |
/// | 5 | the server rejected the request (`model-not-found`, `context-length-exceeded`, `bad-request`) |
/// | 6 | the sandbox refused an outgoing request (`denied`), or stopped the plugin at a limit (memory, CPU, answer size) |
pub fn exit_code(error: &CallError) -> i32 {
    match error {
        CallError::Provider(error) => match error {
            ProviderError::InvalidConfig(_) => 2,
            ProviderError::Connection(_) => 3,
            ProviderError::Auth(_) => 4,
            ProviderError::ModelNotFound(_)
            | ProviderError::ContextLengthExceeded(_)
            | ProviderError::BadRequest(_) => 5,
            ProviderError::Denied(_) => 6,
            ProviderError::Server(_)
            | ProviderError::Timeout(_)
            | ProviderError::InvalidResponse(_) => 1,
        },
        CallError::Trap(
            PluginTrap::OutOfMemory { .. }
            | PluginTrap::CpuBudgetExceeded { .. }
            | PluginTrap::ResultTooLarge { .. },
        ) => 6,
        CallError::Trap(PluginTrap::Crashed { .. }) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{
        ConfigError, ConnectionError, ContextLengthError, ModelNotFoundError, ServerError,
    };

    #[test]
    fn exit_codes_follow_the_contract() {
        let p = CallError::Provider;
        let cases = [
            (
                p(ProviderError::InvalidConfig(ConfigError {
                    path: "models.providers.vllm.baseUrl".into(),
                    reason: "not a URL".into(),
                })),
                2,
            ),
            (
                p(ProviderError::Connection(ConnectionError {
                    authority: "127.0.0.1:8000".into(),
                    message: "refused".into(),
                })),
                3,
            ),
            (p(ProviderError::Auth("401".into())), 4),
            (
                p(ProviderError::ModelNotFound(ModelNotFoundError {
                    model: "x".into(),
                    available: vec![],
                    message: String::new(),
                })),
                5,
            ),
            (
                p(ProviderError::ContextLengthExceeded(ContextLengthError {
                    limit: Some(2048),
                    requested: Some(4000),
                    message: String::new(),
                })),
                5,
            ),
            (p(ProviderError::BadRequest("bad".into())), 5),
            (p(ProviderError::Denied("no".into())), 6),
            (
                p(ProviderError::Server(ServerError {
                    status: 500,
                    message: "boom".into(),
                })),
                1,
            ),
            (p(ProviderError::Timeout("slow".into())), 1),
            (p(ProviderError::InvalidResponse("garbage".into())), 1),
            (
                CallError::Trap(PluginTrap::CpuBudgetExceeded {
                    budget: Duration::from_secs(1),
                }),
                6,
            ),
            (
                CallError::Trap(PluginTrap::OutOfMemory {
                    limit_bytes: 1 << 26,
                    output: None,
                }),
                6,
            ),
            (
                CallError::Trap(PluginTrap::ResultTooLarge {
                    bytes: 1 << 30,
                    items: 0,
                }),
                6,
            ),
            (
                CallError::Trap(PluginTrap::Crashed {
                    message: "unreachable".into(),
                    output: None,
                    details: String::new(),
                }),
                1,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(exit_code(&error), code, "{error:?}");
        }
    }

    #[test]
    fn last_words_prefer_the_panic() {
        let panic = "\nthread '<unnamed>' panicked at src/lib.rs:70:13:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            last_words(panic).as_deref(),
            Some("panicked at src/lib.rs:70:13: boom")
        );
        assert_eq!(last_words("a\nlast line\n\n").as_deref(), Some("last line"));
        assert_eq!(last_words("  \n"), None);
    }

    #[test]
    fn traps_and_provider_errors_read_differently() {
        let trap = CallError::Trap(PluginTrap::Crashed {
            message: "wasm `unreachable` instruction executed".into(),
            output: Some("thread panicked at src/sse.rs:10:5:\nindex out of bounds\n".into()),
            details: String::new(),
        })
        .to_string();
        assert!(trap.starts_with("the plugin crashed"), "{trap}");
        assert!(
            trap.ends_with("plugin output: panicked at src/sse.rs:10:5: index out of bounds"),
            "{trap}"
        );

        let oom = CallError::Trap(PluginTrap::OutOfMemory {
            limit_bytes: 64 << 20,
            output: None,
        })
        .to_string();
        assert_eq!(
            oom,
            "the plugin was stopped: it needed more than its memory limit of 64 MiB"
        );

        let provider = CallError::Provider(ProviderError::Timeout("no reply in 30 s".into()));
        assert!(!provider.to_string().contains("plugin"), "{provider}");
    }
}
