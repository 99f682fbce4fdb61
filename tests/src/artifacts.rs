//! What the tests load, built before any test runs: the guests by this
//! crate's build script (`build.rs`), once per change of their sources.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The provider component (`vllm-provider`, release, wasm32-wasip2).
pub fn plugin_wasm() -> PathBuf {
    PathBuf::from(env!("VLLM_TESTS_PROVIDER_WASM"))
}

/// The hostile test plugin (`tests/hostile-plugin`, release, wasm32-wasip2).
pub fn hostile_wasm() -> PathBuf {
    PathBuf::from(env!("VLLM_TESTS_HOSTILE_WASM"))
}

/// The provider as built against `vllm:provider@0.1.0`, kept as it was
/// (see `tests/fixtures/provider-0.1.0/README.md`).
pub fn plugin_0_1_0_wasm() -> PathBuf {
    workspace_root().join("tests/fixtures/provider-0.1.0/vllm_provider.wasm")
}
