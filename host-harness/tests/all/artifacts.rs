//! What the other tests load is there before they run: the guests the
//! build script of `vllm-tests` built, and the CLI binary.

use std::fs;
use std::path::Path;

use vllm_tests::artifacts::{hostile_wasm, plugin_wasm};

use crate::common::harness_bin;

/// `\0asm`, then the component-model layer and version (`0d 00 01 00`);
/// a core module would have `01 00 00 00`.
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

fn assert_component(path: &Path, file: &str) {
    assert!(
        path.ends_with(format!("wasm32-wasip2/release/{file}")),
        "{}",
        path.display()
    );
    let bytes = fs::read(path).expect("read the guest");
    assert_eq!(
        bytes.get(..8),
        Some(&COMPONENT_HEADER[..]),
        "{} is not a component",
        path.display()
    );
}

#[test]
fn the_guests_are_release_components() {
    assert_component(&plugin_wasm(), "vllm_provider.wasm");
    assert_component(&hostile_wasm(), "vllm_hostile_plugin.wasm");
}

#[test]
fn harness_bin_is_built() {
    let path = harness_bin();
    assert!(path.is_file(), "{}", path.display());
    assert!(path.ends_with(format!(
        "debug/vllm-harness{}",
        std::env::consts::EXE_SUFFIX
    )));
}
