//! Finding the provider component.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::fail::Failure;

/// The component's file name, as cargo builds it.
pub const FILE_NAME: &str = "vllm_provider.wasm";

/// Where the component that runs comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A file: `--plugin`, `$VLLM_HARNESS_PLUGIN`, or one found beside the binary.
    File(PathBuf),
    /// The component built into this binary.
    Embedded(&'static [u8]),
}

impl PluginSource {
    /// The component's bytes.
    pub fn read(&self) -> Result<Cow<'static, [u8]>, Failure> {
        match self {
            Self::File(path) => std::fs::read(path)
                .map(Cow::Owned)
                .map_err(|err| Failure::usage(format!("cannot read {}: {err}", path.display()))),
            Self::Embedded(bytes) => Ok(Cow::Borrowed(bytes)),
        }
    }

    /// How messages name it: the file's path, or "the embedded plugin".
    pub fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Embedded(_) => "the embedded plugin".to_owned(),
        }
    }

    /// Whether it is the one built into this binary.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Self::Embedded(_))
    }

    /// What it is, for `inspect`, `doctor` and `--version`: the file or
    /// "embedded (<origin>)", then the component's WIT version (when known)
    /// and the start of its SHA-256.
    pub fn describe(&self, wasm: &[u8], wit_version: Option<&str>) -> String {
        let mut out = match self {
            Self::File(path) => path.display().to_string(),
            Self::Embedded(_) => format!("embedded ({})", super::embedded::ORIGIN),
        };
        if let Some(version) = wit_version {
            let _ = write!(out, ", vllm:provider@{version}");
        }
        let digest = Sha256::digest(wasm);
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let _ = write!(out, ", sha256 {hex}...");
        out
    }
}

/// The plugin: `--plugin`, else `$VLLM_HARNESS_PLUGIN`, else the `embedded`
/// one, else the first that exists of `<exe dir>/vllm_provider.wasm`,
/// `<exe dir>/../wasm32-wasip2/release/vllm_provider.wasm` (a binary in
/// `target/<profile>/`) and `<exe dir>/../../wasm32-wasip2/release/vllm_provider.wasm`
/// (a test binary in `target/<profile>/deps/`).
pub fn locate(
    explicit: Option<PathBuf>,
    env: Option<OsString>,
    embedded: Option<&'static [u8]>,
    exe: Option<PathBuf>,
) -> Result<PluginSource, Failure> {
    if let Some(path) = explicit {
        return Ok(PluginSource::File(path));
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Ok(PluginSource::File(PathBuf::from(path)));
    }
    if let Some(bytes) = embedded {
        return Ok(PluginSource::Embedded(bytes));
    }
    let candidates = exe
        .as_deref()
        .and_then(Path::parent)
        .map(candidates)
        .unwrap_or_default();
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .map(PluginSource::File)
        .ok_or_else(|| {
            Failure::usage(format!(
                "this vllm-harness was built without an embedded plugin and none is beside it \
                 ({FILE_NAME}): pass --plugin FILE.wasm (or set VLLM_HARNESS_PLUGIN), or build \
                 the plugin with `cargo build --release --target wasm32-wasip2 -p vllm-provider`"
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
        let embedded: &'static [u8] = b"\0asm";
        let got = locate(
            Some("/a.wasm".into()),
            Some("/b.wasm".into()),
            Some(embedded),
            None,
        )
        .expect("path");
        assert_eq!(got, PluginSource::File("/a.wasm".into()));
        let got = locate(None, Some("/b.wasm".into()), Some(embedded), None).expect("path");
        assert_eq!(got, PluginSource::File("/b.wasm".into()));
        let got = locate(None, Some("".into()), Some(embedded), None).expect("embedded");
        assert_eq!(got, PluginSource::Embedded(embedded));
    }

    #[test]
    fn found_next_to_the_target_dir() {
        let root = std::env::temp_dir().join(format!("vllm-harness-plugin-{}", std::process::id()));
        let release = root.join("wasm32-wasip2").join("release");
        std::fs::create_dir_all(&release).expect("dirs");
        std::fs::write(release.join(FILE_NAME), b"\0asm").expect("file");
        let exe = root.join("debug").join("vllm-harness");
        let got = locate(None, Some("".into()), None, Some(exe)).expect("found");
        assert_eq!(got, PluginSource::File(release.join(FILE_NAME)));
        let deps_exe = root.join("debug").join("deps").join("test-bin");
        let got = locate(None, None, None, Some(deps_exe)).expect("found from deps");
        assert_eq!(got, PluginSource::File(release.join(FILE_NAME)));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn missing_says_how_to_build_it() {
        let err =
            locate(None, None, None, Some("/nonexistent/dir/exe".into())).expect_err("missing");
        assert_eq!(err.code, 2);
        assert!(
            err.message
                .contains("cargo build --release --target wasm32-wasip2 -p vllm-provider")
        );
        assert!(err.message.contains("--plugin"));
    }
}
