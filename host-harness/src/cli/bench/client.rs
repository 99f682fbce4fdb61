//! `vllm-harness bench-client`: the component as one client of the
//! benchmark protocol. The plugin is loaded and the models discovered once,
//! before anything is measured, as a host does at start-up; every request
//! then pays for its own store, instance and connection.

use std::time::Instant;

use tokio::task::JoinSet;
use vllm_harness::{CallError, ChatRequest, Harness, ProviderConfig, StreamEvent};

use super::protocol::{Job, Report, Scenario};
use crate::cli::GlobalArgs;
use crate::cli::setup::Setup;

/// The name the component's reports carry.
pub const CLIENT: &str = "component";

/// Runs `scenario` and prints the report line; fails (exit 1) when any
/// request failed.
pub async fn run(global: &GlobalArgs, scenario: Scenario, job: &Job) -> anyhow::Result<()> {
    let setup = Setup::new(global).await?;
    setup.require_enabled()?;
    let config = setup.config_with_models().await?;
    let client = Client {
        harness: setup.harness,
        config,
        job: job.clone(),
    };
    let report = client.measure(scenario).await;
    crate::cli::print(&format!("{}\n", serde_json::to_string(&report)?))?;
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
    fn request(&self) -> ChatRequest {
        let mut request = ChatRequest::user_text(&self.job.model, "hi");
        request.sampling.max_tokens = Some(self.job.max_tokens);
        request
    }

    async fn measure(&self, scenario: Scenario) -> Report {
        let mut report = Report {
            client: CLIENT.to_owned(),
            scenario: scenario.name().to_owned(),
            ..Report::default()
        };
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
