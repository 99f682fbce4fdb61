//! The sandbox against a plugin that attacks it (`tests/hostile-plugin`)
//! and against components that ask for too much (written here in the
//! component text format): every attempt is denied, trapped or refused at
//! load with an error that names what was refused, the CLI exits 6, and
//! the same host keeps serving afterwards.

use std::path::PathBuf;
use std::time::Duration;

use vllm_harness::{
    CallError, ChatRequest, CompileCache, ConfigInput, Harness, HarnessOptions, LoadError,
    PluginTrap, ProviderConfig, ProviderError,
};
use vllm_tests::artifacts::{hostile_wasm, plugin_wasm};

use crate::common::cli_run::Cli;
use crate::common::{TempDir, refused_port, shared_compile_cache};

/// The CPU budget of the hostile plugin's calls: its loop must be stopped
/// quickly.
const BUDGET: Duration = Duration::from_millis(500);

async fn hostile() -> Harness {
    tokio::task::spawn_blocking(|| {
        Harness::load(
            hostile_wasm(),
            HarnessOptions {
                cpu_budget: BUDGET,
                cache: CompileCache::Dir(shared_compile_cache()),
                ..HarnessOptions::default()
            },
        )
        .expect("the hostile plugin loads: it asks only for what is granted")
    })
    .await
    .expect("loading does not panic")
}

fn base_url() -> String {
    format!("http://127.0.0.1:{}/v1", refused_port())
}

async fn config(h: &Harness, provider_json: Option<&str>) -> Result<ProviderConfig, CallError> {
    h.resolve_config(ConfigInput {
        provider_json: provider_json.map(str::to_owned),
        env: Vec::new(),
        auth_profile_key: None,
        base_url_override: Some(base_url()),
    })
    .await
}

async fn attack(h: &Harness, config: &ProviderConfig, name: &str) -> Result<String, CallError> {
    h.complete(config, ChatRequest::user_text(format!("vllm/{name}"), "go"))
        .await
        .map(|c| c.text)
}

async fn still_serves(h: &Harness, config: &ProviderConfig, after: &str) {
    let answer = attack(h, config, "echo").await;
    assert_eq!(
        answer.as_deref().ok(),
        Some("ok"),
        "after {after}: {answer:?}"
    );
}

fn denied(result: Result<String, CallError>, what: &str) -> String {
    match result {
        Err(CallError::Provider(ProviderError::Denied(message))) => message,
        other => panic!("{what}: expected a denial, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_network_escape_is_denied_naming_what_was_refused() {
    let h = hostile().await;
    let config = config(&h, None).await.expect("resolve-config");
    let port = config
        .base_url
        .trim_end_matches("/v1")
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("port");
    let cases = [
        ("other-host", format!("127.0.0.2:{port}")),
        ("other-port", format!("127.0.0.1:{}", port.wrapping_add(1))),
        ("other-scheme", "a ftp:// URL".to_owned()),
    ];
    for (name, target) in cases {
        let message = denied(attack(&h, &config, name).await, name);
        assert!(
            message.contains(&format!("request to {target}")),
            "{name}: {message}"
        );
        assert!(
            message.contains(&format!("may only reach 127.0.0.1:{port}")),
            "{name}: {message}"
        );
        still_serves(&h, &config, name).await;
    }
    // Streamed calls are held to the same rule.
    let streamed = h
        .stream(&config, ChatRequest::user_text("vllm/other-host", "go"))
        .await;
    assert!(
        matches!(streamed, Err(CallError::Provider(ProviderError::Denied(_)))),
        "{streamed:?}"
    );
    still_serves(&h, &config, "a streamed attack").await;
}

async fn resolving_is_denied_the_network(h: &Harness, when: &str) {
    let error = config(h, Some(r#"{"resolve-network": true}"#)).await;
    match error {
        Err(CallError::Provider(ProviderError::Denied(message))) => {
            assert!(
                message.contains("resolving the configuration may not use the network"),
                "{when}: {message}"
            );
        }
        other => panic!("{when}: expected a denial, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resolving_the_config_gets_no_network_at_all() {
    let h = hostile().await;
    resolving_is_denied_the_network(&h, "first call").await;
    let config = config(&h, None).await.expect("resolve-config");
    still_serves(&h, &config, "a network attempt while resolving").await;
    // The instance made ahead while a call with network ran has none.
    resolving_is_denied_the_network(&h, "after a call with network").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_variables_not_given_are_invisible() {
    // The test process has PATH and HOME; the plugin must see neither.
    assert!(std::env::var_os("PATH").is_some());
    let h = hostile().await;
    let config = config(&h, None).await.expect("resolve-config");
    let message = denied(attack(&h, &config, "env").await, "env");
    assert!(message.contains("not visible"), "{message}");
    let seen = message
        .rsplit_once('[')
        .map(|(_, names)| names.trim_end_matches(']'))
        .unwrap_or_default();
    for name in seen.split(", ").filter(|n| !n.is_empty()) {
        assert_eq!(name, "VLLM_API_KEY", "only the chosen variable: {message}");
    }
    still_serves(&h, &config, "env").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_cpu_and_answer_size_are_bounded_and_the_host_carries_on() {
    let h = hostile().await;
    let config = config(&h, None).await.expect("resolve-config");

    match attack(&h, &config, "memory").await {
        Err(CallError::Trap(PluginTrap::OutOfMemory { limit_bytes, .. })) => {
            assert_eq!(limit_bytes, 64 * 1024 * 1024);
        }
        other => panic!("memory: {other:?}"),
    }
    still_serves(&h, &config, "memory").await;

    match attack(&h, &config, "loop").await {
        Err(CallError::Trap(PluginTrap::CpuBudgetExceeded { budget })) => {
            assert_eq!(budget, BUDGET);
        }
        other => panic!("loop: {other:?}"),
    }
    still_serves(&h, &config, "loop").await;

    for name in ["huge-text", "huge-list", "huge-error"] {
        match attack(&h, &config, name).await {
            Err(CallError::Trap(trap @ PluginTrap::ResultTooLarge { .. })) => {
                let text = trap.to_string();
                assert!(text.contains("too large"), "{name}: {text}");
                assert!(text.contains("32 MiB"), "{name}: {text}");
            }
            other => panic!("{name}: {:?}", other.map(|t| t.len())),
        }
        still_serves(&h, &config, name).await;
    }
}

#[test]
fn the_cli_exits_6_for_every_attack_and_names_the_refusal() {
    let cli = Cli::new().plugin(&hostile_wasm());
    let base = base_url();
    let cases = [
        ("other-host", "request to 127.0.0.2:"),
        ("other-port", "blocked; the plugin may only reach"),
        ("other-scheme", "ftp://"),
        ("env", "not visible"),
        ("memory", "memory limit of 64 MiB"),
        ("loop", "computed for more than 0.5 s"),
        ("huge-text", "answer was too large"),
        ("huge-list", "100000 items"),
    ];
    for (name, says) in cases {
        for stream in [false, true] {
            let mut args = vec![
                "--base-url",
                base.as_str(),
                "--cpu-budget",
                "0.5",
                "chat",
                "--model",
                name,
            ];
            if !stream {
                args.push("--no-stream");
            }
            args.push("hi");
            cli.run(&args).code(6).says(says);
        }
    }
}

// ---------------------------------------------------------------------------
// Load-time inspection
// ---------------------------------------------------------------------------

/// A component exporting `export` as an instance with one function, and
/// importing each of `imports` as an empty instance.
fn component(imports: &[&str], export: &str) -> Vec<u8> {
    let imports: String = imports
        .iter()
        .map(|name| format!("(import \"{name}\" (instance))\n"))
        .collect();
    let text = format!(
        r#"(component
  {imports}
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (type $t (func))
  (func $f (type $t) (canon lift (core func $i "f")))
  (instance $e (export "noop" (func $f)))
  (export "{export}" (instance $e))
)"#
    );
    wat::parse_str(&text).expect("the test component is valid text")
}

fn refusal(wasm: &[u8]) -> String {
    match Harness::from_bytes(wasm, HarnessOptions::default()) {
        Err(LoadError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {:?}", other.map(|_| "a harness")),
    }
}

const PROVIDER: &str = "vllm:provider/provider@0.2.0";

#[test]
fn components_that_ask_for_more_than_the_sandbox_grants_are_refused_at_load() {
    let sockets = refusal(&component(
        &[
            "wasi:sockets/tcp@0.2.0",
            "wasi:io/streams@0.2.0",
            "wasi:sockets/network@0.2.0",
        ],
        PROVIDER,
    ));
    assert!(
        sockets.contains("wasi:sockets/tcp@0.2.0, wasi:sockets/network@0.2.0"),
        "{sockets}"
    );
    let files = refusal(&component(
        &[
            "wasi:filesystem/types@0.2.0",
            "wasi:filesystem/preopens@0.2.0",
        ],
        PROVIDER,
    ));
    assert!(
        files.contains("wasi:filesystem/types@0.2.0, wasi:filesystem/preopens@0.2.0"),
        "{files}"
    );
    let newer = refusal(&component(&[], "vllm:provider/provider@0.3.0"));
    assert!(
        newer.contains("exports vllm:provider/provider@0.3.0"),
        "{newer}"
    );
    assert!(
        newer.contains("needs vllm:provider/provider@0.1.0 or vllm:provider/provider@0.2.0"),
        "{newer}"
    );
    let other = refusal(&component(&[], "wasi:cli/run@0.2.0"));
    assert!(other.contains("not a vLLM provider plugin"), "{other}");
}

fn write(dir: &TempDir, name: &str, wasm: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, wasm).expect("write the component");
    path
}

#[test]
fn the_cli_refuses_such_a_plugin_with_exit_6_and_inspect_shows_why() {
    let dir = TempDir::new("refused-components");
    let sockets = write(
        &dir,
        "sockets.wasm",
        &component(&["wasi:sockets/tcp@0.2.0"], PROVIDER),
    );
    let sockets_arg = sockets.to_str().expect("UTF-8 path");
    let base = base_url();
    Cli::new()
        .plugin(&sockets)
        .run(&["--base-url", &base, "models", "list"])
        .code(6)
        .says("refused before it ran")
        .says("wasi:sockets/tcp@0.2.0");

    let inspect = Cli::new().run(&["inspect", sockets_arg]);
    inspect.code(6).says("would refuse");
    assert!(
        inspect
            .stdout
            .contains("wasi:sockets/tcp@0.2.0  REFUSED: the sandbox does not grant it"),
        "{}",
        inspect.stdout
    );
    let json = Cli::new().run(&["inspect", sockets_arg, "--json"]);
    json.code(6);
    let json = json.json();
    assert_eq!(json["accepted"], false);
    assert_eq!(json["imports"][0]["granted"], false);

    let missing = Cli::new().run(&["inspect", "/nonexistent/plugin.wasm"]);
    missing.code(2).says("cannot read /nonexistent/plugin.wasm");
    let not_wasm = write(&dir, "text.wasm", b"not a component");
    Cli::new()
        .run(&["inspect", not_wasm.to_str().expect("UTF-8 path")])
        .code(2)
        .says("text.wasm is not a WebAssembly component");
}

#[test]
fn inspect_shows_the_real_plugins_world_imports_and_exports() {
    let plugin = plugin_wasm();
    let plugin_arg = plugin.to_str().expect("UTF-8 path");
    let run = Cli::new().run(&["inspect", plugin_arg, "--json"]);
    run.code(0);
    let json = run.json();
    assert_eq!(json["accepted"], true);
    let imports = json["imports"].as_array().expect("imports");
    assert!(
        imports.iter().all(|i| i["granted"] == true),
        "{}",
        run.stdout
    );
    let names: Vec<&str> = imports.iter().filter_map(|i| i["name"].as_str()).collect();
    assert!(
        names.contains(&"wasi:http/outgoing-handler@0.2.12"),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("wasi:sockets") || n.starts_with("wasi:filesystem")),
        "{names:?}"
    );
    let exports = json["exports"].as_array().expect("exports");
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0]["name"], PROVIDER);
    let functions: Vec<&str> = exports[0]["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for name in [
        "resolve-config(",
        "discover-models(",
        "complete(",
        "start-stream(",
        "diagnose(",
        "take-warnings(",
        "[method]completion-stream.next(",
    ] {
        assert!(
            functions.iter().any(|f| f.starts_with(name)),
            "{name} in {functions:?}"
        );
    }
    let world = json["world"].as_str().expect("world");
    assert!(world.starts_with("world plugin {"), "{world}");
    assert!(world.contains(&format!("export {PROVIDER} {{")), "{world}");
    assert_eq!(json["version"], "0.2.0");

    let text = Cli::new().run(&["inspect", plugin_arg]);
    text.code(0);
    assert!(
        text.stdout.contains("Verdict   accepted"),
        "{}",
        text.stdout
    );
}
