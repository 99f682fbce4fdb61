//! The wasmtime engine every harness in this process shares: its linker,
//! its pool of instance slots and its epoch ticker.
//!
//! Building an engine with its pool (about 2.5 ms) and a linker with WASI
//! and `wasi:http` (about 0.3 ms) costs more than loading a cached plugin,
//! and neither depends on the plugin or the harness options: they are made
//! once per process. A pooled slot is reused for every call, so a call maps
//! and unmaps no memory or stack of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::LoadError;
use crate::limits::EPOCH_TICK;
use crate::state::HostState;

/// How many plugin stores (calls and open streams together) the process
/// runs at once by default; another call waits for a slot. Each slot
/// reserves address space, not memory: what a plugin touches is what it
/// costs. [`STORES_VAR`] sets another number for the process; a harness can
/// hold itself to fewer ([`crate::HarnessOptions::max_live_stores`]).
pub const MAX_LIVE_STORES: u32 = 1024;

/// The environment variable that sizes the pool (1 to 100 000), read once,
/// when the first harness of the process is loaded.
pub const STORES_VAR: &str = "VLLM_HARNESS_MAX_STORES";

/// The most core instances, tables and stacks one store may use. The
/// provider component has three core modules (its code, the canonical-ABI
/// shim and its fix-ups) and two tables; the headroom is for other builds.
const CORE_INSTANCES_PER_STORE: u32 = 4;
const TABLES_PER_STORE: u32 = 4;

/// What every harness shares.
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    /// One permit per pool slot; `None` when the pool could not be made
    /// and instances are allocated on demand (no limit to wait on).
    slots: Option<Arc<Semaphore>>,
}

impl Shared {
    /// The pool's slots, one permit each; `None` when instances are not
    /// pooled (see `slots.rs`).
    pub(crate) fn pool(&self) -> Option<Arc<Semaphore>> {
        self.slots.clone()
    }
}

/// The engine, linker and slots of this process, made on first use.
pub(crate) fn shared() -> Result<&'static Shared, LoadError> {
    static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
    SHARED
        .get_or_init(build)
        .as_ref()
        .map_err(|reason| LoadError::Engine(reason.clone()))
}

fn build() -> Result<Shared, String> {
    let stores = match std::env::var(STORES_VAR) {
        Err(_) => MAX_LIVE_STORES,
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| format!("{STORES_VAR}={text:?} is not a number from 1 to 100000"))?,
    };
    // A pool reserves address space up front; where that is refused (a
    // `ulimit -v`, a 32-bit host) instances are allocated on demand.
    let (engine, slots) = match Engine::new(&config(Some(pool(stores)))) {
        Ok(engine) => (engine, Some(Arc::new(Semaphore::new(stores as usize)))),
        Err(_) => (
            Engine::new(&config(None)).map_err(|err| err.to_string())?,
            None,
        ),
    };
    let linker = new_linker(&engine)?;
    Ok(Shared {
        engine,
        linker,
        slots,
    })
}

/// Async support is always on in wasmtime 48; epoch interruption is what
/// stops a runaway plugin (see `limits.rs`).
fn config(pool: Option<PoolingAllocationConfig>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if let Some(pool) = pool {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Slots for `stores` stores. Memories keep wasmtime's 4 GiB maximum, so
/// that bounds checks stay elided; the store's own limiter applies the
/// harness's memory cap.
fn pool(stores: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(stores)
        .total_core_instances(stores * CORE_INSTANCES_PER_STORE)
        .total_memories(stores)
        .total_tables(stores * TABLES_PER_STORE)
        .total_stacks(stores);
    // No `linear_memory_keep_resident`: it saves the page faults of a
    // reused slot but keeps about 1 MiB resident per slot ever used, which
    // at a thousand open streams is a gigabyte.
    pool
}

/// WASI p2 (for the std runtime the plugin links against; the sandbox is in
/// what the store's `WasiCtx` grants) plus wasi-http's outgoing handler and
/// types.
fn new_linker(engine: &Engine) -> Result<Linker<HostState>, String> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
        .map_err(|err| format!("cannot link WASI: {err}"))?;
    Ok(linker)
}

/// The epoch ticker, running while any harness holds it.
pub(crate) fn ticker(engine: &Engine) -> Result<Arc<EpochTicker>, LoadError> {
    static TICKER: Mutex<Weak<EpochTicker>> = Mutex::new(Weak::new());
    // A poisoned lock only means another load panicked; the slot is still
    // a plain `Weak`.
    let mut slot = TICKER.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some(running) = slot.upgrade() {
        return Ok(running);
    }
    let ticker = Arc::new(EpochTicker::start(engine)?);
    *slot = Arc::downgrade(&ticker);
    Ok(ticker)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread
/// until dropped (or until the engine is gone).
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> Result<Self, LoadError> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("vllm-harness-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|err| LoadError::Engine(format!("cannot start the epoch ticker: {err}")))?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_engine_and_one_ticker_for_every_harness() {
        let first = shared().expect("engine");
        let second = shared().expect("engine");
        assert!(Engine::same(&first.engine, &second.engine));
        let a = ticker(&first.engine).expect("ticker");
        let b = ticker(&first.engine).expect("ticker");
        assert!(Arc::ptr_eq(&a, &b));
    }
}
