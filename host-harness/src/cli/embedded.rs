//! The provider component built into this binary (see `host-harness/build.rs`):
//! what runs when neither `--plugin` nor `VLLM_HARNESS_PLUGIN` names one.

const BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded_plugin.wasm"));

/// Where the embedded component came from, as the build recorded it.
pub const ORIGIN: &str = include_str!(concat!(env!("OUT_DIR"), "/embedded_plugin.txt"));

/// The embedded component, if this build has one.
pub fn component() -> Option<&'static [u8]> {
    (!BYTES.is_empty()).then_some(BYTES)
}
