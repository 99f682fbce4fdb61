//! An in-process mock of vLLM's OpenAI-compatible server (version 0.32 by
//! default), for tests of the component against a real HTTP server.
//!
//! ```no_run
//! # async fn demo() {
//! use vllm_tests::mock::{MockModel, MockOptions, MockVllm, Reply};
//! let server = MockVllm::start(MockOptions {
//!     models: vec![MockModel::base("qwen3-think"), MockModel::lora("sql", "qwen3-think")],
//!     api_key: Some("secret".into()),
//!     reasoning_parser: true,
//!     ..MockOptions::default()
//! })
//! .await;
//! server.push_reply(Reply::cut_stream("qwen3-think", &["Hel", "lo"]));
//! let base = server.base_url(); // http://127.0.0.1:PORT/v1
//! # let _ = base;
//! # }
//! ```
//!
//! Routes: `GET /v1/models`, `POST /v1/chat/completions`, `GET /health`,
//! `GET /version`, `POST /tokenize`; anything else is FastAPI's 404
//! `{"detail":"Not Found"}` (405 for a known path with the wrong method). The API key (if any) is checked
//! first, as vLLM's middleware does. Chat requests are answered with the
//! next scripted [`Reply`] when one is queued; otherwise they are validated
//! in vLLM 0.32's order with its statuses, error types and messages, and
//! answered by a deterministic "model": `Hello! You said: <words>`, with
//! `<think>` reasoning for ids containing `think`/`reason`/`r1` or prompts
//! that begin with "Think", and tool calls when the tool choice asks for
//! them (details in the private `generate` module). Token counts follow
//! [`tokens`].
//!
//! `tests/fixtures.rs` replays every request recorded from a real vLLM
//! server (`tests/fixtures/`) against the mock and fails when the mock's
//! answer has another status, content type or shape.
//!
//! Where vLLM 0.32 differs from older servers the mock follows 0.32 and
//! offers the old behaviour as an option: [`MockOptions::legacy_error_shape`],
//! [`MockOptions::legacy_reasoning_field`],
//! [`MockOptions::empty_tool_calls`], [`MockOptions::legacy_context_error`].

mod body;
mod chat;
mod generate;
mod options;
mod record;
mod reply;
mod server;
pub mod shapes;
pub mod tokens;

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use options::{DEFAULT_MAX_MODEL_LEN, DEFAULT_VERSION, MockModel, MockOptions};
pub use record::{RecordedRequest, TimedRequest};
pub use reply::Reply;
pub use shapes::Usage;

use server::Shared;

/// A running mock server on `127.0.0.1:<free port>`; it stops when dropped.
#[derive(Debug)]
pub struct MockVllm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    /// The runtime of [`MockVllm::start_blocking`].
    runtime: Option<tokio::runtime::Runtime>,
}

impl MockVllm {
    /// Binds `127.0.0.1:0` and serves on a task of the current tokio
    /// runtime. Panics if the port cannot be bound (test helper).
    pub async fn start(options: MockOptions) -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    /// Like [`MockVllm::start`], on `addr` (e.g. a port reserved earlier,
    /// to bring a server up where a client already tried to connect).
    /// Panics if `addr` cannot be bound (test helper).
    pub async fn start_on(addr: SocketAddr, options: MockOptions) -> Self {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind the mock vLLM server to {addr}: {e}"));
        let addr = listener
            .local_addr()
            .expect("read the mock server's local address");
        let shared = Arc::new(Shared::new(options));
        let task = tokio::spawn(server::accept_loop(listener, Arc::clone(&shared)));
        Self {
            addr,
            shared,
            task,
            runtime: None,
        }
    }

    /// Like [`MockVllm::start`] for synchronous tests: the server runs on a
    /// runtime of its own (one worker thread), shut down on drop.
    pub fn start_blocking(options: MockOptions) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("build the mock server's tokio runtime");
        let mut server = runtime.block_on(Self::start(options));
        server.runtime = Some(runtime);
        server
    }

    /// `http://127.0.0.1:PORT/v1`, what users put in `baseUrl`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `127.0.0.1:PORT`, the authority a sandbox must allow.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The options the server runs with.
    pub fn options(&self) -> &MockOptions {
        &self.shared.options
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Every request received so far with the moment its head arrived, in
    /// arrival order.
    pub fn timed_requests(&self) -> Vec<TimedRequest> {
        self.shared.timed_requests()
    }

    /// The `POST /v1/chat/completions` requests received so far, with the
    /// moment each arrived.
    pub fn timed_chat_requests(&self) -> Vec<TimedRequest> {
        self.timed_requests()
            .into_iter()
            .filter(|timed| timed.request.is_chat())
            .collect()
    }

    /// The `POST /v1/chat/completions` requests received so far.
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_chat)
            .collect()
    }

    /// Queues `reply` for the next chat completion request (FIFO). Scripted
    /// replies skip validation but not the API key check.
    pub fn push_reply(&self, reply: Reply) {
        self.shared.push_reply(reply);
    }

    /// Queues `reply` `times` times: for a status the provider retries, one
    /// for each of its attempts.
    pub fn push_replies(&self, reply: &Reply, times: usize) {
        for _ in 0..times {
            self.shared.push_reply(reply.clone());
        }
    }

    /// Scripted replies not yet used.
    pub fn pending_replies(&self) -> usize {
        self.shared.pending_replies()
    }

    /// How many streamed responses the client abandoned before their end
    /// (connection closed mid-stream).
    pub fn disconnects(&self) -> usize {
        self.shared.disconnects()
    }

    /// Waits until at least `n` streams were abandoned, or `timeout`
    /// passes; returns whether it happened.
    pub async fn wait_for_disconnects(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(|s| s.disconnects() >= n, timeout).await
    }

    /// Waits until at least `n` requests arrived, or `timeout` passes;
    /// returns whether they did.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(|s| s.request_count() >= n, timeout).await
    }

    async fn wait_until(&self, done: impl Fn(&Shared) -> bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before checking, so no wake-up is missed.
            let mut notified = pin!(self.shared.changed.notified());
            notified.as_mut().enable();
            if done(&self.shared) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done(&self.shared);
            }
        }
    }
}

impl Drop for MockVllm {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
