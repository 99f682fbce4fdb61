//! `vllm-bench client`: the component as one client of the benchmark
//! protocol, driven in process through the `vllm_harness` library. The
//! plugin is loaded and the models discovered once, before anything is
//! measured, as a host does at start-up; every request then pays for its
//! own store, instance and connection.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use tokio::task::JoinSet;
use vllm_bench_protocol::{Job, Report, Scenario};
use vllm_harness::{
    API_KEY_VAR, CallError, ChatRequest, ConfigInput, Harness, HarnessOptions, ProviderConfig,
    ProviderMode, StreamEvent, env_from_process,
};

/// The name the component's reports carry.
pub const CLIENT: &str = "component";

/// `client` options.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The provider component
    #[arg(long, value_name = "FILE.wasm")]
    pub plugin: PathBuf,
    /// What to measure
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// The requests.
    #[command(flatten)]
    pub job: Job,
}

impl ClientArgs {
    /// Whether the scenario runs many plugin calls at once.
    pub fn is_concurrent(&self) -> bool {
        self.scenario == Scenario::Concurrent
    }
}

/// Runs the scenario and prints the report line; fails when any request
/// failed.
pub async fn run(args: &ClientArgs) -> anyhow::Result<()> {
    let client = Client::start(args).await?;
    let report = client.measure(args.scenario).await;
    crate::print(&format!("{}\n", report.line()))?;
    match &report.error {
        None => Ok(()),
        Some(error) => Err(anyhow::anyhow!(
            "{} of the requests failed; the first: {error}",
            report.errors
        )),
    }
}

/// What one streamed request gave.
struct Streamed {
    events: u64,
    /// Microseconds from the send to the first delta event.
    first_us: Option<u64>,
}

#[derive(Clone)]
struct Client {
    harness: Harness,
    config: ProviderConfig,
    job: Job,
}

impl Client {
    /// Loads the plugin, resolves the configuration for the job's server
    /// and discovers its models, as `vllm-harness` does for a command.
    async fn start(args: &ClientArgs) -> anyhow::Result<Self> {
        let env_names = vec![API_KEY_VAR.to_owned()];
        let env = env_from_process(&env_names);
        let harness = Harness::load(
            &args.plugin,
            HarnessOptions {
                env_names,
                ..HarnessOptions::default()
            },
        )?;
        let mut config = harness
            .resolve_config(ConfigInput {
                provider_json: None,
                env,
                auth_profile_key: None,
                base_url_override: Some(args.job.base_url.clone()),
            })
            .await?;
        if config.mode == ProviderMode::Discover {
            config.models = harness.discover_models(&config).await?;
        }
        Ok(Self {
            harness,
            config,
            job: args.job.clone(),
        })
    }

    fn request(&self) -> ChatRequest {
        let mut request = ChatRequest::user_text(&self.job.model, "hi");
        request.sampling.max_tokens = Some(self.job.max_tokens);
        request
    }

    async fn measure(&self, scenario: Scenario) -> Report {
        let mut report = Report::new(CLIENT, scenario);
        if scenario.warms_up()
            && let Err(err) = self.one(scenario).await
        {
            report.fail(format!("warm-up: {err}"));
            return report;
        }
        let start = Instant::now();
        match scenario {
            Scenario::Latency | Scenario::Ttft | Scenario::Stream => {
                for _ in 0..self.job.requests {
                    let sent = Instant::now();
                    match self.one(scenario).await {
                        Ok(streamed) => {
                            report.events += streamed.events;
                            let whole = micros(sent);
                            report.latencies_us.push(match scenario {
                                Scenario::Ttft => streamed.first_us.unwrap_or(whole),
                                _ => whole,
                            });
                        }
                        Err(err) => report.fail(err.to_string()),
                    }
                }
            }
            Scenario::Once => match self.one(scenario).await {
                Ok(streamed) => report.events = streamed.events,
                Err(err) => report.fail(err.to_string()),
            },
            Scenario::Concurrent => {
                let mut tasks = JoinSet::new();
                for _ in 0..self.job.concurrency {
                    let client = self.clone();
                    tasks.spawn(async move { client.stream().await });
                }
                while let Some(joined) = tasks.join_next().await {
                    match joined {
                        Ok(Ok(streamed)) => report.events += streamed.events,
                        Ok(Err(err)) => report.fail(err.to_string()),
                        Err(err) => report.fail(format!("a stream task ended abnormally: {err}")),
                    }
                }
            }
        }
        report.elapsed_us = micros(start);
        report
    }

    /// One request as the scenario sends it.
    async fn one(&self, scenario: Scenario) -> Result<Streamed, CallError> {
        if scenario == Scenario::Latency {
            // A non-streamed reply has no delta events to count.
            self.harness.complete(&self.config, self.request()).await?;
            return Ok(Streamed {
                events: 0,
                first_us: None,
            });
        }
        self.stream().await
    }

    async fn stream(&self) -> Result<Streamed, CallError> {
        let sent = Instant::now();
        let mut stream = self.harness.stream(&self.config, self.request()).await?;
        let mut streamed = Streamed {
            events: 0,
            first_us: None,
        };
        while let Some(batch) = stream.next().await? {
            let deltas = batch.iter().filter(|event| is_delta(event)).count() as u64;
            if deltas > 0 && streamed.first_us.is_none() {
                streamed.first_us = Some(micros(sent));
            }
            streamed.events += deltas;
        }
        Ok(streamed)
    }
}

/// Whether the event is one a UI would draw: text, reasoning or tool
/// arguments.
fn is_delta(event: &StreamEvent) -> bool {
    match event {
        StreamEvent::TextDelta(text) | StreamEvent::ReasoningDelta(text) => !text.is_empty(),
        StreamEvent::ToolCallDelta(delta) => !delta.arguments.is_empty(),
        _ => false,
    }
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}
