//! Warnings from the plugin: what it accepted but the user should know (a
//! model card with a bad field, a config key it does not know).
//!
//! A plugin of `vllm:provider@0.2.0` or later returns them from
//! `take-warnings`, which the host calls after every call. `0.1.0` has no
//! place for them, so such a plugin writes each as a line `warning: <text>`
//! to its stderr, which the sandbox captures anyway; after every call the
//! host takes those lines out of the capture. Either way the host scrubs
//! secrets from them and keeps each once until
//! [`crate::Harness::take_warnings`] hands them over.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::redaction::redact;

/// How a warning line starts.
pub const WARNING_PREFIX: &str = "warning: ";

/// The most warnings kept between two takes: a plugin that warns in a loop
/// cannot grow host memory.
const MAX_KEPT: usize = 64;

/// The longest warning kept, in characters.
const MAX_WARNING_CHARS: usize = 2000;

/// The warnings gathered since the last take, shared by every call of a
/// harness.
#[derive(Debug, Clone, Default)]
pub(crate) struct WarningLog {
    kept: Arc<Mutex<Vec<String>>>,
}

impl WarningLog {
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        // A panic while holding this lock cannot leave the Vec inconsistent.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the warning lines of a call's captured output.
    pub(crate) fn record(&self, output: Option<&str>, secrets: &[String]) {
        let Some(output) = output else {
            return;
        };
        let mut kept = self.lock();
        for line in output.lines() {
            let Some(text) = line.trim_end().strip_prefix(WARNING_PREFIX) else {
                continue;
            };
            let text = redact(text.trim(), secrets);
            if !text.is_empty() && kept.len() < MAX_KEPT && !kept.contains(&text) {
                kept.push(text);
            }
        }
    }

    /// Keeps warnings the plugin returned (`take-warnings`), each cut to
    /// [`MAX_WARNING_CHARS`] and on one line.
    pub(crate) fn record_each(&self, warnings: &[String], secrets: &[String]) {
        let mut kept = self.lock();
        for warning in warnings {
            let line: String = warning
                .chars()
                .take(MAX_WARNING_CHARS)
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                .collect();
            let text = redact(line.trim(), secrets);
            if !text.is_empty() && kept.len() < MAX_KEPT && !kept.contains(&text) {
                kept.push(text);
            }
        }
    }

    /// The warnings kept so far, in order; the log is empty afterwards.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_lines_are_kept_once_and_scrubbed() {
        let log = WarningLog::default();
        let secrets = vec!["sk-secret-1234".to_owned()];
        log.record(
            Some("noise\nwarning: card `a` is odd\nwarning: key sk-secret-1234 echoed\nwarning: card `a` is odd\npanicked at x"),
            &secrets,
        );
        log.record(None, &secrets);
        assert_eq!(log.take(), ["card `a` is odd", "key <redacted> echoed"]);
        assert!(log.take().is_empty());
    }
}
