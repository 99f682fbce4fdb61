//! One call into the plugin: a fresh store and instance, and the sorting
//! of its outcome into value, provider error or trap.

use wasmtime::Store;

use crate::authority::Authority;
use crate::bindings::{Check, Plugin, ProviderConfig, ProviderError};
use crate::error::{CallError, PluginTrap};
use crate::footprint::Footprint;
use crate::redaction::redact;
use crate::state::HostState;

/// Where a call may send requests.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// `resolve-config`: nowhere.
    NoNetwork,
    /// The base URL's authority.
    Authority(Authority),
    /// The base URL has no usable authority, so nowhere; why.
    BadBaseUrl(String),
    /// The host's own choice ([`crate::HarnessOptions::allowed_authority`]),
    /// whatever base URL the configuration names.
    Pinned(Authority),
}

impl Scope {
    pub(crate) fn of(config: &ProviderConfig) -> Self {
        match Authority::from_url(&config.base_url) {
            Ok(authority) => Self::Authority(authority),
            Err(err) => Self::BadBaseUrl(err.to_string()),
        }
    }
}

/// One instance and its store, for one call or one stream.
pub(crate) struct Call {
    pub(crate) store: Store<HostState>,
    pub(crate) plugin: Plugin,
    pub(crate) scope: Scope,
    pub(crate) secrets: Vec<String>,
    /// How many refusals earlier calls on this store already reported.
    pub(crate) denied_seen: usize,
    /// The pool slot the store's instance lives in, given back when the
    /// call (or stream) ends.
    pub(crate) _slot: crate::slots::Slot,
    /// Where the plugin's warnings go.
    pub(crate) warnings: crate::warnings::WarningLog,
}

impl Call {
    /// Sorts a call's outcome into value, provider error or trap.
    pub(crate) fn finish<T: Footprint>(
        &mut self,
        result: wasmtime::Result<Result<T, ProviderError>>,
    ) -> Result<T, CallError> {
        self.record_warnings();
        match result {
            Ok(Ok(value)) => {
                bounded(&value)?;
                Ok(value)
            }
            Ok(Err(mut error)) => {
                bounded(&error)?;
                self.explain_denial(&mut error);
                error.redact(&self.secrets);
                Err(CallError::Provider(error))
            }
            Err(err) => Err(fault(&self.store, &err, &self.secrets)),
        }
    }

    /// Tidies a diagnosis the way [`Call::finish`] tidies an error: a
    /// refusal by the sandbox is worded by the host, and no secret survives
    /// in any check's text.
    pub(crate) fn finish_checks(
        &mut self,
        result: wasmtime::Result<Vec<Check>>,
    ) -> Result<Vec<Check>, CallError> {
        self.record_warnings();
        let mut checks = result.map_err(|err| fault(&self.store, &err, &self.secrets))?;
        bounded(&checks)?;
        for check in &mut checks {
            if let Some(error) = check.error.as_mut() {
                self.explain_denial(error);
                if let ProviderError::Denied(message) = error {
                    check.detail.clone_from(message);
                }
                error.redact(&self.secrets);
            }
            check.detail = redact(&check.detail, &self.secrets);
            if let Some(fix) = check.fix.as_mut() {
                *fix = redact(fix, &self.secrets);
            }
        }
        Ok(checks)
    }

    /// Takes the warnings of a plugin of 0.2.0 or later into the warning
    /// log. If the plugin cannot answer (it trapped in the call), its
    /// warnings are lost, not the call's result.
    pub(crate) async fn take_plugin_warnings(&mut self) {
        if let Ok(warnings) = self.plugin.take_warnings(&mut self.store).await {
            self.warnings.record_each(&warnings, &self.secrets);
        }
    }

    /// A warning for what `request` asks for that the plugin's version has
    /// no place for, and so is not sent.
    pub(crate) fn note_left_out(&self, request: &crate::bindings::ChatRequest) {
        let left = self.plugin.left_out(request);
        if left.is_empty() {
            return;
        }
        let warning = format!(
            "this plugin speaks vllm:provider@{}, which has no {}: the request went without \
             {}; use a plugin built for a newer version",
            self.plugin.version(),
            left.join(", "),
            if left.len() == 1 { "it" } else { "them" },
        );
        self.warnings.record_each(&[warning], &self.secrets);
    }

    /// Hands the `warning: ` lines the plugin wrote to the warning log.
    fn record_warnings(&self) {
        let output = self.store.data().output.text();
        self.warnings.record(output.as_deref(), &self.secrets);
    }

    /// When the sandbox refused a request in this call, the host knows
    /// exactly what was refused and what is allowed: say that, whatever
    /// words the plugin chose. A `connection` error about the refused
    /// authority is a refusal too (a plugin may not tell them apart).
    fn explain_denial(&mut self, error: &mut ProviderError) {
        let denied = &self.store.data().policy.denied;
        let fresh = denied.get(self.denied_seen..).unwrap_or_default();
        self.denied_seen = denied.len();
        let target = match error {
            ProviderError::Denied(_) => fresh.last(),
            ProviderError::Connection(e) => {
                let authority = normalize_authority(&e.authority);
                fresh.iter().rev().find(|t| **t == authority)
            }
            _ => None,
        };
        let Some(target) = target else {
            return;
        };
        let allowed = match &self.scope {
            Scope::NoNetwork => "resolving the configuration may not use the network".to_owned(),
            Scope::Authority(authority) => {
                format!("the plugin may only reach {authority}, the host and port of the base URL")
            }
            Scope::BadBaseUrl(reason) => {
                format!("no request is allowed because the base URL is unusable: {reason}")
            }
            Scope::Pinned(authority) => {
                format!("the host allows this plugin to reach only {authority}")
            }
        };
        *error = ProviderError::Denied(format!("request to {target} blocked; {allowed}"));
    }
}

/// Refuses an answer past the size limits (see `footprint.rs`).
fn bounded(value: &impl Footprint) -> Result<(), CallError> {
    let size = value.size();
    if size.too_large() {
        return Err(CallError::Trap(PluginTrap::ResultTooLarge {
            bytes: size.bytes,
            items: size.items,
        }));
    }
    Ok(())
}

/// `host:port` as the policy records it (lower case, IPv6 canonical), or
/// the text itself when it does not parse.
fn normalize_authority(authority: &str) -> String {
    Authority::from_url(&format!("http://{authority}/"))
        .map_or_else(|_| authority.to_owned(), |a| a.to_string())
}

/// Turns a wasmtime error into the trap the user sees, using what the
/// store's limits recorded.
pub(crate) fn fault(
    store: &Store<HostState>,
    error: &wasmtime::Error,
    secrets: &[String],
) -> CallError {
    let state = store.data();
    let output = state.output.text().map(|text| redact(&text, secrets));
    let trap = if state.memory.hit {
        PluginTrap::OutOfMemory {
            limit_bytes: state.memory.limit_bytes,
            output,
        }
    } else if state.clock.exceeded {
        PluginTrap::CpuBudgetExceeded {
            budget: state.clock.budget(),
        }
    } else {
        let message = match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => error.root_cause().to_string(),
        };
        let message = message.lines().next().unwrap_or_default().to_owned();
        PluginTrap::Crashed {
            message: redact(&message, secrets),
            output,
            // The chain, not `{:?}`: that would also resolve the host's
            // backtrace when RUST_BACKTRACE is set (slow, and host noise).
            details: redact(
                &error
                    .chain()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\ncaused by: "),
                secrets,
            ),
        }
    };
    CallError::Trap(trap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_normalize_like_the_policy() {
        assert_eq!(normalize_authority("LocalHost:8000"), "localhost:8000");
        assert_eq!(normalize_authority("[0::1]:80"), "[::1]:80");
        assert_eq!(normalize_authority("example.com"), "example.com:80");
        assert_eq!(normalize_authority("not valid::"), "not valid::");
    }
}
