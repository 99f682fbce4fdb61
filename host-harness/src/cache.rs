//! The on-disk cache of compiled components.
//!
//! Compiling the component takes hundreds of milliseconds in a release host
//! (and about 13x that in a debug one); mapping a compiled artifact takes
//! about 0.3 ms. Entries are keyed by the SHA-256 of the wasm bytes, the
//! layout version, the wasmtime version and the engine's compatibility hash
//! (target, tunables, features), so a rebuilt plugin or a different engine
//! configuration never picks up a stale entry.
//!
//! Each file is exactly the artifact `Component::serialize` wrote, mapped
//! into memory as it is (no copy, no read of pages the plugin never runs).
//! Writes go to a temporary file that is synced and then renamed into
//! place, so no process ever sees a partial entry, and an entry is never
//! changed once written (a mapped file must not change under its mapping).
//! wasmtime checks the artifact's format, version and engine settings
//! when it maps it; a file it refuses is recompiled and overwritten, never
//! fatal. Only the most recent [`MAX_ENTRIES`] entries are kept.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;

/// The pinned wasmtime version (see the workspace `Cargo.toml`), part of the key.
const WASMTIME_VERSION: &str = "48.0.8";
/// Part of every key; bump the digit when what an entry holds changes.
const LAYOUT: &[u8] = b"vllm-harness-cwasm-2";
/// How many compiled components the cache directory keeps.
pub const MAX_ENTRIES: usize = 8;
const EXTENSION: &str = "cwasm";

/// Where compiled components are cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CompileCache {
    /// `$VLLM_HARNESS_CACHE_DIR`, else `$XDG_CACHE_HOME/vllm-harness`, else
    /// `$HOME/.cache/vllm-harness`; no cache when none of them is set.
    #[default]
    Auto,
    /// This directory.
    Dir(PathBuf),
    /// Compile every time.
    Off,
}

impl CompileCache {
    /// The directory this setting stands for, if any.
    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            Self::Auto => default_cache_dir(|name| std::env::var_os(name)),
            Self::Dir(dir) => Some(dir.clone()),
            Self::Off => None,
        }
    }
}

/// The default cache directory, reading variables through `var`.
fn default_cache_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty("VLLM_HARNESS_CACHE_DIR") {
        return Some(dir);
    }
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(xdg) = non_empty("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("vllm-harness"));
    }
    non_empty("HOME").map(|home| home.join(".cache").join("vllm-harness"))
}

/// How the component was loaded: what the benchmark and diagnostics report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadInfo {
    /// Whether the compiled artifact came from the cache.
    pub cache_hit: bool,
    /// The cache file used or written, when caching was on.
    pub cache_file: Option<PathBuf>,
    /// Time spent reading, compiling or deserializing the component.
    pub elapsed: Duration,
    /// A cache problem that was worked around (unwritable directory,
    /// corrupt entry, ...); loading succeeded regardless.
    pub cache_warning: Option<String>,
}

/// Compiles `wasm`, or loads it from the cache.
pub(crate) fn load_component(
    engine: &Engine,
    wasm: &[u8],
    cache: &CompileCache,
) -> Result<(Component, LoadInfo), LoadError> {
    let start = Instant::now();
    let Some(dir) = cache.dir() else {
        let component = compile(engine, wasm)?;
        return Ok((component, info(false, None, start, None)));
    };
    let file = dir.join(format!("{}.{EXTENSION}", cache_key(engine, wasm)));
    let mut warning = None;
    if file.is_file() {
        match deserialize(engine, &file) {
            Ok(component) => return Ok((component, info(true, Some(file), start, None))),
            Err(reason) => {
                warning = Some(format!(
                    "recompiled the plugin: cache entry {} was unusable ({reason})",
                    file.display()
                ));
            }
        }
    }
    let component = compile(engine, wasm)?;
    let stored = component
        .serialize()
        .map_err(|err| err.to_string())
        .and_then(|artifact| store(&dir, &file, &artifact).map_err(|err| err.to_string()));
    let cache_file = match stored {
        Ok(()) => {
            prune(&dir, MAX_ENTRIES);
            Some(file)
        }
        Err(err) => {
            let note = format!("cannot write the compile cache in {}: {err}", dir.display());
            warning = Some(match warning {
                Some(earlier) => format!("{earlier}; {note}"),
                None => note,
            });
            None
        }
    };
    Ok((component, info(false, cache_file, start, warning)))
}

fn info(hit: bool, file: Option<PathBuf>, start: Instant, warning: Option<String>) -> LoadInfo {
    LoadInfo {
        cache_hit: hit,
        cache_file: file,
        elapsed: start.elapsed(),
        cache_warning: warning,
    }
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, LoadError> {
    if let Some(reason) = not_a_component(wasm) {
        return Err(LoadError::Compile(reason.to_owned()));
    }
    Component::new(engine, wasm).map_err(|err| LoadError::Compile(format!("{err:#}")))
}

/// Why `wasm` cannot be a component, judged by its first eight bytes (the
/// magic and the version/layer), in words: a file that is not WebAssembly
/// at all, or a core module where a component is needed.
fn not_a_component(wasm: &[u8]) -> Option<&'static str> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_MODULE: [u8; 4] = [1, 0, 0, 0];
    if !wasm.starts_with(MAGIC) {
        return Some(
            "it is not WebAssembly at all (it does not start with the \\0asm magic bytes): pass \
             the provider's .wasm file, e.g. target/wasm32-wasip2/release/vllm_provider.wasm",
        );
    }
    if wasm.get(4..8) == Some(&CORE_MODULE[..]) {
        return Some(
            "it is a core WebAssembly module, and the harness loads only components: build the \
             plugin for wasm32-wasip2 (which makes a component), or wrap the module with \
             `wasm-tools component new`",
        );
    }
    None
}

/// SHA-256 of the wasm, the wasmtime version and the engine's compatibility
/// hash, in hex.
pub(crate) fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.0.update(Sha256::digest(wasm));
    hasher.0.update(LAYOUT);
    hasher.0.update(WASMTIME_VERSION.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize())
}

/// Feeds a `Hash` implementation into SHA-256 (`finish` is never used).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn deserialize(engine: &Engine, file: &Path) -> Result<Component, String> {
    // SAFETY: `Component::deserialize_file` trusts the file to be an
    // artifact that `Component::serialize` produced for a compatible
    // engine, and maps it, so it must not change while mapped. The name is
    // derived from this engine's compatibility hash; entries are only ever
    // written whole, under another name, and renamed into place, never
    // modified; and the directory is the user's own (whoever can write
    // there can already change what the user runs). wasmtime still checks
    // the format, the version and the engine settings.
    unsafe { Component::deserialize_file(engine, file) }.map_err(|err| format!("{err:#}"))
}

/// Writes a cache entry atomically: a temporary file, then a rename.
fn store(dir: &Path, file: &Path, artifact: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(artifact)?;
        f.sync_all()
    });
    match written.and_then(|()| fs::rename(&tmp, file)) {
        Ok(()) => Ok(()),
        Err(err) => {
            let _ = fs::remove_file(&tmp);
            Err(err)
        }
    }
}

/// Deletes all but the `keep` most recently modified entries.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == EXTENSION))
        .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in files.into_iter().skip(keep) {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn cache_dir_precedence() {
        let all = vars(&[
            ("VLLM_HARNESS_CACHE_DIR", "/explicit"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(default_cache_dir(all), Some(PathBuf::from("/explicit")));
        let xdg = vars(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]);
        assert_eq!(
            default_cache_dir(xdg),
            Some(PathBuf::from("/xdg/vllm-harness"))
        );
        let relative_xdg = vars(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/u")]);
        assert_eq!(
            default_cache_dir(relative_xdg),
            Some(PathBuf::from("/home/u/.cache/vllm-harness"))
        );
        let empty = vars(&[("VLLM_HARNESS_CACHE_DIR", ""), ("HOME", "/h")]);
        assert_eq!(
            default_cache_dir(empty),
            Some(PathBuf::from("/h/.cache/vllm-harness"))
        );
        assert_eq!(default_cache_dir(vars(&[])), None);
    }

    #[test]
    fn key_depends_on_the_wasm() {
        let engine = Engine::default();
        let a = cache_key(&engine, b"a");
        assert_eq!(a, cache_key(&engine, b"a"));
        assert_ne!(a, cache_key(&engine, b"b"));
        assert_eq!(a.len(), 64);
    }

    /// The smallest valid component: just the preamble.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "vllm-harness-cache-test-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn miss_then_hit_then_recovers_from_corruption() {
        let engine = Engine::default();
        let dir = scratch_dir("roundtrip");
        let cache = CompileCache::Dir(dir.clone());

        let (_, first) = load_component(&engine, EMPTY_COMPONENT, &cache).expect("compile");
        assert!(!first.cache_hit);
        assert_eq!(first.cache_warning, None);
        let file = first.cache_file.expect("entry written");
        assert!(file.exists());

        let (_, second) = load_component(&engine, EMPTY_COMPONENT, &cache).expect("load");
        assert!(second.cache_hit);

        let whole = fs::read(&file).expect("entry");
        for damaged in [&b"garbage"[..], &whole[..whole.len() / 2]] {
            fs::write(&file, damaged).expect("damage the entry");
            let (_, third) = load_component(&engine, EMPTY_COMPONENT, &cache).expect("recompile");
            assert!(!third.cache_hit);
            assert!(third.cache_warning.is_some_and(|w| w.contains("unusable")));
            let (_, fourth) = load_component(&engine, EMPTY_COMPONENT, &cache).expect("load again");
            assert!(fourth.cache_hit);
        }

        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_cache_is_not_fatal() {
        let engine = Engine::default();
        let dir = scratch_dir("unwritable");
        fs::write(&dir, b"a file where the directory should be").expect("block the dir");
        let cache = CompileCache::Dir(dir.clone());
        let (_, info) = load_component(&engine, EMPTY_COMPONENT, &cache).expect("compile");
        assert!(!info.cache_hit);
        assert!(info.cache_file.is_none());
        assert!(info.cache_warning.is_some());
        let _ = fs::remove_file(&dir);
    }

    #[test]
    fn not_a_component_is_a_compile_error() {
        let engine = Engine::default();
        let result = load_component(&engine, b"not wasm", &CompileCache::Off);
        assert!(matches!(result, Err(LoadError::Compile(_))));
    }

    #[test]
    fn prune_keeps_the_newest() {
        let dir = scratch_dir("prune");
        fs::create_dir_all(&dir).expect("dir");
        for i in 0..5 {
            let path = dir.join(format!("{i}.{EXTENSION}"));
            fs::write(&path, b"x").expect("entry");
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + i);
            fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(time))
                .expect("mtime");
        }
        fs::write(dir.join("other.txt"), b"keep me").expect("other file");
        prune(&dir, 2);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .expect("read dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec!["3.cwasm", "4.cwasm", "other.txt"]);
        let _ = fs::remove_dir_all(&dir);
    }
}
