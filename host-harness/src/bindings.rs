//! Host bindings for the `vllm:provider@0.1.0` WIT package.
//!
//! Only the provider's own types and exports are generated here: every `wasi:*`
//! interface the world pulls in is mapped with `with:` onto the bindings that
//! `wasmtime-wasi` and `wasmtime-wasi-http` already generate, so the linker
//! functions those crates add and the types here are the same Rust types.

#![allow(
    missing_docs,
    reason = "bindgen-generated code; the WIT carries the docs"
)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "vllm:provider/provider-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
    require_store_data_send: true,
    additional_derives: [PartialEq],
});

pub use self::vllm::provider::types::*;
