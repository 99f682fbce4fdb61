//! Bindings for `vllm:provider@0.2.0`, the newest version: its types are the
//! host's own model of the data (see the parent module).

#![allow(
    missing_docs,
    reason = "bindgen-generated code; the WIT carries the docs"
)]

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
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
