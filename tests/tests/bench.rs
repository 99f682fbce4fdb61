//! `vllm-harness bench --quick` end to end: the load server, the component
//! through the harness, the native client and curl (and pi-ai and the
//! `openai` SDK when `BENCH_NODE` names a Node with `tests/bench/peers`
//! installed, as `tests/run-all.sh` arranges) measured in one run, with
//! every figure present and every client's event count checked by the
//! benchmark itself.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use vllm_tests::artifacts::{bench_native_bin, load_server_bin, workspace_root};

use common::TempDir;
use common::cli_run::Cli;

/// A debug build compiles the plugin several times over; a generous bound.
const BENCH_TIMEOUT: Duration = Duration::from_secs(900);

/// The load server, killed when dropped.
struct LoadServer {
    child: Child,
    base_url: String,
}

impl LoadServer {
    fn start() -> Self {
        let mut child = Command::new(load_server_bin())
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the load server");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("its first line");
        let origin = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            base_url: format!("{origin}/v1"),
        }
    }
}

impl Drop for LoadServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_curl() -> bool {
    Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `NAME=COMMAND` for every peer this machine can run.
fn peers() -> Vec<(String, String)> {
    let peers_dir = workspace_root().join("tests/bench/peers");
    let mut peers = vec![(
        "native".to_owned(),
        bench_native_bin().display().to_string(),
    )];
    if has_curl() {
        let script = peers_dir.join("curl.sh");
        peers.push(("curl".into(), format!("bash {}", script.display())));
    }
    if let Some(node) = std::env::var_os("BENCH_NODE").map(PathBuf::from) {
        for name in ["pi-ai", "openai"] {
            let script = peers_dir.join(format!("{name}.mjs"));
            peers.push((
                name.to_owned(),
                format!("{} {}", node.display(), script.display()),
            ));
        }
    } else {
        eprintln!("BENCH_NODE is not set: pi-ai and the openai SDK are not measured here");
    }
    peers
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn a_quick_run_measures_every_client_and_figure() {
    let server = LoadServer::start();
    let out = TempDir::new("bench");
    let peers = peers();
    let (json, markdown, svg) = (
        out.path().join("results.json"),
        out.path().join("tables.md"),
        out.path().join("bench.svg"),
    );
    let mut args: Vec<String> = vec![
        "bench".into(),
        "--quick".into(),
        "--base-url".into(),
        server.base_url.clone(),
        "--ceiling".into(),
        format!("{} ceiling", load_server_bin().display()),
    ];
    for (flag, path) in [
        ("--json", &json),
        ("--markdown", &markdown),
        ("--svg", &svg),
    ] {
        args.extend([flag.to_owned(), path.display().to_string()]);
    }
    for (name, program) in &peers {
        args.extend(["--peer".to_owned(), format!("{name}={program}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = Cli::new().run_within(&args, BENCH_TIMEOUT);
    run.code(0);
    assert!(
        run.stdout.contains("## Targets"),
        "the tables are printed:\n{}",
        run.stdout
    );

    let results = read_json(&json);
    let clients = results["clients"].as_array().expect("clients");
    let names: Vec<&str> = clients.iter().filter_map(|c| c["name"].as_str()).collect();
    // The baseline first, then the component, then the other peers.
    assert_eq!(names.first(), Some(&"native"), "{names:?}");
    assert_eq!(names.get(1), Some(&"component"), "{names:?}");
    assert_eq!(names.len(), peers.len() + 1, "{names:?}");
    for client in clients {
        let name = &client["name"];
        assert_eq!(client["failures"], Value::Array(vec![]), "{name}: {client}");
        for figure in ["latency", "ttft"] {
            let p50 = client[figure]["p50_us"].as_u64();
            assert!(p50.is_some_and(|v| v > 0), "{name} {figure}: {client}");
        }
        let models: Vec<&str> = client["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .filter_map(|s| s["model"].as_str())
            .collect();
        assert_eq!(models, ["text-w64", "text", "reasoning", "tools"], "{name}");
        let levels: Vec<u64> = client["concurrency"]
            .as_array()
            .expect("concurrency")
            .iter()
            .map(|c| {
                assert_eq!(c["errors"], 0, "{name}: {c}");
                assert!(c["max_rss_kib"].as_u64().is_some_and(|k| k > 0), "{c}");
                c["streams"].as_u64().expect("streams")
            })
            .collect();
        assert_eq!(levels, [1, 10], "{name}");
        assert!(client["process_us"].as_u64().is_some(), "{name}: {client}");
    }

    let component = &results["component"];
    assert_eq!(component["failures"], Value::Array(vec![]), "{component}");
    for figure in [
        "wasm_bytes",
        "cold_start_us",
        "warm_start_us",
        "instantiate_call_us",
        "process_cold_us",
        "process_warm_us",
        "chat_rss_kib",
    ] {
        assert!(
            component[figure].as_u64().is_some_and(|v| v > 0),
            "{figure}: {component}"
        );
    }
    let ceiling: Vec<&str> = results["ceiling"]
        .as_array()
        .expect("ceiling")
        .iter()
        .filter_map(|r| r["model"].as_str())
        .collect();
    assert_eq!(ceiling, ["text-w64", "text"]);

    let targets = results["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 10, "{targets:?}");
    for target in targets {
        let name = target["name"].as_str().unwrap_or_default();
        // The quick plan has no thousand streams; pi-ai runs only with Node.
        let may_be_unmeasured = name.starts_with("1000 concurrent")
            || (name.ends_with("against pi-ai") && std::env::var_os("BENCH_NODE").is_none());
        if !may_be_unmeasured {
            assert!(target["met"].is_boolean(), "{target}");
        }
    }

    let tables = std::fs::read_to_string(&markdown).expect("markdown written");
    assert_eq!(tables.trim(), run.stdout.trim());
    let plot = std::fs::read_to_string(&svg).expect("svg written");
    assert!(plot.starts_with("<svg"), "{}", &plot[..plot.len().min(200)]);
    for name in &names {
        assert!(plot.contains(name), "the plot names {name}");
    }
}
