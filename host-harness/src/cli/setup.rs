//! What every command does first: read the config file, load the plugin,
//! resolve the provider configuration.

use std::io::IsTerminal;
use std::time::Duration;

use vllm_harness::{
    API_KEY_VAR, ConfigInput, Harness, HarnessOptions, LoadError, Model, ProviderConfig,
    ProviderMode, env_from_process, is_secret_name,
};

use super::GlobalArgs;
use super::config_file::{self, ConfigFile};
use super::fail::Failure;
use super::plugin_path::{self, PluginSource};
use super::secrets;

/// A loaded plugin and the configuration it resolved.
#[derive(Debug)]
pub struct Setup {
    /// The plugin.
    pub harness: Harness,
    /// What `resolve-config` returned.
    pub config: ProviderConfig,
    /// What the config file said.
    pub file: ConfigFile,
}

impl Setup {
    /// Reads the config file, loads the plugin and resolves the config.
    pub async fn new(global: &GlobalArgs) -> anyhow::Result<Self> {
        let file = config_file::load(global.config.as_deref())?;
        let plugin = Plugin::load(global, &file)?;
        let config = plugin.resolve(global, &file).await?;
        Ok(Self {
            harness: plugin.harness,
            config,
            file,
        })
    }

    /// Fails with exit code 2 when nothing opts in to the provider.
    pub fn require_enabled(&self) -> Result<(), Failure> {
        if self.config.mode == ProviderMode::Disabled {
            return Err(Failure::usage(format!(
                "the vllm provider is disabled: {} (or pass --base-url URL)",
                self.config.reason.trim().trim_end_matches('.')
            )));
        }
        Ok(())
    }

    /// The provider's models: the configured ones, or in discover mode the
    /// server's (which need a network round trip).
    pub async fn models(&self) -> anyhow::Result<Vec<Model>> {
        match self.config.mode {
            ProviderMode::Discover => {
                let spinner = Spinner::start("discovering models");
                let models = self.harness.discover_models(&self.config).await;
                drop(spinner);
                show_warnings(&self.harness);
                Ok(models?)
            }
            ProviderMode::Explicit | ProviderMode::Disabled => Ok(self.config.models.clone()),
        }
    }

    /// The config with the discovered models in it (discover mode), as
    /// complete/stream want it for context-window clamping and costs.
    pub async fn config_with_models(&self) -> anyhow::Result<ProviderConfig> {
        let mut config = self.config.clone();
        if config.mode == ProviderMode::Discover {
            config.models = self.models().await?;
        }
        Ok(config)
    }
}

/// The loaded plugin and the environment it was given, before the
/// configuration is resolved.
#[derive(Debug)]
pub struct Plugin {
    /// The plugin.
    pub harness: Harness,
    /// Where it came from.
    source: PluginSource,
    /// Its bytes, for [`Plugin::describe`].
    wasm: std::borrow::Cow<'static, [u8]>,
    env: Vec<vllm_harness::KeyValue>,
}

impl Plugin {
    /// Loads the plugin with exactly `VLLM_API_KEY` and the variables the
    /// provider section names; registers the secret ones for scrubbing.
    pub fn load(global: &GlobalArgs, file: &ConfigFile) -> anyhow::Result<Self> {
        let source = locate(global)?;
        let wasm = source.read()?;

        let mut env_names = vec![API_KEY_VAR.to_owned()];
        env_names.extend(file.env_refs.iter().cloned());
        let env = env_from_process(&env_names);
        for kv in &env {
            if is_secret_name(&kv.name) {
                secrets::register(&kv.value);
            }
        }

        let options = HarnessOptions {
            env_names,
            memory_limit: usize::try_from(global.memory_limit)
                .map_or(usize::MAX, |mib| mib.saturating_mul(1024 * 1024)),
            cpu_budget: Duration::from_secs_f64(global.cpu_budget),
            ..HarnessOptions::default()
        };
        let harness = Harness::from_bytes(&wasm, options).map_err(|err| match err {
            LoadError::Read { .. } => anyhow::Error::new(Failure::usage(err.to_string())),
            LoadError::Compile(reason) => anyhow::Error::new(Failure::usage(format!(
                "{} is not a WebAssembly component: {reason}",
                source.name()
            ))),
            LoadError::Refused(_) => anyhow::Error::new(Failure {
                code: super::fail::SANDBOX,
                message: err.to_string(),
            }),
            other => anyhow::Error::new(other),
        })?;
        if let Some(warning) = &harness.load_info().cache_warning {
            eprintln!("warning: {}", super::terminal::line(warning));
        }
        Ok(Self {
            harness,
            source,
            wasm,
            env,
        })
    }

    /// Which component it is and where it came from ([`PluginSource::describe`]);
    /// only `doctor` asks, so the digest is not computed for every command.
    pub fn describe(&self) -> String {
        self.source
            .describe(&self.wasm, self.harness.inspection().provider_version())
    }

    /// `resolve-config` with the file's provider section and `--base-url`,
    /// then `--timeout` over its `timeoutSeconds`; registers the key and
    /// secret headers for scrubbing.
    pub async fn resolve(
        &self,
        global: &GlobalArgs,
        file: &ConfigFile,
    ) -> Result<ProviderConfig, vllm_harness::CallError> {
        let config = self
            .harness
            .resolve_config(ConfigInput {
                provider_json: file.provider_json.clone(),
                env: self.env.clone(),
                auth_profile_key: None,
                base_url_override: global.base_url.clone(),
            })
            .await;
        show_warnings(&self.harness);
        let mut config = config?;
        if let Some(seconds) = global.timeout {
            config.timeout_ms = timeout_ms(seconds);
        }
        if let Some(key) = &config.api_key {
            secrets::register(key);
        }
        for header in config.headers.iter().filter(|h| is_secret_name(&h.name)) {
            secrets::register(&header.value);
        }
        Ok(config)
    }
}

/// Prints the plugin's warnings (see [`Harness::take_warnings`]) on stderr,
/// one `warning:` line each, escaped for the terminal.
pub fn show_warnings(harness: &Harness) {
    for warning in harness.take_warnings() {
        eprintln!(
            "warning: {}",
            super::terminal::line(&secrets::scrub(&warning))
        );
    }
}

/// The plugin the global options choose (see [`plugin_path::locate`]).
pub fn locate(global: &GlobalArgs) -> Result<PluginSource, Failure> {
    plugin_path::locate(
        global.plugin.clone(),
        std::env::var_os("VLLM_HARNESS_PLUGIN"),
        super::embedded::component(),
        std::env::current_exe().ok(),
    )
}

/// `--timeout SECONDS` in whole milliseconds, as the plugin reads
/// `timeoutSeconds`: rounded, and never zero for a positive value.
/// `parse_seconds` has already bounded it to (0, 86400].
fn timeout_ms(seconds: f64) -> u64 {
    // In range: at most 86 400 000, so the cast neither saturates nor wraps.
    ((seconds * 1000.0).round() as u64).max(1)
}

/// A one-line progress note on stderr while something slow happens, only
/// when stderr is a terminal; erased when dropped.
pub struct Spinner {
    shown: bool,
}

impl Spinner {
    /// Shows `what...` if stderr is a terminal.
    pub fn start(what: &str) -> Self {
        let shown = std::io::stderr().is_terminal();
        if shown {
            eprint!("\x1b[2m{what}...\x1b[0m");
        }
        Self { shown }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if self.shown {
            // Carriage return and erase the line.
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_seconds_become_whole_milliseconds() {
        assert_eq!(timeout_ms(0.5), 500);
        assert_eq!(timeout_ms(120.0), 120_000);
        assert_eq!(timeout_ms(0.0001), 1);
        assert_eq!(timeout_ms(86_400.0), 86_400_000);
    }
}
