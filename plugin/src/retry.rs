//! When a request is sent again, and how long the plugin waits first.
//!
//! Only requests that provably produced nothing for the user are retried:
//!
//! - the connection could not be made, so no byte of the request went out
//!   (refused, the name did not resolve, the destination is unreachable:
//!   the transport marks such a [`crate::transport::SendError`] `unsent`);
//! - the server answered `429 Too Many Requests`, or a 5xx status other than
//!   501 and 505 (which no retry changes), before any reply: the answer is
//!   an error, not a completion. A model call has no side effects, so
//!   sending it again is safe, as the OpenAI SDKs do for every 5xx; behind
//!   vLLM's router, a replica that died answers 500 until the router moves
//!   its sessions, and a retry lands on a live one.
//!
//! Anything else is final: a 4xx, a timeout, a connection lost after the
//! request went out, and above all a response whose body (a completion, a
//! stream) had started to arrive.
//!
//! At most [`MAX_ATTEMPTS`] attempts in all. Before attempt n (n ≥ 2) the
//! plugin waits the server's `Retry-After` (seconds form) when a retried status
//! gave one, else [`BASE_BACKOFF_MS`] × 2^(n-2) times a jitter factor in
//! [0.5, 1.5). No wait is longer than [`MAX_WAIT_MS`], and none may end at
//! or after the request's total deadline: then the last failure is returned
//! at once, saying why it was not retried.

use crate::deadline::{self, Deadline, Millis};
use crate::wit::{ConnectionError, ProviderError, ServerError};

/// The most attempts one request gets, the first one included: two
/// retries are enough to ride out a server that is restarting or briefly
/// overloaded, few enough that a server that is down is reported quickly.
pub const MAX_ATTEMPTS: u32 = 3;

/// The backoff before the second attempt, before jitter; it doubles for
/// each attempt after that (200 ms, then 400 ms).
pub const BASE_BACKOFF_MS: Millis = 200;

/// No wait between attempts is longer than this (30 s), whatever
/// `Retry-After` asks for.
pub const MAX_WAIT_MS: Millis = 30_000;

/// The 5xx statuses a retry cannot change: the server does not implement
/// the method, or the HTTP version.
pub const FINAL_SERVER_STATUSES: [u16; 2] = [501, 505];

/// Whether a response with `status` may be sent again (when the call
/// retries statuses at all): 429, and 5xx but [`FINAL_SERVER_STATUSES`].
pub fn is_retry_status(status: u16) -> bool {
    status == 429 || ((500..600).contains(&status) && !FINAL_SERVER_STATUSES.contains(&status))
}

/// splitmix64's finaliser: spreads a seed whose low bits barely change
/// (clock readings) over all 64 bits.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The jitter factor for `seed`, in thousandths: in [500, 1500).
///
/// The seed is a reading of the monotonic clock in nanoseconds (see
/// [`crate::transport::Transport::jitter_seed`]): jitter only has to keep
/// clients that failed together from retrying together, so it needs to
/// differ between clients, not to be unpredictable. It is not secure and
/// is never used for anything that must be.
pub fn jitter_permille(seed: u64) -> u64 {
    500 + mix(seed) % 1000
}

/// The backoff before attempt `attempt` (2 for the first retry):
/// [`BASE_BACKOFF_MS`] × 2^(attempt-2) × a jitter factor in [0.5, 1.5).
pub fn backoff_ms(attempt: u32, seed: u64) -> Millis {
    let doublings = attempt.saturating_sub(2).min(16);
    let base = BASE_BACKOFF_MS << doublings;
    base * jitter_permille(seed) / 1000
}

/// The wait a `Retry-After` value asks for, in milliseconds: only the
/// seconds form (`Retry-After: 2`); an HTTP date or anything else is
/// `None` (the backoff applies). Absurdly large values saturate; the
/// caller caps every wait at [`MAX_WAIT_MS`].
pub fn parse_retry_after(value: &str) -> Option<Millis> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(seconds.saturating_mul(1000))
}

/// What failed on the attempt just made, for deciding and for words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The connection could not be made.
    Unsent,
    /// The server answered a status [`is_retry_status`] covers, with this
    /// `Retry-After` if any.
    Status {
        /// The status.
        status: u16,
        /// The raw `Retry-After` header.
        retry_after: Option<&'a str>,
    },
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Wait this long, then make the next attempt.
    Wait(Millis),
    /// Stop: return the failure, with this note on why it is final
    /// (`after 3 attempts`, ...).
    GiveUp(String),
}

/// `1 attempt`, `3 attempts`.
fn attempts_words(attempts: u32) -> String {
    if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    }
}

/// Decides what follows attempt number `attempt` (from 1), which failed as
/// `failure`, at `now`; `seed` picks the jitter.
pub fn plan(
    attempt: u32,
    failure: Failure<'_>,
    now: Millis,
    deadline: Deadline,
    seed: u64,
) -> Plan {
    if attempt >= MAX_ATTEMPTS {
        return Plan::GiveUp(format!("after {}", attempts_words(attempt)));
    }
    let asked = match failure {
        Failure::Status { retry_after, .. } => retry_after.and_then(parse_retry_after),
        Failure::Unsent => None,
    };
    let wait = asked
        .unwrap_or_else(|| backoff_ms(attempt + 1, seed))
        .min(MAX_WAIT_MS);
    if now.saturating_add(wait) >= deadline.at {
        let why = match asked {
            Some(asked) => format!(
                "the server asked to wait {} (Retry-After{})",
                deadline::seconds(asked),
                if asked > MAX_WAIT_MS {
                    format!(", at most {} is waited", deadline::seconds(MAX_WAIT_MS))
                } else {
                    String::new()
                }
            ),
            None => format!("the next attempt is due in {}", deadline::seconds(wait)),
        };
        return Plan::GiveUp(format!(
            "after {}; not retried: {why}, which ends past this request's total limit of {} \
             ({} × timeoutSeconds)",
            attempts_words(attempt),
            deadline::seconds(deadline.limit_ms),
            deadline::TOTAL_FACTOR
        ));
    }
    Plan::Wait(wait)
}

/// The final error of a request that was not retried further: `error`
/// keeps its type, and its message says how many attempts were made
/// (`note`, from [`Plan::GiveUp`]) and what to do.
pub fn give_up(error: ProviderError, note: &str) -> ProviderError {
    match error {
        ProviderError::Connection(e) => ProviderError::Connection(ConnectionError {
            message: format!("{} ({note})", e.message),
            authority: e.authority,
        }),
        ProviderError::Server(e) if is_retry_status(e.status) => {
            let advice = match e.status {
                429 => {
                    "the server is limiting the request rate; wait and try again, or send fewer \
                     requests at once"
                }
                503 => {
                    "the server is overloaded or not ready yet (still loading the model?); wait \
                     and try again"
                }
                _ => {
                    "the server failed before it answered (behind a router, a replica may be \
                     down); if it keeps failing, check the server's log"
                }
            };
            ProviderError::Server(ServerError {
                status: e.status,
                message: format!("{} (HTTP {}, {note}: {advice})", e.message, e.status),
            })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_jitter_stays_in_its_bounds() {
        for seed in (0..10_000u64).map(|i| i.wrapping_mul(1_000_003)) {
            let j = jitter_permille(seed);
            assert!((500..1500).contains(&j), "{j}");
            assert!((100..300).contains(&backoff_ms(2, seed)));
            assert!((200..600).contains(&backoff_ms(3, seed)));
        }
        // Clock readings a few nanoseconds apart land far apart.
        let spread: std::collections::BTreeSet<u64> = (0..100u64)
            .map(|ns| jitter_permille(5_000_000_000 + ns))
            .collect();
        assert!(spread.len() > 80, "{spread:?}");
        assert!(spread.iter().any(|j| *j < 800) && spread.iter().any(|j| *j >= 1200));
    }

    #[test]
    fn only_the_seconds_form_of_retry_after_counts() {
        assert_eq!(parse_retry_after("2"), Some(2_000));
        assert_eq!(parse_retry_after(" 0 "), Some(0));
        assert_eq!(parse_retry_after("99999999999999999999999"), Some(u64::MAX));
        for other in [
            "",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "-1",
            "1.5",
            "soon",
            "+3",
        ] {
            assert_eq!(parse_retry_after(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_plan_waits_within_its_caps_or_gives_up_saying_why() {
        let deadline = Deadline::total(0, 10_000); // 100 s in all
        let status = |retry_after| Failure::Status {
            status: 503,
            retry_after,
        };
        assert_eq!(
            plan(1, status(Some("2")), 0, deadline, 7),
            Plan::Wait(2_000)
        );
        assert_eq!(
            plan(1, status(Some("120")), 0, deadline, 7),
            Plan::Wait(MAX_WAIT_MS),
            "capped at 30 s"
        );
        let Plan::Wait(ms) = plan(2, status(Some("a date")), 0, deadline, 7) else {
            panic!("a retry");
        };
        assert_eq!(ms, backoff_ms(3, 7));
        let Plan::Wait(ms) = plan(1, Failure::Unsent, 0, deadline, 7) else {
            panic!("a retry");
        };
        assert_eq!(ms, backoff_ms(2, 7));

        assert_eq!(
            plan(3, Failure::Unsent, 0, deadline, 7),
            Plan::GiveUp("after 3 attempts".into())
        );
        // 30 s from 80 s passes the deadline at 100 s: no wait.
        match plan(1, status(Some("45")), 80_000, deadline, 7) {
            Plan::GiveUp(note) => {
                assert!(note.starts_with("after 1 attempt;"), "{note}");
                assert!(note.contains("45 s (Retry-After, at most 30 s"), "{note}");
                assert!(note.contains("100 s (10 × timeoutSeconds)"), "{note}");
            }
            other => panic!("{other:?}"),
        }
        match plan(2, Failure::Unsent, 99_990, deadline, 7) {
            Plan::GiveUp(note) => assert!(note.contains("next attempt is due"), "{note}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn giving_up_keeps_the_type_and_names_the_attempts() {
        let error = give_up(
            crate::error::connection("h:1", "connection refused"),
            "after 3 attempts",
        );
        assert!(
            matches!(&error, ProviderError::Connection(e) if e.authority == "h:1"
                && e.message.contains("connection refused")
                && e.message.ends_with("(after 3 attempts)")),
            "{error:?}"
        );
        let error = give_up(
            ProviderError::Server(ServerError {
                status: 429,
                message: "slow down".into(),
            }),
            "after 3 attempts",
        );
        assert!(
            matches!(&error, ProviderError::Server(e) if e.status == 429
                && e.message.starts_with("slow down (HTTP 429, after 3 attempts: ")),
            "{error:?}"
        );
        let timeout = ProviderError::Timeout("t".into());
        assert_eq!(give_up(timeout.clone(), "after 3 attempts"), timeout);
    }
}
