//! Runs every scenario of the plan against one client process after
//! another and turns their reports into figures.

use std::ffi::OsString;
use std::time::Duration;

use super::child::{self, Measured, Program};
use super::plan::{Plan, SINGLE};
use super::protocol::{Report, Scenario};
use super::results::{ClientFigures, Concurrency, Quantiles, Rate};
use super::stats::{self, as_us};

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

/// Measures every figure of `peer` under `plan`; `progress` hears what runs.
pub fn measure(peer: &Peer, base_url: &str, plan: &Plan, progress: &dyn Fn(&str)) -> ClientFigures {
    let mut figures = ClientFigures {
        name: peer.name.clone(),
        ..ClientFigures::default()
    };
    let short = |scenario, requests| Shape {
        scenario,
        model: SINGLE,
        requests,
        concurrency: 1,
        tokens: plan.short_tokens,
        exact: true,
    };
    let attempt = |label: &str, shape: Shape<'_>| {
        progress(&format!("{}: {label}", peer.name));
        run_shape(&peer.program, base_url, shape)
            .map_err(|why| figures_failure(&peer.name, label, &why))
    };

    let mut failures = Vec::new();
    match attempt("latency", short(Scenario::Latency, plan.latency_requests)) {
        Ok((_, report)) => figures.latency = quantiles(&report.latencies_us),
        Err(why) => failures.push(why),
    }
    match attempt(
        "time to first token",
        short(Scenario::Ttft, plan.ttft_requests),
    ) {
        Ok((_, report)) => figures.ttft = quantiles(&report.latencies_us),
        Err(why) => failures.push(why),
    }
    for model in &plan.stream_models {
        let shape = Shape {
            scenario: Scenario::Stream,
            model,
            requests: plan.stream_requests,
            concurrency: 1,
            tokens: plan.stream_tokens,
            exact: true,
        };
        match attempt(&format!("{} events of {model}", plan.stream_tokens), shape) {
            Ok((_, report)) => {
                if let Some(rate) = stats::per_second(report.events, report.elapsed_us) {
                    figures.streams.push(Rate {
                        model: (*model).to_owned(),
                        events_per_s: rate,
                    });
                }
            }
            Err(why) => failures.push(why),
        }
    }
    let mut walls = Vec::new();
    let mut rss = 0;
    for _ in 0..plan.once_runs {
        match attempt("fresh process", short(Scenario::Once, 1)) {
            Ok((measured, _)) => {
                walls.push(measured.wall);
                rss = rss.max(measured.max_rss_kib);
            }
            Err(why) => {
                failures.push(why);
                break;
            }
        }
    }
    figures.process_us = stats::median_us(&walls);
    figures.process_rss_kib = (rss > 0).then_some(rss);
    for &streams in &plan.concurrency {
        let shape = Shape {
            scenario: Scenario::Concurrent,
            model: plan.concurrent_model,
            requests: 1,
            concurrency: streams,
            tokens: plan.concurrent_tokens,
            exact: true,
        };
        match attempt(&format!("{streams} concurrent streams"), shape) {
            Ok((measured, report)) => figures.concurrency.push(Concurrency {
                streams,
                events_per_s: stats::per_second(report.events, report.elapsed_us).unwrap_or(0.0),
                max_rss_kib: measured.max_rss_kib,
                cpu_us_per_stream: as_us(measured.cpu) / u64::from(streams.max(1)),
                errors: report.errors,
            }),
            Err(why) => failures.push(why),
        }
    }
    figures.failures = failures;
    figures
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

fn figures_failure(client: &str, label: &str, why: &str) -> String {
    format!("{client}, {label}: {why}")
}

fn quantiles(samples: &[u64]) -> Option<Quantiles> {
    Some(Quantiles {
        p50_us: stats::quantile(samples, 0.5)?,
        p99_us: stats::quantile(samples, 0.99)?,
    })
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
