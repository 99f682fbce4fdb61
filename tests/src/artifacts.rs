//! Builds what the tests run, once per test process, so no test runs
//! against a stale `.wasm` or binary: `$CARGO build ...` from the workspace
//! root, into the target directory cargo itself reports (so
//! `CARGO_TARGET_DIR` and cargo config are honoured). On failure the
//! helpers panic with cargo's output.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo that runs the tests (`$CARGO`), else `cargo` from `PATH`.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Variables cargo sets for the test process itself. A nested cargo must
/// not inherit them: build scripts watch some (ring's reruns when
/// `CARGO_MANIFEST_DIR` changes), so an inherited value would make the
/// nested build and the next `cargo test` rebuild each other's crates.
fn is_per_crate_cargo_var(name: &str) -> bool {
    const EXACT: [&str; 8] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_EXE_")
}

/// Runs cargo in the workspace root; `Err` carries its output.
fn run_cargo(args: &[&str]) -> Result<Vec<u8>, String> {
    let mut command = Command::new(cargo());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_per_crate_cargo_var) {
            command.env_remove(name);
        }
    }
    let output = command
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("could not run `cargo {}`: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "`cargo {}` failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Caches a build step's outcome, success or failure, for the process.
fn once(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    build: impl FnOnce() -> Result<PathBuf, String>,
) -> PathBuf {
    match cell.get_or_init(build) {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// The target directory as cargo resolves it (`cargo metadata`).
pub fn target_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&DIR, || {
        let stdout = run_cargo(&["metadata", "--format-version", "1", "--no-deps"])?;
        let metadata: serde_json::Value = serde_json::from_slice(&stdout)
            .map_err(|e| format!("cargo metadata is not JSON: {e}"))?;
        metadata
            .get("target_directory")
            .and_then(serde_json::Value::as_str)
            .map(PathBuf::from)
            .ok_or_else(|| "cargo metadata has no target_directory".to_owned())
    })
}

/// Builds the plugin (`--release --target wasm32-wasip2 -p vllm-provider`)
/// once and returns `<target>/wasm32-wasip2/release/vllm_provider.wasm`.
pub fn plugin_wasm() -> PathBuf {
    static WASM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&WASM, || component("vllm-provider"))
}

/// Builds the hostile test plugin (`tests/hostile-plugin`, release,
/// wasm32-wasip2) once and returns its `.wasm`.
pub fn hostile_wasm() -> PathBuf {
    static WASM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&WASM, || component("vllm-hostile-plugin"))
}

/// `cargo build --release --target wasm32-wasip2 -p <package>` and the
/// path of its `.wasm` (the package name with `_` for `-`).
fn component(package: &str) -> Result<PathBuf, String> {
    run_cargo(&[
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "-p",
        package,
    ])?;
    let file = format!("{}.wasm", package.replace('-', "_"));
    existing(target_dir().join("wasm32-wasip2/release").join(file))
}

/// Builds the harness CLI (`-p vllm-harness --bin vllm-harness`, debug)
/// once and returns `<target>/debug/vllm-harness`.
pub fn harness_bin() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BIN, || debug_bin("vllm-harness"))
}

/// Builds the benchmark's load server (`-p vllm-load-server`, debug) once
/// and returns `<target>/debug/vllm-load-server`.
pub fn load_server_bin() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BIN, || debug_bin("vllm-load-server"))
}

/// Builds the benchmark's native client (`-p vllm-bench-native`, debug)
/// once and returns `<target>/debug/vllm-bench-native`.
pub fn bench_native_bin() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BIN, || debug_bin("vllm-bench-native"))
}

/// `cargo build -p <package> --bin <package>` (debug) and the binary's path.
fn debug_bin(package: &str) -> Result<PathBuf, String> {
    run_cargo(&["build", "-p", package, "--bin", package])?;
    let name = format!("{package}{}", std::env::consts::EXE_SUFFIX);
    existing(target_dir().join("debug").join(name))
}

fn existing(path: PathBuf) -> Result<PathBuf, String> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "cargo succeeded but {} does not exist",
            path.display()
        ))
    }
}
