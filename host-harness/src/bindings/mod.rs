//! Host bindings for each released version of the `vllm:provider` WIT
//! package, and calls through whichever one a component exports.
//!
//! Every version has a module of its own (`since_v0_1_0`, ...) with its
//! `bindgen!` and conversions to and from the newest version's types
//! ([`latest`]), which are the host's own model of the data: the rest of the
//! harness never sees an older version. Only the provider's own types and
//! exports are generated here: every `wasi:*` interface is mapped with
//! `with:` onto the bindings that `wasmtime-wasi` and `wasmtime-wasi-http`
//! already generate.

mod latest;
mod since_v0_1_0;

pub use self::latest::vllm::provider::types::*;

use since_v0_1_0::Convert as _;
use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny};

use crate::state::HostState;

/// The versions of `vllm:provider` this host speaks, oldest first.
pub const VERSIONS: [&str; 2] = ["0.1.0", "0.2.0"];

/// A call's outcome: a trap (outer) or the provider's own result.
type Outcome<T> = wasmtime::Result<Result<T, ProviderError>>;

/// A component linked for the version it exports, ready to instantiate.
pub(crate) enum PluginPre {
    V0_1_0(since_v0_1_0::ProviderPluginPre<HostState>),
    V0_2_0(latest::ProviderPluginPre<HostState>),
}

impl PluginPre {
    /// Links `pre` as a plugin of `version` (one of [`VERSIONS`]).
    pub(crate) fn new(pre: InstancePre<HostState>, version: &str) -> wasmtime::Result<Self> {
        match version {
            "0.1.0" => Ok(Self::V0_1_0(since_v0_1_0::ProviderPluginPre::new(pre)?)),
            "0.2.0" => Ok(Self::V0_2_0(latest::ProviderPluginPre::new(pre)?)),
            other => Err(wasmtime::Error::msg(format!(
                "vllm:provider@{other} is not a version this host speaks ({})",
                VERSIONS.join(", ")
            ))),
        }
    }

    pub(crate) async fn instantiate_async(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Plugin> {
        Ok(match self {
            Self::V0_1_0(pre) => Plugin::V0_1_0(pre.instantiate_async(store).await?),
            Self::V0_2_0(pre) => Plugin::V0_2_0(pre.instantiate_async(store).await?),
        })
    }
}

/// An instance of a plugin, of the version it exports.
pub(crate) enum Plugin {
    V0_1_0(since_v0_1_0::ProviderPlugin),
    V0_2_0(latest::ProviderPlugin),
}

impl Plugin {
    pub(crate) async fn resolve_config(
        &self,
        store: &mut Store<HostState>,
        input: &ConfigInput,
    ) -> Outcome<ProviderConfig> {
        match self {
            Self::V0_1_0(p) => {
                let input = input.clone().convert();
                let result = p
                    .vllm_provider_provider()
                    .call_resolve_config(store, &input);
                Ok(result.await?.convert())
            }
            Self::V0_2_0(p) => {
                p.vllm_provider_provider()
                    .call_resolve_config(store, input)
                    .await
            }
        }
    }

    pub(crate) async fn discover_models(
        &self,
        store: &mut Store<HostState>,
        config: &ProviderConfig,
    ) -> Outcome<Vec<Model>> {
        match self {
            Self::V0_1_0(p) => {
                let config = config.clone().convert();
                let result = p
                    .vllm_provider_provider()
                    .call_discover_models(store, &config);
                Ok(result.await?.convert())
            }
            Self::V0_2_0(p) => {
                p.vllm_provider_provider()
                    .call_discover_models(store, config)
                    .await
            }
        }
    }

    pub(crate) async fn complete(
        &self,
        store: &mut Store<HostState>,
        config: &ProviderConfig,
        request: &ChatRequest,
    ) -> Outcome<Completion> {
        match self {
            Self::V0_1_0(p) => {
                let (config, request) = (config.clone().convert(), request.clone().convert());
                let result = p
                    .vllm_provider_provider()
                    .call_complete(store, &config, &request);
                Ok(result.await?.convert())
            }
            Self::V0_2_0(p) => {
                p.vllm_provider_provider()
                    .call_complete(store, config, request)
                    .await
            }
        }
    }

    pub(crate) async fn start_stream(
        &self,
        store: &mut Store<HostState>,
        config: &ProviderConfig,
        request: &ChatRequest,
    ) -> Outcome<ResourceAny> {
        match self {
            Self::V0_1_0(p) => {
                let (config, request) = (config.clone().convert(), request.clone().convert());
                let result = p
                    .vllm_provider_provider()
                    .call_start_stream(store, &config, &request);
                Ok(result.await?.map_err(|error| error.convert()))
            }
            Self::V0_2_0(p) => {
                p.vllm_provider_provider()
                    .call_start_stream(store, config, request)
                    .await
            }
        }
    }

    pub(crate) async fn next(
        &self,
        store: &mut Store<HostState>,
        stream: ResourceAny,
    ) -> Outcome<Option<Vec<StreamEvent>>> {
        match self {
            Self::V0_1_0(p) => {
                let provider = p.vllm_provider_provider();
                let streams = provider.completion_stream();
                Ok(streams.call_next(store, stream).await?.convert())
            }
            Self::V0_2_0(p) => {
                let provider = p.vllm_provider_provider();
                let streams = provider.completion_stream();
                streams.call_next(store, stream).await
            }
        }
    }

    pub(crate) async fn diagnose(
        &self,
        store: &mut Store<HostState>,
        config: &ProviderConfig,
        model: Option<&str>,
    ) -> wasmtime::Result<Vec<Check>> {
        match self {
            Self::V0_1_0(p) => {
                let config = config.clone().convert();
                let result = p
                    .vllm_provider_provider()
                    .call_diagnose(store, &config, model);
                Ok(result.await?.convert())
            }
            Self::V0_2_0(p) => {
                p.vllm_provider_provider()
                    .call_diagnose(store, config, model)
                    .await
            }
        }
    }

    /// The plugin's warnings since the last take. A 0.1.0 plugin writes
    /// them to stderr instead (see `warnings.rs`): none here.
    pub(crate) async fn take_warnings(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Vec<String>> {
        match self {
            Self::V0_1_0(_) => Ok(Vec::new()),
            Self::V0_2_0(p) => p.vllm_provider_provider().call_take_warnings(store).await,
        }
    }

    /// What a request asks for that this plugin's version has no place for.
    pub(crate) fn left_out(&self, request: &ChatRequest) -> Vec<&'static str> {
        match self {
            Self::V0_1_0(_) => since_v0_1_0::left_out(request),
            Self::V0_2_0(_) => Vec::new(),
        }
    }

    /// The WIT version this plugin exports.
    pub(crate) fn version(&self) -> &'static str {
        match self {
            Self::V0_1_0(_) => VERSIONS[0],
            Self::V0_2_0(_) => VERSIONS[1],
        }
    }
}
