//! The benchmark's tables, in Markdown (printed, and the body of
//! BENCHMARKS.md).

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::results::{ClientFigures, Quantiles, Results};
use crate::targets::{kib, rate, us};

/// All tables of `results`; `baseline` names the client ratios are against.
pub fn markdown(results: &Results, plan: &Plan, baseline: &str) -> String {
    let mut out = String::new();
    machine(&mut out, results);
    single(&mut out, results, plan, baseline);
    concurrency(&mut out, results, plan);
    component(&mut out, results);
    real_vllm(&mut out, results);
    targets(&mut out, results);
    failures(&mut out, results);
    out
}

fn machine(out: &mut String, results: &Results) {
    let m = &results.machine;
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(
        out,
        "{} ({} logical CPUs), {} MiB RAM, {}; measured {}{}.\n",
        m.cpu,
        m.cpus,
        m.memory_mib,
        m.kernel,
        m.date,
        if results.quick { " (quick plan)" } else { "" }
    );
    let _ = writeln!(out, "- {}", m.harness);
    for peer in &m.peers {
        let _ = writeln!(out, "- {peer}");
    }
    if !results.ceiling.is_empty() {
        let rates: Vec<String> = results
            .ceiling
            .iter()
            .map(|r| format!("`{}` {}", r.model, rate(r.events_per_s)))
            .collect();
        let _ = writeln!(
            out,
            "- load server ceiling (a raw client that parses nothing): {}",
            rates.join(", ")
        );
    }
    out.push('\n');
}

fn single(out: &mut String, results: &Results, plan: &Plan, baseline: &str) {
    let floor = results.clients.iter().find(|c| c.name == baseline);
    let _ = writeln!(out, "## One stream at a time\n");
    let _ = writeln!(
        out,
        "Latency: {} non-streamed requests of {} tokens; time to first token (TTFT): {} streamed \
         requests; events/s: {} streamed replies of {} events per model (`text-w64`: 64 events \
         per write, `text`: one per write); fresh process: spawn to exit of one short streamed \
         request (median of {}). Taken in {} rounds, each running every client in turn on one \
         shape before the next. Ratios are against `{baseline}` in the same run.\n",
        plan.latency_requests,
        plan.short_tokens,
        plan.ttft_requests,
        plan.stream_requests,
        plan.stream_tokens,
        plan.once_runs,
        plan.rounds,
    );
    let mut header = vec![
        "client".to_owned(),
        "latency p50".into(),
        "p99".into(),
        "TTFT p50".into(),
        "p99".into(),
    ];
    header.extend(plan.stream_models.iter().map(|m| format!("`{m}` events/s")));
    header.extend(["fresh process".into(), "its peak RSS".into()]);
    table_header(out, &header);
    for client in &results.clients {
        let mut row = vec![format!("`{}`", client.name)];
        let q = |q: Option<Quantiles>, pick: fn(&Quantiles) -> u64, base: Option<Quantiles>| {
            q.map_or_else(dash, |q| {
                let value = pick(&q);
                match base {
                    Some(b) if client.name != baseline => {
                        format!("{} ({:+})", us(value), value as i64 - pick(&b) as i64)
                    }
                    _ => us(value),
                }
            })
        };
        row.push(q(
            client.latency,
            |q| q.p50_us,
            floor.and_then(|f| f.latency),
        ));
        row.push(q(
            client.latency,
            |q| q.p99_us,
            floor.and_then(|f| f.latency),
        ));
        row.push(q(client.ttft, |q| q.p50_us, floor.and_then(|f| f.ttft)));
        row.push(q(client.ttft, |q| q.p99_us, floor.and_then(|f| f.ttft)));
        for model in &plan.stream_models {
            row.push(client.rate(model).map_or_else(dash, |r| {
                match floor.and_then(|f| f.rate(model)) {
                    Some(b) if client.name != baseline => format!("{} ({:.2}x)", rate(r), r / b),
                    _ => rate(r),
                }
            }));
        }
        row.push(client.process_us.map_or_else(dash, us));
        row.push(client.process_rss_kib.map_or_else(dash, kib));
        table_row(out, &row);
    }
    out.push('\n');
}

fn concurrency(out: &mut String, results: &Results, plan: &Plan) {
    let _ = writeln!(out, "## Concurrent streams\n");
    let _ = writeln!(
        out,
        "Each stream is `{}` with {} events (the server paces them, so every stream is open at \
         once); one client process carries all of them. RSS per stream is the growth over one \
         stream, divided by the extra streams; CPU is the process's user + system time per \
         stream. See `bench.svg`.\n",
        plan.concurrent_model, plan.concurrent_tokens
    );
    table_header(
        out,
        &[
            "client",
            "streams",
            "events/s",
            "peak RSS",
            "RSS per stream",
            "CPU per stream",
            "errors",
        ]
        .map(str::to_owned),
    );
    for client in &results.clients {
        let one = client.at(1).map(|c| c.max_rss_kib);
        for level in &client.concurrency {
            let per_stream = match one {
                Some(base) if level.streams > 1 => kib_per(
                    level.max_rss_kib.saturating_sub(base),
                    u64::from(level.streams - 1),
                ),
                _ => dash(),
            };
            table_row(
                out,
                &[
                    format!("`{}`", client.name),
                    level.streams.to_string(),
                    rate(level.events_per_s),
                    kib(level.max_rss_kib),
                    per_stream,
                    us(level.cpu_us_per_stream),
                    level.errors.to_string(),
                ],
            );
        }
    }
    out.push('\n');
}

fn kib_per(total: u64, count: u64) -> String {
    let per = total as f64 / count.max(1) as f64;
    if per >= 1024.0 {
        format!("{:.2} MB", per * 1024.0 / 1e6)
    } else {
        format!("{per:.0} KiB")
    }
}

fn component(out: &mut String, results: &Results) {
    let c = &results.component;
    let _ = writeln!(out, "## The component: start-up and size\n");
    table_header(out, &["figure".to_owned(), "value".into()]);
    let rows: [(&str, String); 7] = [
        (
            "cold start in process: read the .wasm + compile + link + instantiate + first call",
            c.cold_start_us.map_or_else(dash, us),
        ),
        (
            "warm start in process: read the .wasm + map the cached artifact + link + instantiate + first call",
            c.warm_start_us.map_or_else(dash, us),
        ),
        (
            "per call on a loaded harness: store + instantiate + call (`resolve-config`)",
            c.instantiate_call_us.map_or_else(dash, us),
        ),
        (
            "`vllm-harness models list` as a fresh process, empty cache",
            c.process_cold_us.map_or_else(dash, us),
        ),
        (
            "`vllm-harness models list` as a fresh process, warm cache",
            c.process_warm_us.map_or_else(dash, us),
        ),
        (
            "peak RSS of one streaming `vllm-harness chat`",
            c.chat_rss_kib.map_or_else(dash, kib),
        ),
        ("plugin `.wasm`", format!("{} bytes", c.wasm_bytes)),
    ];
    for (name, value) in rows {
        table_row(out, &[name.to_owned(), value]);
    }
    out.push('\n');
}

fn real_vllm(out: &mut String, results: &Results) {
    let Some(real) = &results.real_vllm else {
        return;
    };
    let _ = writeln!(out, "## For scale: a real vLLM server\n");
    let mut parts = Vec::new();
    for (client, q) in &real.ttft {
        parts.push(format!("`{client}` TTFT p50 {}", us(q.p50_us)));
    }
    for (client, r) in &real.events_per_s {
        parts.push(format!(
            "`{client}` {} tokens/s",
            rate(*r).trim_end_matches("/s")
        ));
    }
    let _ = writeln!(
        out,
        "`{}` on {} (CPU): {}.\n",
        real.model,
        real.base_url,
        if parts.is_empty() {
            "nothing measured".to_owned()
        } else {
            parts.join("; ")
        }
    );
}

fn targets(out: &mut String, results: &Results) {
    let _ = writeln!(out, "## Targets\n");
    table_header(
        out,
        &["target", "goal", "measured", "met"].map(str::to_owned),
    );
    for target in &results.targets {
        let met = match target.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        table_row(
            out,
            &[
                target.name.clone(),
                target.goal.clone(),
                target.measured.clone(),
                met.to_owned(),
            ],
        );
    }
    out.push('\n');
}

fn failures(out: &mut String, results: &Results) {
    let all: Vec<&String> = results
        .clients
        .iter()
        .flat_map(|c: &ClientFigures| &c.failures)
        .chain(&results.component.failures)
        .chain(results.real_vllm.iter().flat_map(|r| &r.failures))
        .collect();
    if all.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Failures\n");
    for failure in all {
        let _ = writeln!(out, "- {}", failure.replace('\n', " "));
    }
    out.push('\n');
}

fn dash() -> String {
    "-".to_owned()
}

fn table_header(out: &mut String, cells: &[String]) {
    table_row(out, cells);
    let rule: Vec<String> = cells.iter().map(|_| "---".to_owned()).collect();
    table_row(out, &rule);
}

fn table_row(out: &mut String, cells: &[String]) {
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}
