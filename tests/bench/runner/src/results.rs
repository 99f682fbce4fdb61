//! What a benchmark run found: the figures BENCHMARKS.md is made from,
//! also written as JSON (`--json`).

use serde::Serialize;

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    /// The machine and software measured on.
    pub machine: Machine,
    /// Whether this was the quick plan.
    pub quick: bool,
    /// The load server's own ceiling (a raw client that parses nothing).
    pub ceiling: Vec<Rate>,
    /// One entry per client, the baseline first.
    pub clients: Vec<ClientFigures>,
    /// Start-up and footprint of the component.
    pub component: ComponentFigures,
    /// The real vLLM line, when a server was given.
    pub real_vllm: Option<RealVllm>,
    /// Each target, met or by how much it was missed.
    pub targets: Vec<Target>,
}

/// The machine and software.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// `uname -sr`.
    pub kernel: String,
    /// This harness's version and wasmtime's.
    pub harness: String,
    /// Each peer's version line, as `name: version`.
    pub peers: Vec<String>,
    /// When the run started (UTC, RFC 3339).
    pub date: String,
}

/// Events per second for one model.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// The load server model.
    pub model: String,
    /// Events per second over the measured streams.
    pub events_per_s: f64,
}

/// p50 and p99 of a latency, in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
}

/// One concurrency level of one client.
#[derive(Debug, Clone, Serialize)]
pub struct Concurrency {
    /// Streams at once.
    pub streams: u32,
    /// Events per second, all streams together.
    pub events_per_s: f64,
    /// Peak RSS of the client process, KiB.
    pub max_rss_kib: u64,
    /// CPU time of the client process per stream, microseconds.
    pub cpu_us_per_stream: u64,
    /// Failed streams.
    pub errors: u64,
}

/// A client's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientFigures {
    /// Its name (`component`, `native`, `pi-ai`, ...).
    pub name: String,
    /// Non-streamed request latency.
    pub latency: Option<Quantiles>,
    /// Time to the first delta event.
    pub ttft: Option<Quantiles>,
    /// Long streams, one per model.
    pub streams: Vec<Rate>,
    /// A fresh process doing one short streamed request: median wall time.
    pub process_us: Option<u64>,
    /// Its peak RSS, KiB.
    pub process_rss_kib: Option<u64>,
    /// Concurrency levels.
    pub concurrency: Vec<Concurrency>,
    /// What failed, one line each.
    pub failures: Vec<String>,
}

impl ClientFigures {
    /// The events per second of `model`'s long stream.
    pub fn rate(&self, model: &str) -> Option<f64> {
        self.streams
            .iter()
            .find(|rate| rate.model == model)
            .map(|rate| rate.events_per_s)
    }

    /// The concurrency level with `streams` streams.
    pub fn at(&self, streams: u32) -> Option<&Concurrency> {
        self.concurrency.iter().find(|c| c.streams == streams)
    }
}

/// Start-up and footprint of the component.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ComponentFigures {
    /// Size of the plugin `.wasm`, bytes.
    pub wasm_bytes: u64,
    /// In-process: compile + link + instantiate + first call (median).
    pub cold_start_us: Option<u64>,
    /// In-process: cached artifact + link + instantiate + first call.
    pub warm_start_us: Option<u64>,
    /// In-process, with the harness loaded: store + instantiate + first call.
    pub instantiate_call_us: Option<u64>,
    /// `vllm-harness models list` as a fresh process, empty compile cache.
    pub process_cold_us: Option<u64>,
    /// The same with a warm compile cache.
    pub process_warm_us: Option<u64>,
    /// Peak RSS of one streaming `vllm-harness chat` of a long reply, KiB.
    pub chat_rss_kib: Option<u64>,
    /// What failed, one line each.
    pub failures: Vec<String>,
}

/// The line against a real vLLM server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RealVllm {
    /// Its base URL.
    pub base_url: String,
    /// The model used.
    pub model: String,
    /// Per client (component, native): time to first token.
    pub ttft: Vec<(String, Quantiles)>,
    /// Per client: tokens (events) per second of a stream.
    pub events_per_s: Vec<(String, f64)>,
    /// What failed.
    pub failures: Vec<String>,
}

/// One of the benchmark's targets: met, or missed by how much.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What is measured.
    pub name: String,
    /// The target, in words.
    pub goal: String,
    /// The figure measured, in words.
    pub measured: String,
    /// `None` when it could not be measured.
    pub met: Option<bool>,
}
