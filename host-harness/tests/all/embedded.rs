//! The plugin built into the `vllm-harness` binary: the binary works alone,
//! `--plugin` and `VLLM_HARNESS_PLUGIN` still win, and `--version`,
//! `inspect` and `doctor` say which component runs.

use vllm_tests::artifacts::plugin_0_1_0_wasm;
use vllm_tests::mock::{MockModel, MockOptions, MockVllm};

use crate::common::cli_run::Cli;
use crate::common::doctor::check;
use crate::common::{TempDir, harness_bin};

fn mock() -> MockVllm {
    MockVllm::start_blocking(MockOptions::with_models(vec![MockModel::base(
        "mock-model",
    )]))
}

#[test]
fn the_binary_alone_in_an_empty_folder_lists_models_and_chats() {
    alone_lists_models_and_chats(&harness_bin());
}

/// The release binary `host-harness/release` built (`tests/run-all.sh`
/// passes it in `VLLM_HARNESS_RELEASE_BIN`), alone in an empty folder.
#[test]
#[ignore = "needs the release binary: tests/run-all.sh builds it with host-harness/release"]
fn the_release_binary_alone_lists_models_and_chats() {
    let binary = std::env::var_os("VLLM_HARNESS_RELEASE_BIN")
        .expect("VLLM_HARNESS_RELEASE_BIN names the release binary (tests/run-all.sh sets it)");
    alone_lists_models_and_chats(std::path::Path::new(&binary));
}

fn alone_lists_models_and_chats(binary: &std::path::Path) {
    let folder = TempDir::new("harness-alone");
    let alone = folder.path().join("vllm-harness");
    std::fs::copy(binary, &alone).expect("copy the binary");
    let entries: Vec<_> = std::fs::read_dir(folder.path()).expect("list").collect();
    assert_eq!(entries.len(), 1, "nothing beside the binary");
    let server = mock();
    let cli = || Cli::with_key().embedded_plugin().binary(&alone);
    let listed = cli().run(&["--base-url", &server.base_url(), "models", "list", "--json"]);
    listed.code(0);
    assert_eq!(listed.json()["models"][0]["id"], "mock-model");
    let chat = cli().run(&[
        "--base-url",
        &server.base_url(),
        "chat",
        "--no-stream",
        "hello",
    ]);
    chat.code(0);
    assert!(!chat.stdout.trim().is_empty(), "a reply: {chat:?}");
    assert_eq!(server.chat_requests().len(), 1);
    let version = cli().run(&["--version"]);
    version.code(0);
    assert!(
        version.stdout.contains("plugin: embedded ("),
        "{}",
        version.stdout
    );
}

#[test]
fn version_names_the_harness_the_plugin_and_its_wit_version() {
    let run = Cli::new().embedded_plugin().run(&["--version"]);
    run.code(0);
    let expected = format!(
        "vllm-harness {v}\nplugin: embedded (vllm-provider {v}, built with this binary), vllm:provider@0.2.0, sha256 ",
        v = env!("CARGO_PKG_VERSION")
    );
    assert!(run.stdout.starts_with(&expected), "{:?}", run.stdout);
    // --plugin wins, and its WIT version is the file's.
    let fixture = plugin_0_1_0_wasm();
    let run = Cli::new().plugin(&fixture).run(&["-V"]);
    run.code(0);
    assert!(
        run.stdout.contains(&format!(
            "plugin: {}, vllm:provider@0.1.0, sha256 ",
            fixture.display()
        )),
        "{:?}",
        run.stdout
    );
}

#[test]
fn inspect_and_doctor_say_which_plugin_runs() {
    let inspected = Cli::new().embedded_plugin().run(&["inspect", "--json"]);
    inspected.code(0);
    let json = inspected.json();
    assert_eq!(json["embedded"], true, "{json}");
    assert_eq!(json["file"], serde_json::Value::Null);
    assert_eq!(json["version"], "0.2.0");
    let text = Cli::new().embedded_plugin().run(&["inspect"]);
    text.code(0);
    assert!(
        text.stdout
            .starts_with("Component embedded in vllm-harness (vllm-provider "),
        "{}",
        text.stdout
    );

    let fixture = plugin_0_1_0_wasm();
    let fixture_text = fixture.display().to_string();
    let from_env = Cli::new()
        .embedded_plugin()
        .env("VLLM_HARNESS_PLUGIN", &fixture_text)
        .run(&["inspect", "--json"]);
    from_env.code(0);
    assert_eq!(from_env.json()["embedded"], false);
    assert_eq!(from_env.json()["file"], fixture_text.as_str());

    let server = mock();
    let doctor = |cli: Cli| {
        let run = cli.run(&["--base-url", &server.base_url(), "doctor", "--json"]);
        run.code(0);
        check(&run.json(), "plugin")["detail"]
            .as_str()
            .expect("a detail")
            .to_owned()
    };
    let embedded = doctor(Cli::with_key().embedded_plugin());
    assert!(
        embedded.starts_with("embedded (vllm-provider "),
        "{embedded}"
    );
    assert!(embedded.contains("vllm:provider@0.2.0"), "{embedded}");
    let file = doctor(Cli::with_key().plugin(&fixture));
    assert!(
        file.starts_with(&format!("{fixture_text}, vllm:provider@0.1.0")),
        "{file}"
    );
}
