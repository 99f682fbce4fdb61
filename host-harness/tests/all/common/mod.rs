//! Helpers shared by the test modules: the plugin and compile cache every
//! harness test loads, the CLI runner, stream readers and small fixtures.

pub mod cli_run;
pub mod doctor;
pub mod streams;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use vllm_harness::{CompileCache, Harness, HarnessOptions};
use vllm_tests::artifacts::plugin_wasm;
use vllm_tests::mock::RecordedRequest;

/// A distinctive API key: no output a user sees may ever contain it.
pub const KEY: &str = "sk-test-DO-NOT-PRINT-1234";

/// How many times the provider sends a request whose answer it retries (a
/// refused connection, 429, most 5xx): the plugin's `retry::MAX_ATTEMPTS`.
pub const ATTEMPTS: usize = 3;

/// The fields the plugin must never send (the plugin's
/// `request::FORBIDDEN_FIELDS`, restated here on purpose: a test that
/// imported the list would pass if an entry were dropped from it).
pub const FORBIDDEN_FIELDS: &[&str] = &[
    "store",
    "service_tier",
    "prompt_cache_key",
    "reasoning_effort",
    "reasoning",
    "parallel_tool_calls",
    "user",
    "metadata",
    "guided_json",
    "guided_regex",
    "guided_choice",
    "guided_grammar",
];

/// The `vllm-harness` binary cargo built for these tests.
pub fn harness_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vllm-harness"))
}

/// A directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A fresh, empty directory whose name contains `label`.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vllm-tests-{label}-{}-{n}", std::process::id()));
        // A leftover from a crashed run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, text).expect("write a file in the temp dir");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The compile cache the tests share: compiling the component once per
/// `cargo test` run is enough, and the cache is keyed by the wasm's hash,
/// so a rebuilt plugin never hits a stale entry.
pub fn shared_compile_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-cache")
}

/// A loopback port nothing listens on: bound, read, released.
pub fn refused_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}

/// `n` words, each one mock token.
pub fn words(n: usize) -> String {
    vec!["word"; n].join(" ")
}

/// Headers some OpenAI clients add that identify the caller; a proxy-style
/// backend gets none of them.
pub fn attribution_header(name: &str, value: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    let banned = [
        "x-title",
        "http-referer",
        "referer",
        "openai-organization",
        "openai-project",
        "originator",
    ];
    if banned.contains(&name.as_str()) || name.starts_with("x-stainless") {
        return Some(format!("{name}: {value}"));
    }
    let lower = value.to_ascii_lowercase();
    if name == "user-agent" && (lower.contains("openclaw") || lower.contains("openai")) {
        return Some(format!("{name}: {value}"));
    }
    None
}

/// Everything wrong with one recorded request from the point of view of
/// request hygiene; empty when it is clean.
pub fn hygiene_problems(request: &RecordedRequest) -> Vec<String> {
    let mut problems: Vec<String> = request
        .headers
        .iter()
        .filter_map(|(n, v)| attribution_header(n, v))
        .map(|h| format!("attribution header {h}"))
        .collect();
    if !request.is_chat() {
        return problems;
    }
    let Some(body) = request.json.as_ref().and_then(Value::as_object) else {
        problems.push("chat body is not a JSON object".to_owned());
        return problems;
    };
    for field in FORBIDDEN_FIELDS {
        if body.contains_key(*field) {
            problems.push(format!("forbidden field `{field}`"));
        }
    }
    if body.contains_key("max_tokens") {
        problems.push("deprecated `max_tokens` sent".to_owned());
    }
    if !body.contains_key("max_completion_tokens") {
        problems.push("no `max_completion_tokens` although the model is known".to_owned());
    }
    let streaming = body.get("stream") == Some(&Value::Bool(true));
    match body.get("stream_options") {
        Some(options) if !streaming => {
            problems.push(format!("stream_options {options} without stream: true"));
        }
        Some(options) if options.get("include_usage") != Some(&Value::Bool(true)) => {
            problems.push(format!(
                "stream_options {options} lacks include_usage: true"
            ));
        }
        None if streaming => problems.push("stream without stream_options".to_owned()),
        _ => {}
    }
    match body.get("tools") {
        None => {
            if body.contains_key("tool_choice") {
                problems.push("tool_choice without tools".to_owned());
            }
        }
        Some(Value::Array(tools)) if tools.is_empty() => {
            problems.push("empty tools array".to_owned());
        }
        Some(Value::Array(tools)) => {
            for tool in tools {
                if has_key_outside_schema(tool, "strict") {
                    problems.push(format!("`strict` in tool {tool}"));
                }
            }
        }
        Some(other) => problems.push(format!("tools is not an array: {other}")),
    }
    problems
}

/// Whether `key` appears in `tool` or its `function` object (the
/// parameters schema is the user's and may use any property names).
fn has_key_outside_schema(tool: &Value, key: &str) -> bool {
    tool.get(key).is_some()
        || tool
            .get("function")
            .is_some_and(|function| function.get(key).is_some())
}

/// The component, compiled once per test process (through the shared
/// on-disk cache) and cloned into every test.
pub fn harness() -> Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS
        .get_or_init(|| {
            Harness::load(
                plugin_wasm(),
                HarnessOptions {
                    env_names: Vec::new(),
                    cache: CompileCache::Dir(shared_compile_cache()),
                    ..HarnessOptions::default()
                },
            )
            .expect("the component loads")
        })
        .clone()
}

/// Loading blocks (and may build the plugin): keep it off the runtime's
/// worker threads.
pub async fn plugin() -> Harness {
    tokio::task::spawn_blocking(harness)
        .await
        .expect("loading the plugin does not panic")
}

/// An OpenClaw-style JSON5 config (comments, unquoted keys, trailing
/// commas) with `provider` as the body of `models.providers.vllm`.
pub fn openclaw_config(provider: &str, primary: Option<&str>) -> String {
    let agents = primary
        .map(|p| format!("  agents: {{ defaults: {{ model: {{ primary: \"{p}\" }} }} }},\n"))
        .unwrap_or_default();
    format!(
        "// written by the CLI tests\n{{\n  models: {{\n    providers: {{\n      vllm: {{\n{provider}\n      }},\n    }},\n  }},\n{agents}}}\n"
    )
}
