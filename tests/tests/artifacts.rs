//! The build helpers produce what the other tests load.

use std::fs;

use vllm_tests::artifacts::{harness_bin, plugin_wasm};

/// `\0asm`, then the component-model layer and version (`0d 00 01 00`);
/// a core module would have `01 00 00 00`.
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

#[test]
fn plugin_wasm_is_a_component() {
    let path = plugin_wasm();
    assert!(
        path.ends_with("wasm32-wasip2/release/vllm_provider.wasm"),
        "{}",
        path.display()
    );
    let bytes = fs::read(&path).expect("read the plugin");
    assert_eq!(
        bytes.get(..8),
        Some(&COMPONENT_HEADER[..]),
        "{} is not a component",
        path.display()
    );
    assert_eq!(plugin_wasm(), path, "built once, same path");
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
