//! The benchmark's targets (the product's speed and size goals, stated in
//! BENCHMARKS.md), judged against the figures of the same run.

use crate::plan::{BATCHED, SINGLE};
use crate::results::{ClientFigures, Results, Target};

/// Added latency allowed over the native client at p50, microseconds.
const ADDED_US: u64 = 50;
/// The plugin size target, bytes.
const WASM_BYTES: u64 = 150_000;

/// Judges every target; the component and the baseline are looked up by name.
pub fn judge(results: &Results, component: &str, baseline: &str) -> Vec<Target> {
    let find = |name: &str| results.clients.iter().find(|c| c.name == name);
    let ours = find(component);
    let floor = find(baseline);
    let pi = find("pi-ai");
    let mut targets = vec![
        rate_target(
            ours,
            floor,
            BATCHED,
            0.5,
            "batched writes (64 events per write)",
        ),
        rate_target(ours, floor, SINGLE, 0.9, "one event per write"),
    ];
    let ten_x_pi = match (
        ours.and_then(|c| c.rate(SINGLE)),
        pi.and_then(|c| c.rate(SINGLE)),
    ) {
        (Some(a), Some(b)) => (Some(a >= 10.0 * b), format!("{:.1}x pi-ai", a / b)),
        _ => (None, "not measured".to_owned()),
    };
    targets.push(Target {
        name: "events/s, one event per write, against pi-ai".into(),
        goal: "at least 10x pi-ai".into(),
        measured: ten_x_pi.1,
        met: ten_x_pi.0,
    });
    targets.push(added_target(
        "time to first token, p50",
        ours.and_then(|c| c.ttft).map(|q| q.p50_us),
        floor.and_then(|c| c.ttft).map(|q| q.p50_us),
    ));
    targets.push(added_target(
        "non-streamed request latency, p50",
        ours.and_then(|c| c.latency).map(|q| q.p50_us),
        floor.and_then(|c| c.latency).map(|q| q.p50_us),
    ));
    let c = &results.component;
    targets.push(limit_target(
        "warm start in process (cached artifact + instantiate + first call)",
        c.warm_start_us,
        1_000,
        "under 1 ms",
        us,
    ));
    targets.push(limit_target(
        "`models list` as a fresh process, warm cache",
        c.process_warm_us,
        100_000,
        "under 100 ms",
        us,
    ));
    targets.push(limit_target(
        "peak RSS of one streaming `chat`",
        c.chat_rss_kib,
        30 * 1000 * 1000 / 1024,
        "under 30 MB",
        kib,
    ));
    let thousand = ours.and_then(|c| c.at(1000));
    targets.push(Target {
        name: "1000 concurrent streams".into(),
        goal: "no error, under 300 MB".into(),
        measured: thousand.map_or_else(
            || "not measured".to_owned(),
            |t| format!("{} errors, {}", t.errors, kib(t.max_rss_kib)),
        ),
        met: thousand.map(|t| t.errors == 0 && t.max_rss_kib * 1024 < 300_000_000),
    });
    targets.push(limit_target(
        "plugin .wasm size",
        Some(c.wasm_bytes).filter(|b| *b > 0),
        WASM_BYTES,
        "at most 150 KB",
        |b| format!("{:.0} KB", b as f64 / 1000.0),
    ));
    // "Under" targets are strict; the size one is "at most".
    if let Some(size) = targets.last_mut() {
        size.met = Some(c.wasm_bytes > 0 && c.wasm_bytes <= WASM_BYTES);
    }
    targets
}

fn rate_target(
    ours: Option<&ClientFigures>,
    floor: Option<&ClientFigures>,
    model: &str,
    ratio: f64,
    what: &str,
) -> Target {
    let pair = ours
        .and_then(|c| c.rate(model))
        .zip(floor.and_then(|c| c.rate(model)));
    Target {
        name: format!("events/s, {what}"),
        goal: format!("at least {ratio}x native"),
        measured: pair.map_or_else(
            || "not measured".to_owned(),
            |(a, b)| format!("{:.2}x native ({} vs {})", a / b, rate(a), rate(b)),
        ),
        met: pair.map(|(a, b)| a >= ratio * b),
    }
}

fn added_target(name: &str, ours: Option<u64>, floor: Option<u64>) -> Target {
    let pair = ours.zip(floor);
    Target {
        name: name.into(),
        goal: format!("within native + {ADDED_US} us"),
        measured: pair.map_or_else(
            || "not measured".to_owned(),
            |(a, b)| {
                let added = a as i64 - b as i64;
                format!("native {added:+} us ({} vs {})", us(a), us(b))
            },
        ),
        met: pair.map(|(a, b)| a <= b + ADDED_US),
    }
}

fn limit_target(
    name: &str,
    value: Option<u64>,
    limit: u64,
    goal: &str,
    show: fn(u64) -> String,
) -> Target {
    Target {
        name: name.into(),
        goal: goal.into(),
        measured: value.map_or_else(
            || "not measured".to_owned(),
            |v| {
                if v < limit {
                    show(v)
                } else {
                    format!("{} ({:.1}x the target)", show(v), v as f64 / limit as f64)
                }
            },
        ),
        met: value.map(|v| v < limit),
    }
}

/// Microseconds for people: `850 us`, `1.25 ms`, `1.30 s`.
pub fn us(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros} us"),
        1_000..1_000_000 => format!("{:.2} ms", micros as f64 / 1e3),
        _ => format!("{:.2} s", micros as f64 / 1e6),
    }
}

/// KiB for people, in decimal megabytes as the targets are stated.
pub fn kib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

/// Events per second for people: `2.41M/s`, `77.0k/s`.
pub fn rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2}M/s", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1}k/s", per_s / 1e3)
    } else {
        format!("{per_s:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Quantiles, Rate};

    fn client(name: &str, single: f64, ttft: u64) -> ClientFigures {
        ClientFigures {
            name: name.into(),
            streams: vec![Rate {
                model: SINGLE.into(),
                events_per_s: single,
            }],
            ttft: Some(Quantiles {
                p50_us: ttft,
                p99_us: ttft,
            }),
            ..ClientFigures::default()
        }
    }

    #[test]
    fn targets_compare_with_the_same_run() {
        let mut results = Results {
            clients: vec![
                client("native", 1000.0, 100),
                client("component", 950.0, 140),
            ],
            ..Results::default()
        };
        results.component.wasm_bytes = 200_000;
        results.component.warm_start_us = Some(900);
        let targets = judge(&results, "component", "native");
        let find = |prefix: &str| {
            targets
                .iter()
                .find(|t| t.name.starts_with(prefix))
                .expect("target present")
        };
        assert_eq!(find("events/s, one event per write").met, Some(true));
        assert_eq!(find("events/s, batched").met, None);
        assert_eq!(find("time to first token").met, Some(true));
        assert_eq!(find("warm start").met, Some(true));
        let size = find("plugin .wasm size");
        assert_eq!(size.met, Some(false));
        assert!(
            size.measured.contains("1.3x the target"),
            "{}",
            size.measured
        );
        assert_eq!(find("1000 concurrent").met, None);
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(us(850), "850 us");
        assert_eq!(us(1250), "1.25 ms");
        assert_eq!(rate(2_410_000.0), "2.41M/s");
        assert_eq!(rate(77_000.0), "77.0k/s");
        assert_eq!(kib(29_297), "30.0 MB");
    }
}
