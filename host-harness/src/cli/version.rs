//! `--version`: the harness's version, then the plugin it would run (the
//! embedded one unless `--plugin` or `VLLM_HARNESS_PLUGIN` names another)
//! with its `vllm:provider` version. Only worked out when asked for: it
//! reads (and may compile) the component.

use std::ffi::OsString;
use std::path::PathBuf;

use vllm_harness::{CompileCache, Harness};

use super::plugin_path;

/// Whether the command line asks for the version.
pub fn asked(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--version" || arg == "-V")
}

/// The `--plugin` value on a raw command line, if any.
fn plugin_arg(args: &[OsString]) -> Option<PathBuf> {
    let mut found = None;
    let mut rest = args.iter().skip(1).take_while(|arg| *arg != "--");
    while let Some(arg) = rest.next() {
        if arg == "--plugin" {
            found = rest.next().map(PathBuf::from);
        } else if let Some(value) = arg.to_str().and_then(|a| a.strip_prefix("--plugin=")) {
            found = Some(PathBuf::from(value));
        }
    }
    found
}

/// What `--version` prints after the program's name.
pub fn text(args: &[OsString]) -> String {
    let harness = env!("CARGO_PKG_VERSION");
    let plugin = match plugin_path::locate(
        plugin_arg(args),
        std::env::var_os("VLLM_HARNESS_PLUGIN"),
        super::embedded::component(),
        std::env::current_exe().ok(),
    ) {
        Err(failure) => format!("none: {}", failure.message),
        Ok(source) => match source.read() {
            Err(failure) => format!("unreadable: {}", failure.message),
            Ok(wasm) => {
                let version = Harness::inspect(&wasm, &CompileCache::Auto)
                    .ok()
                    .and_then(|inspection| inspection.provider_version().map(str::to_owned));
                let mut line = source.describe(&wasm, version.as_deref());
                if version.is_none() {
                    line.push_str(" (not a vllm:provider component)");
                }
                line
            }
        },
    };
    format!("{harness}\nplugin: {}", super::terminal::line(&plugin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsStr::new).map(OsStr::to_owned).collect()
    }

    #[test]
    fn version_is_asked_for_before_a_double_dash_only() {
        assert!(asked(&args(&["vllm-harness", "--version"])));
        assert!(asked(&args(&["vllm-harness", "--plugin", "x.wasm", "-V"])));
        assert!(!asked(&args(&["vllm-harness", "chat", "--", "--version"])));
        assert!(!asked(&args(&["vllm-harness", "models", "list"])));
    }

    #[test]
    fn the_plugin_argument_is_found_in_both_spellings() {
        assert_eq!(
            plugin_arg(&args(&["h", "--plugin", "a.wasm", "-V"])),
            Some(PathBuf::from("a.wasm"))
        );
        assert_eq!(
            plugin_arg(&args(&["h", "--plugin=b.wasm", "-V"])),
            Some(PathBuf::from("b.wasm"))
        );
        assert_eq!(plugin_arg(&args(&["h", "-V"])), None);
    }
}
