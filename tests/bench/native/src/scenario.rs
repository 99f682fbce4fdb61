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

use vllm_bench_protocol::{Job, Report, Scenario};

use crate::transport::TcpTransport;

/// The request timeout (`timeoutSeconds`): the first-byte and idle limit.
pub const TIMEOUT_MS: u64 = 120_000;
/// The stack of each thread of `concurrent`: the client needs little.
const THREAD_STACK_BYTES: usize = 256 * 1024;
/// The model window the load server reports (`max_model_len`).
const LOAD_SERVER_WINDOW: u32 = 131_072;

/// Counts a failed request in `report`.
fn fail(report: &mut Report, error: &ProviderError) {
    report.fail(describe(error));
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

/// The configuration a host resolves for an explicit model: no key,
/// [`TIMEOUT_MS`]. The model's window is the load server's, widened so
/// that T is never clamped (the benchmark counts exactly T events).
pub fn config(job: &Job) -> ProviderConfig {
    let window = LOAD_SERVER_WINDOW.max(job.max_tokens.saturating_add(4096));
    ProviderConfig {
        base_url: job.base_url.trim_end_matches('/').to_owned(),
        api_key: None,
        headers: Vec::new(),
        timeout_ms: TIMEOUT_MS,
        mode: ProviderMode::Explicit,
        reason: "the benchmark names its model".into(),
        models: vec![Model {
            id: job.model.clone(),
            name: job.model.clone(),
            reasoning: false,
            input: vec![InputKind::Text],
            cost: ZERO_COST,
            context_window: window,
            max_tokens: job.max_tokens,
            root: None,
            parent: None,
            compat: vllm_provider::config::no_compat(),
            thinking: None,
        }],
    }
}

/// What every client sends: one user message "hi", at most T tokens.
pub fn request(job: &Job) -> ChatRequest {
    let mut request = vllm_provider::request::user_text(&job.model, "hi");
    request.sampling.max_tokens = Some(job.max_tokens);
    request
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

/// Run `scenario` as `client`.
pub fn run(client: &str, scenario: Scenario, job: &Job) -> Report {
    let transport = TcpTransport;
    let config = config(job);
    let request = request(job);
    let mut report = Report::new(client, scenario);
    let streamed = |report: &mut Report| {
        stream_once(&transport, &config, &request, job.max_tokens)
            .map_err(|error| fail(report, &error))
            .ok()
    };
    match scenario {
        Scenario::Latency => {
            if let Err(error) = complete_once(&transport, &config, &request) {
                fail(&mut report, &error);
            }
            let first = Instant::now();
            for _ in 0..job.requests {
                let start = Instant::now();
                match complete_once(&transport, &config, &request) {
                    Ok(()) => report.latencies_us.push(micros(start.elapsed())),
                    Err(error) => fail(&mut report, &error),
                }
            }
            report.elapsed_us = micros(first.elapsed());
        }
        Scenario::Ttft | Scenario::Stream => {
            let _warm_up = streamed(&mut report);
            let first = Instant::now();
            for _ in 0..job.requests {
                let start = Instant::now();
                if let Some(done) = streamed(&mut report) {
                    report.events += done.events;
                    let latency = match scenario {
                        Scenario::Ttft => done.first_delta.map(|at| at - start),
                        _ => Some(start.elapsed()),
                    };
                    match latency {
                        Some(latency) => report.latencies_us.push(micros(latency)),
                        None => fail(
                            &mut report,
                            &ProviderError::InvalidResponse(
                                "the stream ended without a delta event".into(),
                            ),
                        ),
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
        Scenario::Concurrent => concurrent(job, &transport, &config, &request, &mut report),
    }
    report
}

/// C streams started together on C threads (small stacks); elapsed from the first send
/// to the last end.
fn concurrent(
    job: &Job,
    transport: &TcpTransport,
    config: &ProviderConfig,
    request: &ChatRequest,
    report: &mut Report,
) {
    let count = usize::try_from(job.concurrency).unwrap_or(usize::MAX);
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
                    let result = stream_once(transport, config, request, job.max_tokens);
                    (start, Instant::now(), result)
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    fail(
                        report,
                        &ProviderError::InvalidResponse(format!(
                            "could not start thread {i} of {count}: {e}"
                        )),
                    );
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
                    Err(error) => fail(report, &error),
                }
            }
            Err(_) => fail(
                report,
                &ProviderError::InvalidResponse("a stream's thread panicked".into()),
            ),
        }
    }
    if let (Some(first), Some(last)) = (first, last) {
        report.elapsed_us = micros(last.saturating_duration_since(first));
    }
}
