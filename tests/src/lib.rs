//! Test support for the vLLM provider: an in-process mock vLLM server
//! ([`mock`]), a minimal HTTP/1.1 client to poke at it ([`http_client`]),
//! and helpers that build the component and the harness before tests use
//! them ([`artifacts`]).

pub mod artifacts;
pub mod http_client;
pub mod mock;
