//! Every client measured in interleaved rounds: each round runs one shape
//! on every client in turn before the next shape, so that the figures a
//! ratio compares are taken seconds apart, not minutes. A shared machine
//! speeds up and slows down over a run; interleaving spreads that over
//! every client alike instead of favouring whichever ran in a quiet minute.

use std::time::Duration;

use crate::peers::{Peer, Shape, figures_failure, run_shape};
use crate::plan::{Plan, SINGLE};
use crate::results::{ClientFigures, Concurrency, Rate};
use crate::stats::{self, as_us};
use vllm_bench_protocol::Scenario;

/// What one client's runs add up to.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    ttfts_us: Vec<u64>,
    /// Events and microseconds of each stream model, all rounds together.
    streams: Vec<(u64, u64)>,
    walls: Vec<Duration>,
    process_rss_kib: u64,
    concurrency: Vec<Concurrency>,
    /// One line per shape that failed (its first failure).
    failures: Vec<(String, String)>,
}

impl Tally {
    fn failed(&mut self, label: &str, why: String) {
        if !self.failures.iter().any(|(l, _)| l == label) {
            self.failures.push((label.to_owned(), why));
        }
    }

    fn has_failed(&self, label: &str) -> bool {
        self.failures.iter().any(|(l, _)| l == label)
    }
}

/// Measures every client under `plan`, in [`Plan::rounds`] interleaved
/// rounds; the concurrency levels run once per client, level by level.
pub fn measure_all(
    peers: &[&Peer],
    base_url: &str,
    plan: &Plan,
    progress: &dyn Fn(&str),
) -> Vec<ClientFigures> {
    let mut tallies: Vec<Tally> = peers
        .iter()
        .map(|_| Tally {
            streams: vec![(0, 0); plan.stream_models.len()],
            ..Tally::default()
        })
        .collect();
    let rounds = plan.rounds.max(1);
    let per_round = |total: u32| total.div_ceil(rounds).max(1);
    let short = |scenario, requests| Shape {
        scenario,
        model: SINGLE,
        requests,
        concurrency: 1,
        tokens: plan.short_tokens,
        exact: true,
    };
    let stream = |model| Shape {
        scenario: Scenario::Stream,
        model,
        requests: per_round(plan.stream_requests),
        concurrency: 1,
        tokens: plan.stream_tokens,
        exact: true,
    };
    for round in 1..=rounds {
        let mut shapes = vec![
            (
                "latency".to_owned(),
                short(Scenario::Latency, per_round(plan.latency_requests)),
            ),
            (
                "time to first token".to_owned(),
                short(Scenario::Ttft, per_round(plan.ttft_requests)),
            ),
        ];
        for model in &plan.stream_models {
            shapes.push((
                format!("{} events of {model}", plan.stream_tokens),
                stream(model),
            ));
        }
        for _ in 0..per_round(plan.once_runs) {
            shapes.push(("fresh process".to_owned(), short(Scenario::Once, 1)));
        }
        for (label, shape) in &shapes {
            for (peer, tally) in peers.iter().zip(&mut tallies) {
                // A shape that failed once is not tried again.
                if tally.has_failed(label) {
                    continue;
                }
                progress(&format!("round {round}/{rounds}: {}: {label}", peer.name));
                match run_shape(&peer.program, base_url, *shape) {
                    Ok((measured, report)) => match shape.scenario {
                        Scenario::Latency => tally.latencies_us.extend(report.latencies_us),
                        Scenario::Ttft => tally.ttfts_us.extend(report.latencies_us),
                        Scenario::Stream => {
                            let index = plan.stream_models.iter().position(|m| *m == shape.model);
                            if let Some(slot) = index.and_then(|i| tally.streams.get_mut(i)) {
                                slot.0 += report.events;
                                slot.1 += report.elapsed_us;
                            }
                        }
                        Scenario::Once => {
                            tally.walls.push(measured.wall);
                            tally.process_rss_kib = tally.process_rss_kib.max(measured.max_rss_kib);
                        }
                        Scenario::Concurrent => {}
                    },
                    Err(why) => tally.failed(label, figures_failure(&peer.name, label, &why)),
                }
            }
        }
    }
    for &streams in &plan.concurrency {
        let label = format!("{streams} concurrent streams");
        let shape = Shape {
            scenario: Scenario::Concurrent,
            model: plan.concurrent_model,
            requests: 1,
            concurrency: streams,
            tokens: plan.concurrent_tokens,
            exact: true,
        };
        for (peer, tally) in peers.iter().zip(&mut tallies) {
            progress(&format!("{}: {label}", peer.name));
            match run_shape(&peer.program, base_url, shape) {
                Ok((measured, report)) => tally.concurrency.push(Concurrency {
                    streams,
                    events_per_s: stats::per_second(report.events, report.elapsed_us)
                        .unwrap_or(0.0),
                    max_rss_kib: measured.max_rss_kib,
                    cpu_us_per_stream: as_us(measured.cpu) / u64::from(streams.max(1)),
                    errors: report.errors,
                }),
                Err(why) => tally.failed(&label, figures_failure(&peer.name, &label, &why)),
            }
        }
    }
    peers
        .iter()
        .zip(tallies)
        .map(|(peer, tally)| figures(&peer.name, plan, tally))
        .collect()
}

/// A client's figures from its tally.
fn figures(name: &str, plan: &Plan, tally: Tally) -> ClientFigures {
    let streams = plan
        .stream_models
        .iter()
        .zip(&tally.streams)
        .filter(|(_, (events, _))| *events > 0)
        .map(|(model, &(events, elapsed_us))| Rate {
            model: (*model).to_owned(),
            events_per_s: stats::per_second(events, elapsed_us).unwrap_or(0.0),
        })
        .collect();
    ClientFigures {
        name: name.to_owned(),
        latency: stats::quantiles(&tally.latencies_us),
        ttft: stats::quantiles(&tally.ttfts_us),
        streams,
        process_us: stats::median_us(&tally.walls),
        process_rss_kib: (tally.process_rss_kib > 0).then_some(tally.process_rss_kib),
        concurrency: tally.concurrency,
        failures: tally.failures.into_iter().map(|(_, why)| why).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::Program;

    /// A client that answers every shape with a fixed report.
    fn fake(name: &str, latency_us: u64) -> Peer {
        let line = |scenario: &str, latencies: &str, events: u64, elapsed: u64| {
            format!(
                "{scenario}) echo '{{\"client\":\"{name}\",\"scenario\":\"{scenario}\",\
                 \"latencies_us\":[{latencies}],\"events\":{events},\"elapsed_us\":{elapsed},\
                 \"errors\":0,\"error\":null}}' ;;"
            )
        };
        let script = format!(
            "case $1 in {} {} {} {} {} esac",
            line("latency", &latency_us.to_string(), 0, latency_us),
            line("ttft", &latency_us.to_string(), 16, latency_us),
            line("stream", "5", 10, 5),
            line("once", "", 16, 5),
            line("concurrent", "", 40, 100),
        );
        Peer {
            name: name.to_owned(),
            program: Program {
                program: "sh".into(),
                args: vec!["-c".into(), script.into(), "sh".into()],
                env: Vec::new(),
            },
        }
    }

    fn plan() -> Plan {
        Plan {
            rounds: 2,
            latency_requests: 2,
            ttft_requests: 2,
            short_tokens: 16,
            stream_requests: 2,
            stream_tokens: 10,
            stream_models: vec!["text"],
            once_runs: 2,
            concurrency: vec![2],
            concurrent_model: "text-d1000",
            concurrent_tokens: 20,
            ..Plan::quick()
        }
    }

    #[test]
    fn rounds_add_up_per_client_and_interleave() {
        let (a, b) = (fake("a", 100), fake("b", 300));
        let order = std::sync::Mutex::new(Vec::new());
        let progress = |what: &str| order.lock().expect("lock").push(what.to_owned());
        let figures = measure_all(&[&a, &b], "http://127.0.0.1:1/v1", &plan(), &progress);
        assert_eq!(figures.len(), 2);
        for f in &figures {
            assert!(f.failures.is_empty(), "{}: {:?}", f.name, f.failures);
        }
        assert_eq!(figures[0].latency.map(|q| q.p50_us), Some(100));
        assert_eq!(figures[1].ttft.map(|q| q.p50_us), Some(300));
        // 2 rounds of 20 events in 10 us each: 2M events/s.
        assert_eq!(figures[0].rate("text"), Some(2_000_000.0));
        assert_eq!(figures[0].at(2).map(|c| c.errors), Some(0));
        assert!(figures[1].process_us.is_some());
        let order = order.into_inner().expect("lock");
        let latency: Vec<&String> = order.iter().filter(|l| l.ends_with(": latency")).collect();
        assert_eq!(
            latency,
            [
                "round 1/2: a: latency",
                "round 1/2: b: latency",
                "round 2/2: a: latency",
                "round 2/2: b: latency"
            ]
        );
    }

    #[test]
    fn a_failing_shape_is_reported_once_and_not_retried() {
        let broken = Peer {
            name: "broken".into(),
            program: Program::parse("false").expect("a command"),
        };
        let runs = std::sync::Mutex::new(0);
        let progress = |what: &str| {
            if what.ends_with(": latency") {
                *runs.lock().expect("lock") += 1;
            }
        };
        let figures = measure_all(&[&broken], "http://127.0.0.1:1/v1", &plan(), &progress);
        let failures = &figures[0].failures;
        assert_eq!(
            failures.iter().filter(|f| f.contains("latency")).count(),
            1,
            "{failures:?}"
        );
        assert_eq!(*runs.lock().expect("lock"), 1);
        assert!(figures[0].latency.is_none());
    }
}
