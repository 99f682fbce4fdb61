//! Retries: refused connections, 429 and 5xx, Retry-After, and what is never
//! sent again.

use super::*;
use crate::retry::MAX_ATTEMPTS;
use crate::transport::replay::Step;

const MODELS: &str = r#"{"object":"list","data":[{"id":"tiny","max_model_len":2048}]}"#;

fn models() -> Step {
    (200, "application/json", vec![MODELS.as_bytes().to_vec()]).into()
}

fn ok() -> Step {
    (200, "application/json", vec![ok_body()]).into()
}

fn status(code: u16, message: &str) -> Timed {
    let body =
        json!({"error": {"message": message, "type": "ServiceUnavailableError", "code": code}});
    Timed::from((
        code,
        "application/json",
        vec![body.to_string().into_bytes()],
    ))
}

fn sleeps(replay: &Replay) -> Vec<Millis> {
    replay.sleeps.borrow().clone()
}

#[test]
fn a_refused_connection_is_retried_with_jittered_backoff() {
    let replay = Replay::steps(vec![Step::Refuse, Step::Refuse, models()]);
    let cfg = config(Vec::new(), Some("sk-1"));
    let found = Client::new(&replay, &cfg)
        .expect("client")
        .discover()
        .expect("the third attempt succeeds");
    assert_eq!(found.models[0].id, "tiny");
    assert_eq!(replay.seen.borrow().len(), 3);
    let waits = sleeps(&replay);
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!((100..300).contains(&waits[0]), "{waits:?}");
    assert!((200..600).contains(&waits[1]), "{waits:?}");
    // Every attempt shares the first one's total deadline.
    let seen = replay.seen.borrow();
    assert!(seen.iter().all(|r| r.deadline == seen[0].deadline));
}

#[test]
fn a_connection_refused_every_time_names_the_attempts() {
    let replay = Replay::steps(vec![Step::Refuse, Step::Refuse, Step::Refuse, models()]);
    let cfg = config(Vec::new(), Some("sk-1"));
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .discover()
        .expect_err("refused");
    match &error {
        ProviderError::Connection(e) => {
            assert_eq!(e.authority, "127.0.0.1:8000");
            assert!(e.message.contains("connection refused"), "{}", e.message);
            assert!(e.message.contains("3 attempts"), "{}", e.message);
            assert!(!e.message.contains("sk-1"), "{}", e.message);
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert_eq!(replay.seen.borrow().len(), MAX_ATTEMPTS as usize);
    assert_eq!(sleeps(&replay).len(), 2);
}

#[test]
fn a_429_waits_as_long_as_retry_after_says() {
    let replay = Replay::steps(vec![
        status(429, "Too many requests")
            .with_retry_after("2")
            .into(),
        ok(),
    ]);
    let cfg = config(vec![tiny()], None);
    let started = replay.clock.now();
    let completion = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect("the retry succeeds");
    assert_eq!(completion.text, "hi");
    assert_eq!(sleeps(&replay), [2_000]);
    assert!(replay.clock.now() - started >= 2_000);
    assert_eq!(replay.seen.borrow().len(), 2);
}

#[test]
fn a_retry_after_date_falls_back_to_the_backoff() {
    let replay = Replay::steps(vec![
        status(503, "busy")
            .with_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
            .into(),
        ok(),
    ]);
    let cfg = config(vec![tiny()], None);
    Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect("the retry succeeds");
    let waits = sleeps(&replay);
    assert_eq!(waits.len(), 1);
    assert!((100..300).contains(&waits[0]), "{waits:?}");
}

#[test]
fn a_retry_after_past_the_deadline_is_not_waited_for() {
    // T = 1 s: 10 s in all; the server asks for 20 s.
    let replay = Replay::steps(vec![
        status(503, "Service Unavailable")
            .with_retry_after("20")
            .into(),
        ok(),
    ]);
    let cfg = config(vec![tiny()], None);
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect_err("not retried");
    match &error {
        ProviderError::Server(e) => {
            assert_eq!(e.status, 503);
            assert!(e.message.contains("Service Unavailable"), "{}", e.message);
            assert!(e.message.contains("after 1 attempt"), "{}", e.message);
            assert!(e.message.contains("20 s (Retry-After)"), "{}", e.message);
            assert!(
                e.message.contains("10 s (10 × timeoutSeconds)"),
                "{}",
                e.message
            );
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    assert!(sleeps(&replay).is_empty());
    assert_eq!(replay.seen.borrow().len(), 1);
}

#[test]
fn a_503_every_time_gives_up_after_three_attempts_with_the_servers_words() {
    let replay = Replay::steps(vec![
        status(503, "engine overloaded").into(),
        status(503, "engine overloaded").into(),
        status(503, "engine still overloaded").into(),
        ok(),
    ]);
    let cfg = config(vec![tiny()], None);
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect_err("busy");
    match &error {
        ProviderError::Server(e) => {
            assert_eq!(e.status, 503);
            assert!(
                e.message.contains("engine still overloaded"),
                "{}",
                e.message
            );
            assert!(e.message.contains("after 3 attempts"), "{}", e.message);
            assert!(e.message.contains("try again"), "{}", e.message);
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    assert_eq!(replay.seen.borrow().len(), 3);
}

#[test]
fn a_500_before_any_reply_is_retried() {
    let replay = Replay::steps(vec![status(500, "boom").into(), ok()]);
    let cfg = config(vec![tiny()], None);
    let completion = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect("the second attempt is answered");
    assert!(!completion.text.is_empty());
    assert_eq!(replay.seen.borrow().len(), 2);
    assert_eq!(sleeps(&replay).len(), 1);
}

#[test]
fn every_5xx_but_501_and_505_is_retried_and_gives_up_naming_the_attempts() {
    for code in [500, 502, 503, 504, 507] {
        let replay = Replay::steps(vec![
            status(code, "down").into(),
            status(code, "down").into(),
            status(code, "still down").into(),
        ]);
        let cfg = config(vec![tiny()], None);
        let error = Client::new(&replay, &cfg)
            .expect("client")
            .complete(&chat("tiny"))
            .expect_err("failed");
        match &error {
            ProviderError::Server(e) => {
                assert_eq!(e.status, code);
                assert!(e.message.contains("after 3 attempts"), "{}", e.message);
            }
            other => panic!("{code}: expected a server error, got {other:?}"),
        }
        assert_eq!(replay.seen.borrow().len(), 3, "{code}");
    }
    for code in [501, 505] {
        let replay = Replay::steps(vec![status(code, "no").into(), ok()]);
        let cfg = config(vec![tiny()], None);
        let error = Client::new(&replay, &cfg)
            .expect("client")
            .complete(&chat("tiny"))
            .expect_err("failed");
        assert!(
            matches!(&error, ProviderError::Server(e) if e.status == code),
            "{error:?}"
        );
        assert_eq!(replay.seen.borrow().len(), 1, "{code} is final");
    }
}

#[test]
fn a_stream_that_failed_after_its_head_is_not_retried() {
    let cut = sse(&[delta("partial", None)], false);
    let whole = sse(&[delta("whole", Some("stop"))], true);
    let replay = Replay::new(vec![
        (200, "text/event-stream", vec![cut]),
        (200, "text/event-stream", vec![whole]),
    ]);
    let cfg = config(Vec::new(), None);
    let client = Client::new(&replay, &cfg).expect("client");
    let mut stream = client.start_stream(&chat("tiny")).expect("stream");
    let (events, error) = read_to_error(&mut stream);
    assert_eq!(text(&events), "partial");
    assert!(
        matches!(&error, ProviderError::InvalidResponse(m) if m.contains("ended before")),
        "{error:?}"
    );
    assert_eq!(stream.next_events(), Ok(None));
    assert_eq!(replay.seen.borrow().len(), 1);
}

#[test]
fn a_stream_refused_with_503_is_started_again() {
    let whole = sse(&[delta("whole", Some("stop"))], true);
    let replay = Replay::steps(vec![
        status(503, "busy").into(),
        (200, "text/event-stream", vec![whole]).into(),
    ]);
    let cfg = config(Vec::new(), None);
    let client = Client::new(&replay, &cfg).expect("client");
    let mut stream = client.start_stream(&chat("tiny")).expect("stream");
    let first = stream.next_events().expect("events").expect("some");
    assert_eq!(text(&first), "whole");
    assert_eq!(replay.seen.borrow().len(), 2);
}

#[test]
fn a_completion_whose_body_broke_after_a_200_is_not_retried() {
    let replay = Replay::steps(vec![
        (
            200,
            "application/json",
            vec![br#"{"model":"tiny","choi"#.to_vec()],
        )
            .into(),
        ok(),
    ]);
    let cfg = config(vec![tiny()], None);
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect_err("broken");
    assert!(
        matches!(error, ProviderError::InvalidResponse(_)),
        "{error:?}"
    );
    assert_eq!(replay.seen.borrow().len(), 1);

    // One that stalls mid-body times out, and is not sent again.
    let replay = Replay::steps(vec![
        Timed {
            status: 200,
            content_type: "application/json",
            head_at: 10,
            pieces: vec![(20, b"{".to_vec())],
            end: None,
            retry_after: None,
        }
        .into(),
        ok(),
    ]);
    let error = Client::new(&replay, &cfg)
        .expect("client")
        .complete(&chat("tiny"))
        .expect_err("stalled");
    assert!(matches!(error, ProviderError::Timeout(_)), "{error:?}");
    assert_eq!(replay.seen.borrow().len(), 1);
}

#[test]
fn the_health_probe_reports_a_503_at_once_but_retries_a_refusal() {
    let replay = Replay::steps(vec![
        (503, "text/plain", Vec::new()).into(),
        Step::Refuse,
        (200, "application/json", vec![b"{}".to_vec()]).into(),
    ]);
    let cfg = config(Vec::new(), None);
    let client = Client::new(&replay, &cfg).expect("client");
    assert_eq!(client.get_root("/health").expect("answered").0, 503);
    assert_eq!(replay.seen.borrow().len(), 1);
    assert_eq!(client.get_root("/version").expect("answered").0, 200);
    assert_eq!(replay.seen.borrow().len(), 3);
}
