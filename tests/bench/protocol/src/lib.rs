//! The benchmark protocol (`tests/bench/PROTOCOL.md`): the scenarios every
//! client runs, the arguments each takes and the one-line JSON report each
//! prints. The runner (`vllm-bench`) and the Rust clients (the component's
//! `vllm-bench client`, `vllm-bench-native`) share these types, so that a
//! field added to the report is added for all of them.

use std::fmt;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

/// What a client measures in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// N sequential non-streamed requests: one latency each.
    Latency,
    /// N sequential streamed requests: time to the first delta event each.
    Ttft,
    /// N sequential streamed requests of T events: whole-stream time each.
    Stream,
    /// C streamed requests of T events at once.
    Concurrent,
    /// One streamed request of T events (a fresh process's whole life).
    Once,
}

impl Scenario {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Ttft => "ttft",
            Self::Stream => "stream",
            Self::Concurrent => "concurrent",
            Self::Once => "once",
        }
    }

    /// Whether the scenario runs one unmeasured request first.
    pub fn warms_up(self) -> bool {
        matches!(self, Self::Latency | Self::Ttft | Self::Stream)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A client's arguments after the scenario.
#[derive(Debug, Clone, Args)]
pub struct Job {
    /// The server's base URL, with `/v1`
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// Model id: `<kind>[-w<N>][-d<US>]` on the load server
    #[arg(long, value_name = "ID")]
    pub model: String,
    /// Sequential requests measured (latency, ttft, stream)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub requests: u32,
    /// Streams at once (concurrent)
    #[arg(long, value_name = "C", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// Events per reply (the request's max_tokens)
    #[arg(long, value_name = "T", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tokens: u32,
}

/// What a client prints: one JSON object on one line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Which client.
    pub client: String,
    /// Which scenario.
    pub scenario: String,
    /// One per measured request, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Delta events received in the measured requests.
    pub events: u64,
    /// From the first measured send to the last measured end.
    pub elapsed_us: u64,
    /// Requests that failed.
    pub errors: u64,
    /// The first failure's message.
    pub error: Option<String>,
}

impl Report {
    /// An empty report of `client` running `scenario`.
    pub fn new(client: &str, scenario: Scenario) -> Self {
        Self {
            client: client.to_owned(),
            scenario: scenario.name().to_owned(),
            ..Self::default()
        }
    }

    /// The report as the one line a client prints.
    pub fn line(&self) -> String {
        // Strings, numbers and a list of numbers always serialise; were it
        // ever not so, the runner would say the client printed no report.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the last line of `stdout` that holds a JSON object.
    pub fn parse(stdout: &str) -> Result<Self, String> {
        let line = stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| line.starts_with('{'))
            .ok_or_else(|| "printed no JSON report line".to_owned())?;
        serde_json::from_str(line).map_err(|err| format!("printed an unreadable report ({err})"))
    }

    /// Records a failed request, keeping the first message.
    pub fn fail(&mut self, message: String) {
        self.errors += 1;
        if self.error.is_none() {
            self.error = Some(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_json_line() {
        let out = "noise\n{\"client\":\"a\",\"scenario\":\"ttft\",\"latencies_us\":[5,6],\
                   \"events\":32,\"elapsed_us\":11,\"errors\":0,\"error\":null}\n";
        let report = Report::parse(out).expect("parses");
        assert_eq!(report.latencies_us, [5, 6]);
        assert_eq!(report.events, 32);
        assert!(Report::parse("nothing").is_err());
        assert!(Report::parse("{not json").is_err());
    }

    #[test]
    fn a_report_line_reads_back() {
        let mut report = Report::new("native", Scenario::Concurrent);
        report.events = 7;
        report.fail("refused".into());
        let line = report.line();
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(Report::parse(&line).expect("parses"), report);
        assert_eq!(report.scenario, "concurrent");
    }

    #[test]
    fn keeps_the_first_failure() {
        let mut report = Report::default();
        report.fail("one".into());
        report.fail("two".into());
        assert_eq!((report.errors, report.error.as_deref()), (2, Some("one")));
    }
}
