//! The wasmtime engine, its epoch ticker and the linker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::component::Linker;
use wasmtime::{Config, Engine};

use crate::error::LoadError;
use crate::limits::EPOCH_TICK;
use crate::state::HostState;

/// Builds the engine every store of a harness shares: async support is
/// always on in wasmtime 48; epoch interruption is what stops a runaway
/// plugin (see `limits.rs`).
pub(crate) fn new_engine() -> Result<Engine, LoadError> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    Engine::new(&config).map_err(|err| LoadError::Engine(err.to_string()))
}

/// Builds the linker: WASI p2 (for the std runtime the plugin links against;
/// the sandbox is in what the store's `WasiCtx` grants) plus wasi-http's
/// outgoing handler and types.
pub(crate) fn new_linker(engine: &Engine) -> Result<Linker<HostState>, LoadError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
        .map_err(|err| LoadError::Engine(format!("cannot link WASI: {err}")))?;
    Ok(linker)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread
/// until dropped (or until the engine is gone).
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> Result<Self, LoadError> {
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
