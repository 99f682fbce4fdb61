//! The benchmark's scenarios (tests/bench/PROTOCOL.md) over the plugin's
//! own `Client`: the same request building, SSE parsing and event assembly
//! as the component, on a native transport.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use vllm_provider::client::Client;
use vllm_provider::usage::ZERO_COST;
use vllm_provider::wit::{
    ChatRequest, InputKind, Model, ProviderConfig, ProviderError, ProviderMode, StreamEvent,
};

use crate::transport::TcpTransport;

/// The request timeout (`timeoutSeconds`): the first-byte and idle limit.
pub const TIMEOUT_MS: u64 = 120_000;
/// The stack of each thread of `concurrent`: the client needs little.
const THREAD_STACK_BYTES: usize = 256 * 1024;
/// The model window the load server reports (`max_model_len`).
const LOAD_SERVER_WINDOW: u32 = 131_072;

/// Which scenario to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Warm-up, then N non-streamed requests, one latency each.
    Latency,
    /// Warm-up, then N streamed requests, time to the first delta each.
    Ttft,
    /// Warm-up, then N streamed requests, whole-stream time each.
    Stream,
    /// C streamed requests at once, no warm-up.
    Concurrent,
    /// One streamed request, nothing else.
    Once,
}

/// What the scenario measured: the protocol's output, less the client name.
#[derive(Debug, Default)]
pub struct Report {
    /// One latency per measured request that succeeded, in order.
    pub latencies_us: Vec<u64>,
    /// Delta events in the measured requests.
    pub events: u64,
    /// From the first measured send to the last measured end.
    pub elapsed_us: u64,
    /// Requests that failed (the warm-up included).
    pub errors: u64,
    /// The first failure's message.
    pub error: Option<String>,
}

impl Report {
    fn fail(&mut self, error: &ProviderError) {
        self.errors += 1;
        if self.error.is_none() {
            self.error = Some(describe(error));
        }
    }
}

/// An error in one line: its kind and its message.
pub fn describe(error: &ProviderError) -> String {
    match error {
        ProviderError::Connection(e) => format!("connection: {}", e.message),
        ProviderError::Auth(m) => format!("auth: {m}"),
        ProviderError::ModelNotFound(e) => format!("model not found: {}", e.message),
        ProviderError::ContextLengthExceeded(e) => {
            format!("context length exceeded: {}", e.message)
        }
        ProviderError::BadRequest(m) => format!("bad request: {m}"),
        ProviderError::Server(e) => format!("server error (HTTP {}): {}", e.status, e.message),
        ProviderError::Timeout(m) => format!("timeout: {m}"),
        ProviderError::InvalidConfig(e) => format!("invalid config at {}: {}", e.path, e.reason),
        ProviderError::InvalidResponse(m) => format!("invalid response: {m}"),
        ProviderError::Denied(m) => format!("denied: {m}"),
    }
}

/// What to ask for.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The base URL, with `/v1`.
    pub base_url: String,
    /// The model id.
    pub model: String,
    /// N.
    pub requests: u32,
    /// C.
    pub concurrency: u32,
    /// T.
    pub max_tokens: u32,
}

impl Setup {
    /// The configuration a host resolves for an explicit model: no key,
    /// [`TIMEOUT_MS`]. The model's window is the load server's, widened so
    /// that T is never clamped (the benchmark counts exactly T events).
    pub fn config(&self) -> ProviderConfig {
        let window = LOAD_SERVER_WINDOW.max(self.max_tokens.saturating_add(4096));
        ProviderConfig {
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            api_key: None,
            headers: Vec::new(),
            timeout_ms: TIMEOUT_MS,
            mode: ProviderMode::Explicit,
            reason: "the benchmark names its model".into(),
            models: vec![Model {
                id: self.model.clone(),
                name: self.model.clone(),
                reasoning: false,
                input: vec![InputKind::Text],
                cost: ZERO_COST,
                context_window: window,
                max_tokens: self.max_tokens,
                root: None,
                parent: None,
            }],
        }
    }

    /// What every client sends: one user message "hi", at most T tokens.
    pub fn request(&self) -> ChatRequest {
        let mut request = vllm_provider::request::user_text(&self.model, "hi");
        request.sampling.max_tokens = Some(self.max_tokens);
        request
    }
}

/// Microseconds in `d`, saturating.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One streamed request read to its end.
#[derive(Debug, Clone, Copy)]
struct Streamed {
    /// When the first delta was parsed, if one was.
    first_delta: Option<Instant>,
    /// Delta events.
    events: u64,
}

/// Whether `event` is one a UI would draw: a delta of content, reasoning
/// or tool-call arguments.
fn is_delta(event: &StreamEvent) -> bool {
    matches!(
        event,
        StreamEvent::TextDelta(_) | StreamEvent::ReasoningDelta(_) | StreamEvent::ToolCallDelta(_)
    )
}

/// Run one streamed request to its end, counting its delta events.
fn stream_once(
    transport: &TcpTransport,
    config: &ProviderConfig,
    request: &ChatRequest,
    max_tokens: u32,
) -> Result<Streamed, ProviderError> {
    let client = Client::new(transport, config)?;
    let mut stream = client.start_stream(request)?;
    let mut streamed = Streamed {
        first_delta: None,
        events: 0,
    };
    // Every batch holds at least one event, and a reply has T deltas and a
    // few others; a server that sends far more is not the load server.
    let max_batches = u64::from(max_tokens).saturating_mul(2).saturating_add(64);
    for _ in 0..max_batches {
        let Some(events) = stream.next_events()? else {
            return Ok(streamed);
        };
        let deltas = events.iter().filter(|event| is_delta(event)).count() as u64;
        if deltas > 0 && streamed.first_delta.is_none() {
            streamed.first_delta = Some(Instant::now());
        }
        streamed.events += deltas;
    }
    Err(ProviderError::InvalidResponse(format!(
        "the stream did not end after {max_batches} batches of events (T = {max_tokens})"
    )))
}

/// One non-streamed request.
fn complete_once(
    transport: &TcpTransport,
    config: &ProviderConfig,
    request: &ChatRequest,
) -> Result<(), ProviderError> {
    let client = Client::new(transport, config)?;
    client.complete(request).map(drop)
}

/// Run `scenario`.
pub fn run(scenario: Scenario, setup: &Setup) -> Report {
    let transport = TcpTransport;
    let config = setup.config();
    let request = setup.request();
    let mut report = Report::default();
    let streamed = |report: &mut Report| {
        stream_once(&transport, &config, &request, setup.max_tokens)
            .map_err(|error| report.fail(&error))
            .ok()
    };
    match scenario {
        Scenario::Latency => {
            if let Err(error) = complete_once(&transport, &config, &request) {
                report.fail(&error);
            }
            let first = Instant::now();
            for _ in 0..setup.requests {
                let start = Instant::now();
                match complete_once(&transport, &config, &request) {
                    Ok(()) => report.latencies_us.push(micros(start.elapsed())),
                    Err(error) => report.fail(&error),
                }
            }
            report.elapsed_us = micros(first.elapsed());
        }
        Scenario::Ttft | Scenario::Stream => {
            let _warm_up = streamed(&mut report);
            let first = Instant::now();
            for _ in 0..setup.requests {
                let start = Instant::now();
                if let Some(done) = streamed(&mut report) {
                    report.events += done.events;
                    let latency = match scenario {
                        Scenario::Ttft => done.first_delta.map(|at| at - start),
                        _ => Some(start.elapsed()),
                    };
                    match latency {
                        Some(latency) => report.latencies_us.push(micros(latency)),
                        None => report.fail(&ProviderError::InvalidResponse(
                            "the stream ended without a delta event".into(),
                        )),
                    }
                }
            }
            report.elapsed_us = micros(first.elapsed());
        }
        Scenario::Once => {
            let start = Instant::now();
            if let Some(done) = streamed(&mut report) {
                report.events = done.events;
            }
            report.elapsed_us = micros(start.elapsed());
        }
        Scenario::Concurrent => concurrent(setup, &transport, &config, &request, &mut report),
    }
    report
}

/// C streams started together on C threads (small stacks); elapsed from the first send
/// to the last end.
fn concurrent(
    setup: &Setup,
    transport: &TcpTransport,
    config: &ProviderConfig,
    request: &ChatRequest,
    report: &mut Report,
) {
    let count = usize::try_from(setup.concurrency).unwrap_or(usize::MAX);
    // The start gate: every thread waits for a read lock that this one
    // holds for writing until all are spawned, then all go at once. (A
    // `Barrier` would hang forever if a thread could not be spawned.)
    let gate = RwLock::new(());
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let closed = gate.write();
        let mut handles = Vec::with_capacity(count);
        for i in 0..count {
            let gate = &gate;
            let spawned = std::thread::Builder::new()
                .name(format!("stream-{i}"))
                .stack_size(THREAD_STACK_BYTES)
                .spawn_scoped(scope, move || {
                    drop(gate.read());
                    let start = Instant::now();
                    let result = stream_once(transport, config, request, setup.max_tokens);
                    (start, Instant::now(), result)
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    report.fail(&ProviderError::InvalidResponse(format!(
                        "could not start thread {i} of {count}: {e}"
                    )));
                    break;
                }
            }
        }
        drop(closed);
        handles.into_iter().map(|handle| handle.join()).collect()
    });
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for outcome in outcomes {
        match outcome {
            Ok((start, end, result)) => {
                first = Some(first.map_or(start, |first| first.min(start)));
                last = Some(last.map_or(end, |last| last.max(end)));
                match result {
                    Ok(done) => report.events += done.events,
                    Err(error) => report.fail(&error),
                }
            }
            Err(_) => report.fail(&ProviderError::InvalidResponse(
                "a stream's thread panicked".into(),
            )),
        }
    }
    if let (Some(first), Some(last)) = (first, last) {
        report.elapsed_us = micros(last.saturating_duration_since(first));
    }
}
