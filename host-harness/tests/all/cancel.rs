//! Cancellation: Ctrl-C (SIGINT) in `vllm-harness chat` while the reply
//! streams. The library side (dropping a `PluginStream` closes the
//! connection) is `dropping_a_stream_closes_the_connection` in
//! `component.rs`.

use std::future::Future;
use std::time::Duration;

use vllm_tests::mock::shapes::ChunkFactory;
use vllm_tests::mock::{MockOptions, MockVllm, Reply};

use crate::common::cli_run::Cli;
use crate::common::streams::sse_bytes;

const MODEL: &str = "mock-model";
/// How long the test waits for the mock or the CLI to get somewhere.
const WAIT: Duration = Duration::from_secs(30);
/// How long the CLI may take to stop after SIGINT.
const STOP: Duration = Duration::from_secs(10);

/// Runs one of the mock's (bounded) waits from this synchronous test.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test's waits")
        .block_on(future)
}

#[test]
fn ctrl_c_mid_stream_prints_what_arrived_closes_the_connection_and_exits_130() {
    let server = MockVllm::start_blocking(MockOptions::default());
    let f = ChunkFactory::new(MODEL);
    // Two words, then nothing: the stream stays open (the default timeout
    // is 120 s, far beyond this test).
    server.push_reply(Reply::Stall {
        head: sse_bytes(
            &[f.role(), f.content("partial "), f.content("answer")],
            false,
        ),
    });
    let base = server.base_url();
    let running = Cli::new().spawn(&["--base-url", &base, "chat", "hi"]);

    // GET /v1/models, then the chat request.
    assert!(
        block_on(server.wait_for_requests(2, WAIT)),
        "the CLI never sent its requests"
    );
    assert_eq!(server.chat_requests().len(), 1);
    assert!(
        running.wait_for_stdout("partial answer", WAIT),
        "the first text never reached stdout: {:?}",
        running.stdout()
    );
    assert_eq!(server.disconnects(), 0, "the stream is still open");

    running.interrupt();
    let run = running.finish(STOP);
    run.code(130).says("interrupted");
    assert_eq!(
        run.stdout, "partial answer\n",
        "what arrived, then a newline"
    );
    assert!(
        block_on(server.wait_for_disconnects(1, WAIT)),
        "the mock never saw the connection close"
    );
}

#[test]
fn ctrl_c_while_waiting_for_the_reply_exits_130_with_nothing_printed() {
    let server = MockVllm::start_blocking(MockOptions::default());
    let f = ChunkFactory::new(MODEL);
    server.push_reply(
        Reply::Stall {
            head: sse_bytes(&[f.role(), f.content("never shown")], false),
        }
        .delayed(Duration::from_secs(60)),
    );
    let base = server.base_url();
    let running = Cli::new().spawn(&["--base-url", &base, "chat", "hi"]);
    assert!(
        block_on(server.wait_for_requests(2, WAIT)),
        "the CLI never sent its requests"
    );
    assert_eq!(server.chat_requests().len(), 1);

    running.interrupt();
    let run = running.finish(STOP);
    run.code(130).says("interrupted");
    assert_eq!(run.stdout, "");
}
