//! Warnings from the plugin: what it accepted but the user should know (a
//! model card with a bad field, a config key it does not know).
//!
//! `vllm:provider@0.1.0` has no place for them in its results, so the
//! plugin writes each as a line `warning: <text>` to its stderr, which the
//! sandbox captures anyway. After every call the host takes those lines
//! out of the capture, scrubs secrets from them, and keeps each once until
//! [`crate::Harness::take_warnings`] hands them over.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::redaction::redact;

/// How a warning line starts.
pub const WARNING_PREFIX: &str = "warning: ";

/// The most warnings kept between two takes: a plugin that warns in a loop
/// cannot grow host memory.
const MAX_KEPT: usize = 64;

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
