//! Whether a run measured everything its plan asked for. A figure that is
//! silently absent would leave a hole in BENCHMARKS.md, so the run fails
//! instead; `tests/bench/run --quick` relies on this to check the
//! machinery end to end.

use crate::plan::Plan;
use crate::results::Results;

/// What the run should have measured besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Every client, in the order they are measured.
    pub clients: &'a [&'a str],
    /// Whether the load server's ceiling was asked for.
    pub ceiling: bool,
    /// The ceiling's models.
    pub ceiling_models: &'a [&'a str],
}

/// One line per figure the plan asked for and the run lacks.
pub fn missing(results: &Results, plan: &Plan, expected: Expected<'_>) -> Vec<String> {
    let mut missing = Vec::new();
    let names: Vec<&str> = results.clients.iter().map(|c| c.name.as_str()).collect();
    if names != expected.clients {
        missing.push(format!(
            "clients: measured {names:?}, expected {:?}",
            expected.clients
        ));
    }
    for client in &results.clients {
        let name = &client.name;
        if client.latency.is_none() {
            missing.push(format!("{name}: latency"));
        }
        if client.ttft.is_none() {
            missing.push(format!("{name}: time to first token"));
        }
        for model in &plan.stream_models {
            if client.rate(model).is_none() {
                missing.push(format!("{name}: events/s of the {model} stream"));
            }
        }
        if client.process_us.is_none() {
            missing.push(format!("{name}: a fresh process"));
        }
        for &level in &plan.concurrency {
            match client.at(level) {
                None => missing.push(format!("{name}: {level} concurrent streams")),
                Some(c) if c.max_rss_kib == 0 => {
                    missing.push(format!("{name}: peak RSS at {level} concurrent streams"));
                }
                Some(_) => {}
            }
        }
    }
    let component = &results.component;
    let figures = [
        ("the plugin's size", (component.wasm_bytes > 0).then_some(0)),
        ("cold start in process", component.cold_start_us),
        ("warm start in process", component.warm_start_us),
        ("instantiate and first call", component.instantiate_call_us),
        ("a cold fresh process", component.process_cold_us),
        ("a warm fresh process", component.process_warm_us),
        ("peak RSS of one chat", component.chat_rss_kib),
    ];
    for (figure, value) in figures {
        if value.is_none() {
            missing.push(format!("component: {figure}"));
        }
    }
    if expected.ceiling {
        for model in expected.ceiling_models {
            if !results.ceiling.iter().any(|rate| rate.model == *model) {
                missing.push(format!("the load server's ceiling for {model}"));
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{ClientFigures, ComponentFigures, Concurrency, Quantiles, Rate};

    fn rate(model: &str) -> Rate {
        Rate {
            model: model.to_owned(),
            events_per_s: 1.0,
        }
    }

    fn full_client(name: &str, plan: &Plan) -> ClientFigures {
        let q = Quantiles {
            p50_us: 5,
            p99_us: 9,
        };
        ClientFigures {
            name: name.to_owned(),
            latency: Some(q),
            ttft: Some(q),
            streams: plan.stream_models.iter().map(|m| rate(m)).collect(),
            process_us: Some(100),
            process_rss_kib: Some(100),
            concurrency: plan
                .concurrency
                .iter()
                .map(|&streams| Concurrency {
                    streams,
                    events_per_s: 1.0,
                    max_rss_kib: 10,
                    cpu_us_per_stream: 1,
                    errors: 0,
                })
                .collect(),
            failures: Vec::new(),
        }
    }

    fn full(plan: &Plan) -> Results {
        Results {
            ceiling: vec![rate("a"), rate("b")],
            clients: vec![full_client("native", plan), full_client("component", plan)],
            component: ComponentFigures {
                wasm_bytes: 1,
                cold_start_us: Some(1),
                warm_start_us: Some(1),
                instantiate_call_us: Some(1),
                process_cold_us: Some(1),
                process_warm_us: Some(1),
                chat_rss_kib: Some(1),
                failures: Vec::new(),
            },
            ..Results::default()
        }
    }

    const EXPECTED: Expected<'static> = Expected {
        clients: &["native", "component"],
        ceiling: true,
        ceiling_models: &["a", "b"],
    };

    #[test]
    fn a_complete_run_lacks_nothing() {
        let plan = Plan::quick();
        assert_eq!(missing(&full(&plan), &plan, EXPECTED), Vec::<String>::new());
    }

    #[test]
    fn every_hole_is_named() {
        let plan = Plan::quick();
        let mut results = full(&plan);
        results.clients[1].ttft = None;
        results.clients[1].streams.pop();
        results.clients[0].concurrency[1].max_rss_kib = 0;
        results.component.chat_rss_kib = None;
        results.ceiling.clear();
        let expected = Expected {
            clients: &["native", "component", "curl"],
            ..EXPECTED
        };
        let lines = missing(&results, &plan, expected);
        for want in [
            "clients: measured",
            "component: time to first token",
            "component: events/s of the tools stream",
            "native: peak RSS at 10 concurrent streams",
            "component: peak RSS of one chat",
            "the load server's ceiling for a",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(want)),
                "{want}: {lines:?}"
            );
        }
        assert_eq!(lines.len(), 7, "{lines:?}");
    }
}
