//! `inspect [FILE.wasm]`: a component's world, its imports (the capability
//! surface it asks for, each marked granted or refused) and its exports,
//! without running any of it. Without FILE, the plugin the other commands
//! would run (`--plugin`, `$VLLM_HARNESS_PLUGIN`, else the embedded one).

use serde::Serialize;
use vllm_harness::{CompileCache, Harness, Inspection, LoadError};

use super::fail::{Failure, SANDBOX, USAGE};
use super::plugin_path::PluginSource;
use super::{GlobalArgs, InspectArgs, print};

/// Runs `inspect`: exit 0 when the harness would load the component, 6
/// when it would refuse it.
pub fn run(global: &GlobalArgs, args: &InspectArgs) -> anyhow::Result<()> {
    let source = match &args.file {
        Some(file) => PluginSource::File(file.clone()),
        None => super::setup::locate(global)?,
    };
    let wasm = source.read()?;
    let inspection = Harness::inspect(&wasm, &CompileCache::Auto).map_err(|err| match err {
        LoadError::Compile(reason) => anyhow::Error::new(Failure {
            code: USAGE,
            message: format!("{} is not a WebAssembly component: {reason}", source.name()),
        }),
        other => anyhow::Error::new(other),
    })?;
    let text = if args.json {
        format!("{}\n", to_json(&source, wasm.len(), &inspection))
    } else {
        to_text(&source, wasm.len(), &inspection)
    };
    print(&text)?;
    match &inspection.refusal {
        None => Ok(()),
        Some(reason) => Err(Failure {
            code: SANDBOX,
            message: format!("the harness would refuse this plugin: {reason}"),
        }
        .into()),
    }
}

fn to_text(source: &PluginSource, size: usize, inspection: &Inspection) -> String {
    let what = match source {
        PluginSource::File(path) => path.display().to_string(),
        PluginSource::Embedded(_) => {
            format!("embedded in vllm-harness ({})", super::embedded::ORIGIN)
        }
    };
    let mut out = format!("Component {what} ({size} bytes)\n");
    match &inspection.refusal {
        None => out.push_str("Verdict   accepted: the harness will load it\n"),
        Some(reason) => out.push_str(&format!("Verdict   REFUSED: {reason}\n")),
    }
    if let Some(version) = inspection.provider_version() {
        out.push_str(&format!("Version   vllm:provider@{version}\n"));
    }
    out.push_str("\nWorld\n");
    for line in inspection.world().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nImports (what it asks the host for)\n");
    let width = inspection
        .imports
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(0);
    for import in &inspection.imports {
        let verdict = match import.granted {
            Some(what) => format!("granted: {what}"),
            None => "REFUSED: the sandbox does not grant it".to_owned(),
        };
        out.push_str(&format!("  {:<width$}  {verdict}\n", import.name));
    }
    out.push_str("\nExports\n");
    for export in &inspection.exports {
        let functions = match export.functions.len() {
            0 => String::new(),
            1 => ", 1 function".to_owned(),
            n => format!(", {n} functions"),
        };
        out.push_str(&format!("  {} ({}{functions})\n", export.name, export.kind));
    }
    out
}

/// `--json`: `{"file","embedded","bytes","accepted","refusal","world",
/// "imports":[{"name","kind","granted","grants"}],"exports":[{"name","kind",
/// "functions"}],"version"}` (`file`: null for the embedded plugin;
/// `version`: the `vllm:provider` version it is run as, or null).
fn to_json(source: &PluginSource, size: usize, inspection: &Inspection) -> String {
    #[derive(Serialize)]
    struct Import<'a> {
        name: &'a str,
        kind: &'a str,
        granted: bool,
        grants: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Export<'a> {
        name: &'a str,
        kind: &'a str,
        functions: &'a [String],
    }
    #[derive(Serialize)]
    struct Report<'a> {
        file: Option<String>,
        embedded: bool,
        bytes: usize,
        accepted: bool,
        refusal: Option<&'a str>,
        world: String,
        imports: Vec<Import<'a>>,
        exports: Vec<Export<'a>>,
        version: Option<&'a str>,
    }
    let report = Report {
        file: match source {
            PluginSource::File(path) => Some(path.display().to_string()),
            PluginSource::Embedded(_) => None,
        },
        embedded: source.is_embedded(),
        bytes: size,
        accepted: inspection.refusal.is_none(),
        refusal: inspection.refusal.as_deref(),
        world: inspection.world(),
        imports: inspection
            .imports
            .iter()
            .map(|i| Import {
                name: &i.name,
                kind: i.kind,
                granted: i.granted.is_some(),
                grants: i.granted,
            })
            .collect(),
        exports: inspection
            .exports
            .iter()
            .map(|e| Export {
                name: &e.name,
                kind: e.kind,
                functions: &e.functions,
            })
            .collect(),
        version: inspection.provider_version(),
    };
    serde_json::to_string(&report).unwrap_or_default()
}
