//! Runs every scenario of the plan against one client process after
//! another and turns their reports into figures.

use std::ffi::OsString;
use std::time::Duration;

use crate::child::{self, Measured, Program};
use crate::plan::Plan;
use crate::results::Rate;
use crate::stats;
use vllm_bench_protocol::{Report, Scenario};

/// The longest one client process may run.
pub const RUN_LIMIT: Duration = Duration::from_secs(300);

/// A client of the benchmark: a name and the command that speaks the
/// protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its name in the tables.
    pub name: String,
    /// How to run it.
    pub program: Program,
}

impl Peer {
    /// Parses `NAME=COMMAND`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, command) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}`: expected NAME=COMMAND"))?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "`{spec}`: the name must be letters, digits, `-`, `_` or `.`"
            ));
        }
        let program = Program::parse(command).map_err(|why| format!("`{spec}`: {why}"))?;
        Ok(Self {
            name: name.to_owned(),
            program,
        })
    }
}

/// One request shape: scenario, model and sizes.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// The scenario.
    pub scenario: Scenario,
    /// The load server model.
    pub model: &'a str,
    /// Sequential requests.
    pub requests: u32,
    /// Streams at once.
    pub concurrency: u32,
    /// Events per reply.
    pub tokens: u32,
    /// Whether every reply has exactly `tokens` events (the load server's
    /// do; a real model may stop sooner).
    pub exact: bool,
}

impl Shape<'_> {
    /// The events a client must count for this shape.
    pub fn expected_events(&self) -> u64 {
        let replies = match self.scenario {
            Scenario::Latency => return 0,
            Scenario::Ttft | Scenario::Stream => self.requests,
            Scenario::Concurrent => self.concurrency,
            Scenario::Once => 1,
        };
        u64::from(replies) * u64::from(self.tokens)
    }

    /// The protocol's arguments for this shape.
    pub fn args(&self, base_url: &str) -> Vec<OsString> {
        [
            self.scenario.name().to_owned(),
            "--base-url".into(),
            base_url.into(),
            "--model".into(),
            self.model.into(),
            "--requests".into(),
            self.requests.to_string(),
            "--concurrency".into(),
            self.concurrency.to_string(),
            "--max-tokens".into(),
            self.tokens.to_string(),
        ]
        .into_iter()
        .map(OsString::from)
        .collect()
    }
}

/// Runs one shape and checks the report: no errors, every event counted.
pub fn run_shape(
    program: &Program,
    base_url: &str,
    shape: Shape<'_>,
) -> Result<(Measured, Report), String> {
    let measured = child::run(program, &shape.args(base_url), RUN_LIMIT)?;
    let report = measured.report()?;
    if let Some(error) = &report.error {
        return Err(measured.explain(&format!("{} request(s) failed: {error}", report.errors)));
    }
    if !measured.success {
        return Err(measured.explain("it failed"));
    }
    let expected = shape.expected_events();
    if shape.exact && report.events != expected {
        return Err(format!(
            "counted {} events where the server sent {expected}",
            report.events
        ));
    }
    Ok((measured, report))
}

/// The load server's own ceiling: a raw client's rate for each model.
pub fn ceiling(
    program: &Program,
    base_url: &str,
    plan: &Plan,
    models: &[&str],
) -> (Vec<Rate>, Vec<String>) {
    let mut rates = Vec::new();
    let mut failures = Vec::new();
    for model in models {
        let shape = Shape {
            scenario: Scenario::Stream,
            model,
            requests: plan.stream_requests,
            concurrency: 1,
            tokens: plan.stream_tokens.max(100_000),
            exact: true,
        };
        match run_shape(program, base_url, shape) {
            Ok((_, report)) => {
                if let Some(rate) = stats::per_second(report.events, report.elapsed_us) {
                    rates.push(Rate {
                        model: (*model).to_owned(),
                        events_per_s: rate,
                    });
                }
            }
            Err(why) => failures.push(figures_failure("raw", model, &why)),
        }
    }
    (rates, failures)
}

pub(super) fn figures_failure(client: &str, label: &str, why: &str) -> String {
    format!("{client}, {label}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_name_equals_command() {
        let peer = Peer::parse("pi-ai=node peers/pi-ai.mjs").expect("parses");
        assert_eq!(peer.name, "pi-ai");
        assert_eq!(peer.program.program, "node");
        assert_eq!(peer.program.args, ["peers/pi-ai.mjs"]);
        assert!(Peer::parse("no-equals").is_err());
        assert!(Peer::parse("=cmd").is_err());
        assert!(Peer::parse("a b=cmd").is_err());
        assert!(Peer::parse("name=").is_err());
    }

    #[test]
    fn expected_events_follow_the_scenario() {
        let shape = |scenario| Shape {
            scenario,
            model: "text",
            requests: 3,
            concurrency: 7,
            tokens: 10,
            exact: true,
        };
        assert_eq!(shape(Scenario::Latency).expected_events(), 0);
        assert_eq!(shape(Scenario::Ttft).expected_events(), 30);
        assert_eq!(shape(Scenario::Stream).expected_events(), 30);
        assert_eq!(shape(Scenario::Concurrent).expected_events(), 70);
        assert_eq!(shape(Scenario::Once).expected_events(), 10);
        let args = shape(Scenario::Ttft).args("http://127.0.0.1:1/v1");
        assert_eq!(args[0], "ttft");
        assert_eq!(args[2], "http://127.0.0.1:1/v1");
    }
}
