//! Embeds the provider component in the `vllm-harness` binary, so that the
//! binary works alone (`cargo install`, a copied release binary).
//!
//! `VLLM_HARNESS_EMBED` chooses what is embedded:
//! - unset: the workspace's `vllm-provider`, built here for `wasm32-wasip2`
//!   (release) in a target directory of its own, since the outer build holds
//!   the lock on the main one; a build without the wasm target fails, saying
//!   how to add it or opt out;
//! - a path: that component file;
//! - `none`: nothing (the binary then needs `--plugin` or `VLLM_HARNESS_PLUGIN`).
//!
//! It writes `$OUT_DIR/embedded_plugin.wasm` (empty for none) and
//! `$OUT_DIR/embedded_plugin.txt`, where the component came from.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const FILE_NAME: &str = "vllm_provider.wasm";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo::rerun-if-env-changed=VLLM_HARNESS_EMBED");
    let choice = env::var("VLLM_HARNESS_EMBED").unwrap_or_default();
    let (bytes, origin) = match choice.trim() {
        "none" => (Vec::new(), "none".to_owned()),
        "" => {
            let workspace = manifest.parent().expect("the crate sits in the workspace");
            if !workspace.join("plugin").join("Cargo.toml").is_file() {
                println!(
                    "cargo::warning=no plugin embedded: {} has no plugin/ crate; set VLLM_HARNESS_EMBED=FILE.wasm to embed one",
                    workspace.display()
                );
                (Vec::new(), "none".to_owned())
            } else {
                let wasm = build_workspace_plugin(workspace, &out);
                let bytes =
                    fs::read(&wasm).unwrap_or_else(|e| panic!("reading {}: {e}", wasm.display()));
                (
                    bytes,
                    format!(
                        "vllm-provider {}, built with this binary",
                        env::var("CARGO_PKG_VERSION").unwrap_or_default()
                    ),
                )
            }
        }
        path => {
            let path = PathBuf::from(path);
            println!("cargo::rerun-if-changed={}", path.display());
            let bytes = fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "VLLM_HARNESS_EMBED={}: cannot read it ({e}); give a component file, or `none`",
                    path.display()
                )
            });
            // Named by its file alone: the builder's folders are not the user's business.
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            (bytes, format!("{name}, given at build time"))
        }
    };
    fs::write(out.join("embedded_plugin.wasm"), bytes).expect("writing the embedded plugin");
    fs::write(out.join("embedded_plugin.txt"), origin).expect("writing where it came from");
}

/// Builds `vllm-provider` for wasm32-wasip2 (release) and returns the file.
fn build_workspace_plugin(workspace: &Path, out: &Path) -> PathBuf {
    for watched in [
        "plugin/src",
        "plugin/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo::rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let target_dir = out.join("plugin-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--locked",
            "--release",
            "--target",
            TARGET,
            "-p",
            "vllm-provider",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags are for the host, not for the component.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("running cargo to build the plugin: {e}"));
    if !status.success() {
        panic!(
            "building the provider component for {TARGET} failed (see above). If the target is missing, \
             run `rustup target add {TARGET}`; to build vllm-harness without an embedded plugin, \
             set VLLM_HARNESS_EMBED=none (or VLLM_HARNESS_EMBED=FILE.wasm to embed a built one)"
        );
    }
    target_dir.join(TARGET).join("release").join(FILE_NAME)
}
