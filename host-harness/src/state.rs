//! The per-call store data: WASI and wasi-http contexts plus the sandbox.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::authority::Authority;
use crate::capture::OutputTail;
use crate::limits::{GuestClock, MemoryCap};
use crate::sandbox::HttpPolicy;

/// What one store knows: a fresh one is made for every call (or stream).
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    pub(crate) policy: HttpPolicy,
    pub(crate) memory: MemoryCap,
    pub(crate) clock: GuestClock,
    pub(crate) output: OutputTail,
}

/// The knobs a [`HostState`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct StateConfig<'a> {
    pub(crate) env: &'a [(String, String)],
    pub(crate) memory_limit: usize,
    pub(crate) cpu_budget: Duration,
    pub(crate) max_response_bytes: u64,
}

impl HostState {
    pub(crate) fn new(config: StateConfig<'_>) -> Self {
        let output = OutputTail::default();
        // No preopens, no arguments, no stdin, no sockets: only the chosen
        // environment variables and a sink for stdout/stderr.
        let wasi = WasiCtx::builder()
            .envs(config.env)
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            // No network until the call that uses this store says where.
            policy: HttpPolicy::new(None, config.max_response_bytes),
            memory: MemoryCap::new(config.memory_limit),
            clock: GuestClock::new(config.cpu_budget),
            output,
        }
    }
}

impl HostState {
    /// Lets the plugin reach `allowed` (none: nowhere) for the call this
    /// store serves.
    pub(crate) fn allow(&mut self, allowed: Option<Authority>) {
        self.policy = HttpPolicy::new(allowed, self.policy.max_response_bytes());
    }
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("policy", &self.policy)
            .field("memory", &self.memory)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.policy,
        }
    }
}
