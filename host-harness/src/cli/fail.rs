//! CLI failures that carry their own exit code.

use std::fmt;

/// The exit code of usage and configuration errors.
pub const USAGE: i32 = 2;

/// The exit code of a refusal by the sandbox (an outgoing request, or the
/// plugin itself at load).
pub const SANDBOX: i32 = 6;

/// An error with a fixed exit code (usage and configuration problems).
#[derive(Debug)]
pub struct Failure {
    /// The process exit code.
    pub code: i32,
    /// One line for the user.
    pub message: String,
}

impl Failure {
    /// A usage or configuration error: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// How a failed run ends.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Print `error: <message>` on stderr and exit with the code.
    Report {
        /// The exit code.
        code: i32,
        /// The message, secrets scrubbed.
        message: String,
    },
    /// stdout was closed (`| head`): stop quietly with success.
    BrokenPipe,
}

/// The exit code and message for an error that ended the run.
pub fn ending(err: &anyhow::Error) -> Ending {
    let broken_pipe = err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return Ending::BrokenPipe;
    }
    let call = err.downcast_ref::<vllm_harness::CallError>();
    let code = match (err.downcast_ref::<Failure>(), call) {
        (Some(failure), _) => failure.code,
        (None, Some(call)) => vllm_harness::exit_code(call),
        (None, None) => 1,
    };
    let mut message = format!("{err:#}");
    if let Some(vllm_harness::CallError::Trap(vllm_harness::PluginTrap::OutOfMemory { .. })) = call
    {
        // The library names the limit; the CLI knows the knob that raises it.
        message.push_str(
            "; a large prompt or reply needs more: raise the limit with --memory-limit MIB (at \
             most 4096)",
        );
    }
    Ending::Report {
        code,
        message: super::secrets::scrub(&message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vllm_harness::{CallError, ConnectionError, ProviderError};

    #[test]
    fn endings() {
        let usage = anyhow::Error::new(Failure::usage("bad flag"));
        assert_eq!(
            ending(&usage),
            Ending::Report {
                code: 2,
                message: "bad flag".into()
            }
        );
        let call = anyhow::Error::new(CallError::Provider(ProviderError::Connection(
            ConnectionError {
                authority: "127.0.0.1:9".into(),
                message: "refused".into(),
            },
        )));
        assert!(matches!(ending(&call), Ending::Report { code: 3, .. }));
        let other = anyhow::anyhow!("something else");
        assert!(matches!(ending(&other), Ending::Report { code: 1, .. }));
        let pipe = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(ending(&pipe), Ending::BrokenPipe);
    }
}
