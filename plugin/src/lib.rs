//! The vLLM model provider.
//!
//! The logic modules are plain Rust that compiles and is tested natively;
//! only `component` (wit-bindgen exports) and `wasi_http` (the transport)
//! exist on `wasm32`. See `wit/since_v0.2.0/provider.wit` for the interface.

pub mod client;
pub mod config;
pub mod deadline;
pub mod diagnose;
pub mod discovery;
pub mod env_subst;
pub mod error;
// Natively only the tests use it; the component's transport does.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod http_error;
mod json;
mod quote;
pub mod request;
pub mod response;
pub mod retry;
pub mod sse;
pub mod stream;
pub mod think;
pub mod thinking_control;
pub mod transport;
pub mod unparsed_calls;
pub mod url;
pub mod usage;
pub mod wit;

#[cfg(test)]
mod fixtures;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod wasi_http;
