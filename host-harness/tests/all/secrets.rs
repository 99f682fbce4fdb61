//! The API key never shows: every failure mode, run with a known key,
//! through the library (error `Display`, `Debug`, `user_message`, doctor's
//! checks, the plugin's captured output) and through the CLI (stdout and
//! stderr of every command, including `config`). Servers here echo the key
//! back in every way they can; the harness has no log of its own, so what a
//! user or a host can see is exactly these texts.
//! (`cli.rs` has the same check over the CLI's usage and config errors.)

use std::time::Duration;

use vllm_harness::{
    CallError, ChatRequest, ConfigInput, Harness, KeyValue, ProviderConfig, StreamEvent,
};
use vllm_tests::canned::CannedServer;
use vllm_tests::mock::shapes::ChunkFactory;
use vllm_tests::mock::{MockOptions, MockVllm, Reply};

use crate::common::cli_run::{Cli, Run};
use crate::common::{KEY, plugin, refused_port};

const MODEL: &str = "mock-model";

/// The ways a server can fail while echoing the key.
fn echoing_faults() -> Vec<(&'static str, Reply)> {
    let f = ChunkFactory::new(MODEL);
    vec![
        (
            "500 naming the key",
            Reply::error(500, "InternalServerError", &format!("bad key {KEY}"), None),
        ),
        (
            "400 naming the key",
            Reply::error(400, "BadRequestError", &format!("key={KEY} invalid"), None),
        ),
        (
            "401 naming the key",
            Reply::error(401, "Unauthorized", &format!("{KEY} is wrong"), None),
        ),
        (
            "404 naming the key",
            Reply::error(
                404,
                "NotFoundError",
                &format!("The model `{KEY}` does not exist."),
                None,
            ),
        ),
        (
            "context overflow naming the key",
            Reply::error(
                400,
                "BadRequestError",
                &format!("This model's maximum context length is 2048 tokens ({KEY})"),
                None,
            ),
        ),
        (
            "an HTML page with the key",
            Reply::html(502, &format!("<title>{KEY}</title><body>{KEY}</body>")),
        ),
        (
            "a plain-text body with the key",
            Reply::Raw {
                status: 500,
                content_type: Some("text/plain".to_owned()),
                body: format!("Authorization: Bearer {KEY}").into_bytes(),
            },
        ),
        (
            "a mid-stream error with the key",
            Reply::mid_stream_error(MODEL, &["a"], &format!("engine saw {KEY}")),
        ),
        (
            "a stream cut after the key as text",
            Reply::cut_stream(MODEL, &["your key is ", KEY]),
        ),
        (
            "invalid JSON with the key",
            Reply::SseRaw {
                bytes: format!("data: {}\n\ndata: {{{KEY}\n\n", f.role()).into_bytes(),
                split: None,
            },
        ),
        (
            "a 200 error body with the key",
            Reply::json_text(
                200,
                format!(r#"{{"error":{{"message":"{KEY}","code":500}}}}"#),
            ),
        ),
    ]
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(KEY), "{what} shows the key:\n{text}");
}

/// Checks every text of `error`; true when it shows where the key was
/// scrubbed out (so the echo really reached the error).
fn check_error(what: &str, error: &CallError) -> bool {
    let shown = error.to_string();
    assert_clean(what, &shown);
    assert_clean(what, &format!("{error:?}"));
    if let CallError::Provider(provider) = error {
        assert_clean(what, &provider.user_message());
    }
    shown.contains("<redacted>")
}

async fn keyed_config(h: &Harness, base: &str, timeout: Option<f64>) -> ProviderConfig {
    let provider = timeout.map(|t| format!(r#"{{"baseUrl": "{base}", "timeoutSeconds": {t}}}"#));
    let mut config = h
        .resolve_config(ConfigInput {
            provider_json: provider,
            env: vec![KeyValue {
                name: "VLLM_API_KEY".into(),
                value: KEY.into(),
            }],
            auth_profile_key: None,
            base_url_override: Some(base.to_owned()),
        })
        .await
        .expect("resolve-config");
    if let Ok(models) = h.discover_models(&config).await {
        config.models = models;
    }
    config
}

/// Both ways of asking, with everything they produced checked; how many
/// errors showed the key scrubbed out.
async fn run_both(
    h: &Harness,
    config: &ProviderConfig,
    server: &MockVllm,
    reply: impl Fn() -> Reply,
    what: &str,
) -> usize {
    let mut scrubbed = 0;
    server.push_reply(reply());
    match h
        .complete(config, ChatRequest::user_text(MODEL, "hi"))
        .await
    {
        Ok(done) => assert_clean(what, &format!("{done:?}")),
        Err(error) => scrubbed += usize::from(check_error(what, &error)),
    }
    server.push_reply(reply());
    match h.stream(config, ChatRequest::user_text(MODEL, "hi")).await {
        Err(error) => scrubbed += usize::from(check_error(what, &error)),
        Ok(mut stream) => {
            for _ in 0..1_000 {
                match stream.next().await {
                    Ok(Some(events)) => {
                        for event in events {
                            // Text the model itself produced is the
                            // user's; errors and metadata are not.
                            if !matches!(event, StreamEvent::TextDelta(_)) {
                                assert_clean(what, &format!("{event:?}"));
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        scrubbed += usize::from(check_error(what, &error));
                        break;
                    }
                }
            }
        }
    }
    scrubbed
}

#[tokio::test(flavor = "multi_thread")]
async fn no_error_of_the_library_shows_the_key() {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let config = keyed_config(&h, &server.base_url(), None).await;
    let mut scrubbed = 0;
    for (what, _) in echoing_faults() {
        let reply = || {
            echoing_faults()
                .into_iter()
                .find(|(w, _)| *w == what)
                .map(|(_, r)| r)
                .expect("the fault exists")
        };
        scrubbed += run_both(&h, &config, &server, reply, what).await;
    }
    // The echoes really reached the errors, and were scrubbed there.
    assert!(
        scrubbed >= 10,
        "only {scrubbed} errors carried the scrubbed key"
    );

    // A stall past the timeout, refused connections, a wrong key.
    let slow = keyed_config(&h, &server.base_url(), Some(0.3)).await;
    let _ = run_both(
        &h,
        &slow,
        &server,
        || Reply::text_stream(MODEL, &["late"], None).delayed(Duration::from_secs(2)),
        "a timeout",
    )
    .await;
    let refused = keyed_config(&h, &format!("http://127.0.0.1:{}/v1", refused_port()), None).await;
    let _ = check_error(
        "connection refused",
        &h.discover_models(&refused).await.expect_err("refused"),
    );
    let guarded = MockVllm::start(MockOptions {
        api_key: Some("the-real-key".into()),
        ..MockOptions::default()
    })
    .await;
    let wrong = keyed_config(&h, &guarded.base_url(), None).await;
    let _ = check_error(
        "a wrong key",
        &h.discover_models(&wrong).await.expect_err("refused key"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_never_show_the_key() {
    let h = plugin().await;
    let server = MockVllm::start(MockOptions::default()).await;
    let other = CannedServer::not_vllm();
    let guarded = MockVllm::start(MockOptions {
        api_key: Some("the-real-key".into()),
        ..MockOptions::default()
    })
    .await;
    for base in [
        server.base_url(),
        other.base_url(),
        guarded.base_url(),
        format!("http://127.0.0.1:{}/v1", refused_port()),
    ] {
        let config = keyed_config(&h, &base, None).await;
        server.push_reply(Reply::error(
            500,
            "InternalServerError",
            &format!("echo {KEY}"),
            None,
        ));
        let checks = h.diagnose(&config, None).await.expect("diagnose runs");
        assert_clean(&format!("doctor against {base}"), &format!("{checks:?}"));
    }
}

fn cli_clean(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(KEY),
            "{name} of {:?} shows the key:\n{text}",
            run.args
        );
    }
}

#[test]
fn no_cli_command_shows_the_key_in_any_failure() {
    let server = MockVllm::start_blocking(MockOptions::default());
    let base = server.base_url();
    let refused = format!("http://127.0.0.1:{}/v1", refused_port());
    let cli = Cli::with_key();
    let commands: Vec<Vec<&str>> = vec![
        vec!["chat", "--model", MODEL, "hi"],
        vec!["chat", "--model", MODEL, "--no-stream", "hi"],
        vec!["chat", "--model", MODEL, "--json", "hi"],
        vec!["doctor"],
        vec!["doctor", "--json"],
    ];
    // A model that says the key streams it to stdout as its own text: that
    // one is checked through the library, where text is told apart.
    for (what, _) in echoing_faults()
        .into_iter()
        .filter(|(what, _)| !what.contains("as text"))
    {
        for args in &commands {
            let reply = echoing_faults()
                .into_iter()
                .find(|(w, _)| *w == what)
                .map(|(_, r)| r)
                .expect("the fault exists");
            server.push_reply(reply);
            let run = cli.run(&[&["--base-url", base.as_str()][..], args].concat());
            cli_clean(&run);
            // Whatever the mock did not use goes; the next run starts clean.
            for _ in 0..3 {
                if server.pending_replies() == 0 {
                    break;
                }
                let _ = cli.run(&[
                    "--base-url",
                    &base,
                    "chat",
                    "--model",
                    MODEL,
                    "--no-stream",
                    "x",
                ]);
            }
        }
    }
    for args in [
        vec!["--base-url", refused.as_str(), "models", "list"],
        vec!["--base-url", refused.as_str(), "doctor"],
        vec![
            "--base-url",
            base.as_str(),
            "--timeout",
            "0.2",
            "chat",
            "--model",
            MODEL,
            "hi",
        ],
        vec!["--base-url", base.as_str(), "config"],
        vec!["--base-url", base.as_str(), "config", "--json"],
    ] {
        server
            .push_reply(Reply::text_stream(MODEL, &["late"], None).delayed(Duration::from_secs(2)));
        cli_clean(&cli.run(&args));
    }
}
