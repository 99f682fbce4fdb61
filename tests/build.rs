//! Builds the guests the harness tests load, the provider component and
//! the hostile test plugin (release, `wasm32-wasip2`), once per change of
//! their sources, and hands their paths to the crate as
//! `VLLM_TESTS_PROVIDER_WASM` and `VLLM_TESTS_HOSTILE_WASM`: no test runs
//! cargo, and none runs against a stale `.wasm`.
//!
//! The guests get a target directory of their own under `OUT_DIR`: cargo
//! holds the lock of the outer one while this script runs.

use std::path::PathBuf;
use std::process::Command;

/// The guests: package, and the variable that carries its `.wasm` path.
const GUESTS: [(&str, &str); 2] = [
    ("vllm-provider", "VLLM_TESTS_PROVIDER_WASM"),
    ("vllm-hostile-plugin", "VLLM_TESTS_HOSTILE_WASM"),
];

/// What the guests are built from, relative to the workspace root.
const SOURCES: [&str; 7] = [
    "Cargo.toml",
    "Cargo.lock",
    "wit",
    "plugin/Cargo.toml",
    "plugin/src",
    "tests/hostile-plugin/Cargo.toml",
    "tests/hostile-plugin/src",
];

fn main() {
    let manifest = PathBuf::from(var("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(&manifest).to_path_buf();
    let target = PathBuf::from(var("OUT_DIR")).join("guests");
    for source in SOURCES {
        println!("cargo::rerun-if-changed={}", root.join(source).display());
    }

    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // This script runs with the variables cargo sets for it (its crate's
    // name, features and cfg, the host's RUSTFLAGS, clippy as the workspace
    // wrapper under `cargo clippy`); the guests' build must see none.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_build_script_var) {
            command.env_remove(name);
        }
    }
    command
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--release", "--target", "wasm32-wasip2"]);
    for (package, _) in GUESTS {
        command.args(["-p", package]);
    }
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run cargo to build the test guests: {err}"));
    if !output.status.success() {
        panic!(
            "building the test guests failed ({}); is the wasm32-wasip2 target \
             installed (`rustup target add wasm32-wasip2`)?\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (package, variable) in GUESTS {
        let wasm = target
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        assert!(
            wasm.is_file(),
            "cargo built the test guests but {} is missing",
            wasm.display()
        );
        println!("cargo::rustc-env={variable}={}", wasm.display());
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}

/// Whether `name` is one cargo sets for this build script rather than
/// configuration the user gave (`CARGO_HOME`, registries, the jobserver).
fn is_build_script_var(name: &str) -> bool {
    const KEPT: [&str; 2] = ["CARGO_HOME", "CARGO_MAKEFLAGS"];
    const KEPT_PREFIXES: [&str; 5] = [
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_TERM_",
    ];
    const SET_FOR_SCRIPTS: [&str; 9] = [
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
    ];
    if KEPT.contains(&name) || KEPT_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    name.starts_with("CARGO_") || SET_FOR_SCRIPTS.contains(&name)
}
