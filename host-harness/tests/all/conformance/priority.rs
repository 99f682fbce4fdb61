//! vLLM's priority scheduling, for real: on a server started with
//! `--scheduling-policy priority --max-num-seqs 1`
//! (`VLLM_CONFORMANCE_PRIORITY`), one request runs at a time and the queue
//! is ordered by `priority`, lowest first. A foreground request (-100) sent
//! through the component after three background ones (100) are queued must
//! finish before all of them; were the field lost on the way, the queue
//! would be first come, first served and it would finish last.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use vllm_harness::StructuredOutput;
use vllm_tests::http_client;

use super::{MODEL, config, request, server};
use crate::common::plugin;

/// Background requests queued behind the one holding the server's only slot.
const QUEUED: usize = 3;
/// Tokens the slot holder generates (it ignores EOS), so that it outlasts
/// the queueing of the others by seconds.
const HOLDER_TOKENS: u32 = 1500;
/// Tokens of each queued reply.
const REPLY_TOKENS: u32 = 100;
/// Polls of `/metrics` while waiting for a queue state, and their spacing.
const POLLS: u32 = 400;
const POLL_GAP: Duration = Duration::from_millis(25);

fn address(base: &str) -> SocketAddr {
    let authority = base
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("a loopback http:// base URL: {base}"));
    authority
        .parse()
        .unwrap_or_else(|e| panic!("{authority} is not an address ({e})"))
}

/// The sum over engines of the gauge `name` in a Prometheus text page.
fn gauge(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until the server reports `running` requests running and
/// `waiting` queued; panics with the last figures after [`POLLS`] polls.
async fn until_queue(addr: SocketAddr, running: f64, waiting: f64) {
    let mut last = (f64::NAN, f64::NAN);
    for _ in 0..POLLS {
        let page = http_client::get(addr, "/metrics", &[])
            .await
            .expect("GET /metrics")
            .text();
        last = (
            gauge(&page, "vllm:num_requests_running"),
            gauge(&page, "vllm:num_requests_waiting"),
        );
        if last == (running, waiting) {
            return;
        }
        tokio::time::sleep(POLL_GAP).await;
    }
    panic!(
        "the server never had {running} running and {waiting} waiting (last: {} running, {} waiting); \
         did the request holding the slot finish too soon?",
        last.0, last.1
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs real vLLM servers: run tests/run-all.sh"]
async fn a_foreground_request_overtakes_queued_background_ones() {
    let base = server("VLLM_CONFORMANCE_PRIORITY");
    let addr = address(&base);
    let config = config(&base, None).await;
    let h = plugin().await;
    let started = Instant::now();

    // The slot holder goes straight to the server: it needs `ignore_eos`,
    // which the provider does not expose.
    let holder = tokio::spawn(async move {
        http_client::post_json(
            addr,
            "/v1/chat/completions",
            &[],
            &json!({
                "model": MODEL,
                "messages": [{"role": "user", "content": "Tell me a long story."}],
                "max_tokens": HOLDER_TOKENS,
                "ignore_eos": true,
                "temperature": 0,
            }),
        )
        .await
    });
    until_queue(addr, 1.0, 0.0).await;

    let finished = Arc::new(Mutex::new(Vec::new()));
    let send = |name: String, priority: i32| {
        let (h, config, finished) = (h.clone(), config.clone(), Arc::clone(&finished));
        // A regex of fixed length makes every reply take the same hundreds
        // of milliseconds, so the order they finish in is the order they ran.
        let mut turn = request("What is 2 + 2?");
        turn.sampling.max_tokens = Some(REPLY_TOKENS + 20);
        turn.structured_output = Some(StructuredOutput::Vllm(
            json!({ "regex": format!("x{{{REPLY_TOKENS}}}") }).to_string(),
        ));
        turn.priority = Some(priority);
        tokio::spawn(async move {
            let reply = h.complete(&config, turn).await;
            finished
                .lock()
                .expect("the order lock")
                .push((name.clone(), started.elapsed()));
            reply.unwrap_or_else(|e| panic!("{name}: {e}"))
        })
    };
    let mut calls = Vec::new();
    for n in 1..=QUEUED {
        calls.push(send(format!("background {n}"), 100));
        until_queue(addr, 1.0, n as f64).await;
    }
    calls.push(send("foreground".into(), -100));
    until_queue(addr, 1.0, (QUEUED + 1) as f64).await;
    let queued_at = started.elapsed();

    for call in calls {
        call.await.expect("a call does not panic");
    }
    let holder = holder
        .await
        .expect("the holder does not panic")
        .expect("the holder's request");
    assert_eq!(holder.status, 200, "{}", holder.text());
    let finished = finished.lock().expect("the order lock").clone();
    let order: Vec<&str> = finished.iter().map(|(name, _)| name.as_str()).collect();
    eprintln!(
        "priority: all queued after {queued_at:?}, done after {:?}; finished {finished:?}",
        started.elapsed()
    );
    assert_eq!(
        order.first().copied(),
        Some("foreground"),
        "the foreground request (priority -100) finishes before the background ones (100) queued ahead of it: {order:?}"
    );
}
