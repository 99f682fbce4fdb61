//! Test support for the vLLM provider: an in-process mock vLLM server
//! ([`mock`]), a minimal HTTP/1.1 client to poke at it ([`http_client`]),
//! the guests its build script builds for the tests ([`artifacts`]), a loopback server of canned replies ([`canned`]), and
//! the answers recorded from real vLLM servers ([`recordings`]).

pub mod artifacts;
pub mod canned;
pub mod http_client;
pub mod mock;
pub mod recordings;
