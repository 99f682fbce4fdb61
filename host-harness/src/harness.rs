//! The harness: a loaded plugin and the calls into it.

use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use wasmtime::Store;

use crate::authority::Authority;
use crate::bindings::{
    ChatRequest, Check, Completion, ConfigInput, Model, PluginPre, ProviderConfig,
};
use crate::cache::{CompileCache, LoadInfo, load_component};
use crate::call::{Call, Scope, fault};
use crate::engine::{self, EpochTicker};
use crate::env::API_KEY_VAR;
use crate::error::{CallError, LoadError};
use crate::inspect::Inspection;
use crate::limits;
use crate::redaction::{config_secrets, input_secrets};
use crate::slots::{Slot, Slots};
use crate::spare::{Prepared, Spare};
use crate::state::{HostState, StateConfig};
use crate::stream::PluginStream;

/// Settings of a [`Harness`]. `Default` is the sandbox the CLI uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessOptions {
    /// Largest linear memory one plugin instance may have, in bytes.
    /// Default 64 MiB. Going past it traps ([`crate::PluginTrap::OutOfMemory`]).
    pub memory_limit: usize,
    /// CPU time the plugin's own code may use in one call (one `next()` of a
    /// stream counts as one call); time blocked in host calls, such as
    /// waiting on the network, does not count. Default 10 s. Going past it
    /// traps ([`crate::PluginTrap::CpuBudgetExceeded`]).
    pub cpu_budget: Duration,
    /// Largest HTTP response body the plugin may read, in bytes. Default
    /// 256 MiB. Past it the plugin's read fails with `HTTP-response-body-size`.
    pub max_response_bytes: u64,
    /// Process environment variables the plugin sees through
    /// `wasi:cli/environment` (the values are read once, at load). Default
    /// just `VLLM_API_KEY`. The provider reads its env from
    /// [`ConfigInput::env`]; see [`crate::env_from_process`].
    pub env_names: Vec<String>,
    /// Where compiled components are cached.
    pub cache: CompileCache,
    /// The operator's pin: when set, the plugin may reach only this
    /// authority, whatever base URL a configuration (which the plugin
    /// itself resolved) names. Default none: the base URL's authority.
    pub allowed_authority: Option<Authority>,
    /// Most plugin stores (calls and open streams together) this harness
    /// runs at once; another call waits until one ends. Default `None`: as
    /// many as the process's pool holds ([`crate::MAX_LIVE_STORES`], or
    /// [`crate::STORES_VAR`]), which every harness of the process shares.
    pub max_live_stores: Option<NonZeroU32>,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        Self {
            memory_limit: 64 * 1024 * 1024,
            cpu_budget: Duration::from_secs(10),
            max_response_bytes: 256 * 1024 * 1024,
            env_names: vec![API_KEY_VAR.to_owned()],
            cache: CompileCache::Auto,
            allowed_authority: None,
            max_live_stores: None,
        }
    }
}

/// A loaded, linked plugin. Cheap to clone; every call gets a fresh store.
#[derive(Clone)]
pub struct Harness {
    inner: Arc<Inner>,
}

struct Inner {
    shared: &'static engine::Shared,
    pre: PluginPre,
    options: HarnessOptions,
    env: Vec<(String, String)>,
    load_info: LoadInfo,
    inspection: Inspection,
    /// Where this harness's stores may live (see `slots.rs`).
    slots: Slots,
    /// The next call's instance, made ahead (see `spare.rs`).
    spare: Mutex<Spare>,
    /// The plugin's warnings not yet taken (see `warnings.rs`).
    warnings: crate::warnings::WarningLog,
    _ticker: Arc<EpochTicker>,
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("options", &self.inner.options)
            .field("load_info", &self.inner.load_info)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// Reads, compiles (or loads from the cache) and links the component at
    /// `path`, and starts the epoch ticker. Blocking: compiling takes tens
    /// to hundreds of milliseconds on a cache miss.
    pub fn load(path: impl AsRef<Path>, options: HarnessOptions) -> Result<Self, LoadError> {
        let path = path.as_ref();
        let wasm = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&wasm, options)
    }

    /// Like [`Harness::load`], from the component's bytes.
    ///
    /// Before anything is instantiated, the component's imports and exports
    /// are inspected: one that imports an interface the sandbox does not
    /// grant, or does not export a supported `vllm:provider/provider`, is
    /// refused with [`LoadError::Refused`] naming what is wrong.
    pub fn from_bytes(wasm: &[u8], options: HarnessOptions) -> Result<Self, LoadError> {
        let shared = engine::shared()?;
        let engine = &shared.engine;
        let (component, load_info) = load_component(engine, wasm, &options.cache)?;
        let inspection = Inspection::of(engine, &component);
        if let Some(reason) = &inspection.refusal {
            return Err(LoadError::Refused(reason.clone()));
        }
        let slots = Slots::new(shared.pool(), options.max_live_stores);
        let instance_pre = shared
            .linker
            .instantiate_pre(&component)
            .map_err(|err| LoadError::Link(format!("{err:#}")))?;
        let version = inspection.provider_version().unwrap_or_default();
        let pre = PluginPre::new(instance_pre, version)
            .map_err(|err| LoadError::Link(format!("{err:#}")))?;
        let env = options
            .env_names
            .iter()
            .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?)))
            .collect();
        let ticker = engine::ticker(engine)?;
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                pre,
                options,
                env,
                load_info,
                inspection,
                slots,
                spare: Mutex::new(Spare::default()),
                warnings: crate::warnings::WarningLog::default(),
                _ticker: ticker,
            }),
        })
    }

    /// Reads a component's imports and exports without running it, and says
    /// whether [`Harness::load`] would refuse it (`refusal`).
    pub fn inspect(wasm: &[u8], cache: &CompileCache) -> Result<Inspection, LoadError> {
        let engine = &engine::shared()?.engine;
        let (component, _) = load_component(engine, wasm, cache)?;
        Ok(Inspection::of(engine, &component))
    }

    /// What the loaded component imports and exports.
    pub fn inspection(&self) -> &Inspection {
        &self.inner.inspection
    }

    /// How the component was loaded (cache hit, time taken).
    pub fn load_info(&self) -> &LoadInfo {
        &self.inner.load_info
    }

    /// The warnings the plugin gave since the last take, in order, each
    /// once, secrets scrubbed: lines it wrote to stderr starting with
    /// `warning: ` (a model card with a bad field, a config key it does
    /// not know). Shared by every call of this harness and its clones.
    pub fn take_warnings(&self) -> Vec<String> {
        self.inner.warnings.take()
    }

    /// The options this harness was loaded with.
    pub fn options(&self) -> &HarnessOptions {
        &self.inner.options
    }

    /// `resolve-config`: base URL, key, headers, timeout, models and mode.
    /// The plugin gets no network for this call.
    pub async fn resolve_config(&self, input: ConfigInput) -> Result<ProviderConfig, CallError> {
        let mut call = self.start(Scope::NoNetwork, input_secrets(&input)).await?;
        let result = call.plugin.resolve_config(&mut call.store, &input).await;
        let outcome = call.finish(result);
        call.take_plugin_warnings().await;
        outcome
    }

    /// `discover-models`: the server's models (`GET {base}/models`).
    pub async fn discover_models(&self, config: &ProviderConfig) -> Result<Vec<Model>, CallError> {
        let mut call = self
            .start(Scope::of(config), config_secrets(config))
            .await?;
        let result = call.plugin.discover_models(&mut call.store, config).await;
        let outcome = call.finish(result);
        call.take_plugin_warnings().await;
        outcome
    }

    /// `complete`: one chat request, waiting for the whole reply.
    pub async fn complete(
        &self,
        config: &ProviderConfig,
        request: ChatRequest,
    ) -> Result<Completion, CallError> {
        let mut call = self
            .start(Scope::of(config), config_secrets(config))
            .await?;
        call.note_left_out(&request);
        let result = call
            .plugin
            .complete(&mut call.store, config, &request)
            .await;
        let outcome = call.finish(result);
        call.take_plugin_warnings().await;
        outcome
    }

    /// `start-stream`: one chat request, streamed. The returned stream owns
    /// its store; dropping it aborts the HTTP request.
    pub async fn stream(
        &self,
        config: &ProviderConfig,
        request: ChatRequest,
    ) -> Result<PluginStream, CallError> {
        let mut call = self
            .start(Scope::of(config), config_secrets(config))
            .await?;
        call.note_left_out(&request);
        let result = call
            .plugin
            .start_stream(&mut call.store, config, &request)
            .await;
        let handle = call.finish(result);
        call.take_plugin_warnings().await;
        let handle = handle?;
        Ok(PluginStream::new(call, handle, self.clone()))
    }

    /// `diagnose`: the plugin's checks of the server (reachable, `/health`,
    /// `/version`, auth, models, a one-token completion with `model`, tools),
    /// in order; problems are checks with a fix, not errors. An error means
    /// the plugin itself could not run.
    pub async fn diagnose(
        &self,
        config: &ProviderConfig,
        model: Option<&str>,
    ) -> Result<Vec<Check>, CallError> {
        let mut call = self
            .start(Scope::of(config), config_secrets(config))
            .await?;
        let result = call.plugin.diagnose(&mut call.store, config, model).await;
        let outcome = call.finish_checks(result);
        call.take_plugin_warnings().await;
        outcome
    }

    /// A fresh sandboxed store and instance for one call.
    async fn start(&self, scope: Scope, secrets: Vec<String>) -> Result<Call, CallError> {
        let inner = &*self.inner;
        let scope = match (scope, &inner.options.allowed_authority) {
            (Scope::NoNetwork, _) => Scope::NoNetwork,
            (_, Some(pin)) => Scope::Pinned(pin.clone()),
            (scope, None) => scope,
        };
        let allowed = match &scope {
            Scope::Authority(authority) | Scope::Pinned(authority) => Some(authority.clone()),
            Scope::NoNetwork | Scope::BadBaseUrl(_) => None,
        };
        let spare = self.spare().take();
        let prepared = match spare {
            Some(prepared) => prepared,
            None => {
                let slot = inner.slots.slot().await;
                self.prepare(slot)
                    .await
                    .map_err(|(store, err)| fault(&store, &err, &secrets))?
            }
        };
        self.refill();
        let Prepared {
            mut store,
            plugin,
            slot,
        } = prepared;
        store.data_mut().allow(allowed);
        store.data_mut().clock.start_call();
        Ok(Call {
            store,
            plugin,
            scope,
            secrets,
            denied_seen: 0,
            _slot: slot,
            warnings: inner.warnings.clone(),
        })
    }

    /// A store and instance in `slot`, with no network allowed yet.
    async fn prepare(&self, slot: Slot) -> Result<Prepared, (Store<HostState>, wasmtime::Error)> {
        let inner = &*self.inner;
        let state = HostState::new(StateConfig {
            env: &inner.env,
            memory_limit: inner.options.memory_limit,
            cpu_budget: inner.options.cpu_budget,
            max_response_bytes: inner.options.max_response_bytes,
        });
        let mut store = Store::new(&inner.shared.engine, state);
        limits::install(&mut store);
        store.data_mut().clock.start_call();
        match inner.pre.instantiate_async(&mut store).await {
            Ok(plugin) => Ok(Prepared {
                store,
                plugin,
                slot,
            }),
            Err(err) => Err((store, err)),
        }
    }

    /// Makes the next call's instance in the background, unless one is
    /// ready or being made, or no pool slot is free (a waiting call must
    /// not lose a slot to a spare), or there is no runtime to run it on.
    fn refill(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.spare().begin_fill() {
            return;
        }
        let Ok(slot) = self.inner.slots.free_slot() else {
            self.spare().filled(None);
            return;
        };
        let harness = self.clone();
        runtime.spawn(async move {
            let prepared = harness.prepare(slot).await.ok();
            // Once every slot is taken, a call may be waiting for one: the
            // spare gives its slot back rather than keep it from that call.
            let keep = harness.inner.slots.has_free_slot();
            harness.spare().filled(prepared.filter(|_| keep));
        });
    }

    fn spare(&self) -> MutexGuard<'_, Spare> {
        // The lock only guards a swap of an `Option`; a panic elsewhere
        // cannot leave it half-done.
        self.inner
            .spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
