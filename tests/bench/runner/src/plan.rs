//! How much each benchmark run measures: the full plan behind
//! BENCHMARKS.md, or a quick one that checks the machinery in seconds.

/// Sizes and models of one benchmark run. The single-stream figures are
/// taken in `rounds` interleaved rounds (see `rounds.rs`), each with its
/// share of the requests below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Rounds of the single-stream figures.
    pub rounds: u32,
    /// Sequential non-streamed requests per client.
    pub latency_requests: u32,
    /// Sequential streamed requests for time to first token.
    pub ttft_requests: u32,
    /// Tokens of a short reply (latency and ttft).
    pub short_tokens: u32,
    /// Long streamed replies per client and model.
    pub stream_requests: u32,
    /// Events in a long streamed reply.
    pub stream_tokens: u32,
    /// The long-stream models: batched writes, one event per write, and
    /// the reasoning and tool-call shapes.
    pub stream_models: Vec<&'static str>,
    /// Fresh processes per client for the `once` figure.
    pub once_runs: u32,
    /// Concurrency levels.
    pub concurrency: Vec<u32>,
    /// Model of the concurrent streams: paced, so that every stream is
    /// open at once.
    pub concurrent_model: &'static str,
    /// Events per concurrent stream.
    pub concurrent_tokens: u32,
    /// In-process cold starts (compiles) measured.
    pub cold_runs: u32,
    /// In-process warm starts measured.
    pub warm_runs: u32,
    /// Fresh `vllm-harness` processes per cache state.
    pub process_runs: u32,
    /// Requests of the real-vLLM line.
    pub vllm_requests: u32,
    /// Tokens of the real-vLLM stream.
    pub vllm_tokens: u32,
}

/// The model with batched writes (64 events per write).
pub const BATCHED: &str = "text-w64";
/// The model with one event per write.
pub const SINGLE: &str = "text";

impl Plan {
    /// The plan behind BENCHMARKS.md.
    pub fn full() -> Self {
        Self {
            rounds: 5,
            latency_requests: 200,
            ttft_requests: 200,
            short_tokens: 16,
            stream_requests: 5,
            stream_tokens: 10_000,
            stream_models: vec![BATCHED, SINGLE, "reasoning", "tools"],
            once_runs: 5,
            concurrency: vec![1, 10, 100, 1000],
            concurrent_model: "text-d5000",
            concurrent_tokens: 200,
            cold_runs: 3,
            warm_runs: 20,
            process_runs: 10,
            vllm_requests: 10,
            vllm_tokens: 200,
        }
    }

    /// A run of seconds that exercises every figure.
    pub fn quick() -> Self {
        Self {
            rounds: 1,
            latency_requests: 10,
            ttft_requests: 10,
            short_tokens: 16,
            stream_requests: 1,
            stream_tokens: 2_000,
            stream_models: vec![BATCHED, SINGLE, "reasoning", "tools"],
            once_runs: 2,
            concurrency: vec![1, 10],
            concurrent_model: "text-d1000",
            concurrent_tokens: 50,
            cold_runs: 1,
            warm_runs: 3,
            process_runs: 2,
            vllm_requests: 2,
            vllm_tokens: 16,
        }
    }
}
