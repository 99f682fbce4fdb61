//! Finding the provider component.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::fail::Failure;

/// The component's file name, as cargo builds it.
pub const FILE_NAME: &str = "vllm_provider.wasm";

/// The plugin: `--plugin`, else `$VLLM_HARNESS_PLUGIN`, else the first that
/// exists of `<exe dir>/vllm_provider.wasm`,
/// `<exe dir>/../wasm32-wasip2/release/vllm_provider.wasm` (a binary in
/// `target/<profile>/`) and `<exe dir>/../../wasm32-wasip2/release/vllm_provider.wasm`
/// (a test binary in `target/<profile>/deps/`).
pub fn locate(
    explicit: Option<PathBuf>,
    env: Option<OsString>,
    exe: Option<PathBuf>,
) -> Result<PathBuf, Failure> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let candidates = exe
        .as_deref()
        .and_then(Path::parent)
        .map(candidates)
        .unwrap_or_default();
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        Failure::usage(format!(
            "cannot find the provider plugin ({FILE_NAME}): build it with \
             `cargo build --release --target wasm32-wasip2 -p vllm-provider`, \
             or pass --plugin FILE.wasm (or set VLLM_HARNESS_PLUGIN)"
        ))
    })
}

fn candidates(exe_dir: &Path) -> Vec<PathBuf> {
    let built = Path::new("wasm32-wasip2").join("release").join(FILE_NAME);
    let up = exe_dir.parent();
    let up2 = up.and_then(Path::parent);
    [
        Some(exe_dir.join(FILE_NAME)),
        up.map(|dir| dir.join(&built)),
        up2.map(|dir| dir.join(&built)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_then_env() {
        let got = locate(Some("/a.wasm".into()), Some("/b.wasm".into()), None).expect("path");
        assert_eq!(got, PathBuf::from("/a.wasm"));
        let got = locate(None, Some("/b.wasm".into()), None).expect("path");
        assert_eq!(got, PathBuf::from("/b.wasm"));
    }

    #[test]
    fn found_next_to_the_target_dir() {
        let root = std::env::temp_dir().join(format!("vllm-harness-plugin-{}", std::process::id()));
        let release = root.join("wasm32-wasip2").join("release");
        std::fs::create_dir_all(&release).expect("dirs");
        std::fs::write(release.join(FILE_NAME), b"\0asm").expect("file");
        let exe = root.join("debug").join("vllm-harness");
        let got = locate(None, Some("".into()), Some(exe)).expect("found");
        assert_eq!(got, release.join(FILE_NAME));
        let deps_exe = root.join("debug").join("deps").join("test-bin");
        let got = locate(None, None, Some(deps_exe)).expect("found from deps");
        assert_eq!(got, release.join(FILE_NAME));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn missing_says_how_to_build_it() {
        let err = locate(None, None, Some("/nonexistent/dir/exe".into())).expect_err("missing");
        assert_eq!(err.code, 2);
        assert!(
            err.message
                .contains("cargo build --release --target wasm32-wasip2 -p vllm-provider")
        );
        assert!(err.message.contains("--plugin"));
    }
}
