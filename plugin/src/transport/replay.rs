//! A transport that replays canned responses on a simulated clock: the
//! server of the client's unit tests, and of native tools (the examples)
//! that drive the client without a network. Native only: the component
//! sends through wasi-http and never carries it.

use super::*;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// Where the simulated clock starts: not zero, so that code which
/// forgets to add `now` to a limit is caught.
pub const CLOCK_START: Millis = 1_000_000;

/// The simulated monotonic clock a replay and its bodies share. It
/// moves only when a read waits for something that arrives later.
#[derive(Debug, Clone)]
pub struct Clock(Rc<Cell<Millis>>);

impl Default for Clock {
    fn default() -> Self {
        Self(Rc::new(Cell::new(CLOCK_START)))
    }
}

impl Clock {
    /// The time now.
    pub fn now(&self) -> Millis {
        self.0.get()
    }

    /// Moves the clock forward to `t` (never back).
    pub fn advance_to(&self, t: Millis) {
        self.0.set(self.0.get().max(t));
    }
}

/// A canned body: pieces that arrive at given moments of the clock, and
/// the moment it ends (`None`: it never does).
#[derive(Debug)]
pub struct CannedBody {
    clock: Clock,
    pieces: VecDeque<(Millis, Vec<u8>)>,
    end: Option<Millis>,
}

impl ResponseBody for CannedBody {
    fn read(&mut self, wait: Wait) -> Result<ReadResult, ProviderError> {
        let now = self.clock.now();
        let next = self.pieces.front().map(|(at, _)| *at).or(self.end);
        let arrives = match (next, wait) {
            (Some(at), _) if at <= now => true,
            (Some(at), Wait::Until(t)) if at <= t => {
                self.clock.advance_to(at);
                true
            }
            (_, Wait::Until(t)) => {
                self.clock.advance_to(t);
                false
            }
            (_, Wait::No) => false,
        };
        if !arrives {
            return Ok(ReadResult::Pending);
        }
        Ok(match self.pieces.pop_front() {
            Some((_, bytes)) => ReadResult::Data(bytes),
            None => ReadResult::End,
        })
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }
}

/// A canned response: status, content type, body pieces (all there at
/// once, then the end).
pub type Canned = (u16, &'static str, Vec<Vec<u8>>);

/// A canned response on the simulated clock; every time is in
/// milliseconds after the request was sent.
#[derive(Debug, Clone)]
pub struct Timed {
    /// The status code.
    pub status: u16,
    /// The content type.
    pub content_type: &'static str,
    /// When the response head arrives.
    pub head_at: Millis,
    /// Body pieces (never empty) and when each arrives, in order.
    pub pieces: Vec<(Millis, Vec<u8>)>,
    /// When the body ends; `None`: never (the server stalls).
    pub end: Option<Millis>,
    /// The `retry-after` header, if any.
    pub retry_after: Option<&'static str>,
}

impl From<Canned> for Timed {
    fn from((status, content_type, pieces): Canned) -> Self {
        Self {
            status,
            content_type,
            head_at: 0,
            pieces: pieces.into_iter().map(|piece| (0, piece)).collect(),
            end: Some(0),
            retry_after: None,
        }
    }
}

impl Timed {
    /// The same response with a `retry-after` header.
    pub fn with_retry_after(mut self, value: &'static str) -> Self {
        self.retry_after = Some(value);
        self
    }
}

/// What a replay does with one request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Answer it.
    Respond(Timed),
    /// Refuse the connection: nothing was sent.
    Refuse,
}

impl From<Timed> for Step {
    fn from(timed: Timed) -> Self {
        Self::Respond(timed)
    }
}

impl From<Canned> for Step {
    fn from(canned: Canned) -> Self {
        Self::Respond(canned.into())
    }
}

/// Replays responses in order and records every request.
#[derive(Debug, Default)]
pub struct Replay {
    /// What to do with the next requests.
    pub responses: RefCell<VecDeque<Step>>,
    /// Requests seen (every attempt, refused ones too).
    pub seen: RefCell<Vec<HttpRequest>>,
    /// Every [`Transport::sleep`], in milliseconds.
    pub sleeps: RefCell<Vec<Millis>>,
    /// The simulated clock.
    pub clock: Clock,
}

impl Replay {
    /// A replay of these responses, every byte there at once.
    pub fn new(responses: Vec<Canned>) -> Self {
        Self::timed(responses.into_iter().map(Timed::from).collect())
    }

    /// A replay of responses whose pieces arrive over simulated time.
    pub fn timed(responses: Vec<Timed>) -> Self {
        Self::steps(responses.into_iter().map(Step::from).collect())
    }

    /// A replay of responses and refused connections.
    pub fn steps(steps: Vec<Step>) -> Self {
        Self {
            responses: RefCell::new(steps.into()),
            seen: RefCell::default(),
            sleeps: RefCell::default(),
            clock: Clock::default(),
        }
    }
}

impl Transport for Replay {
    type Body = CannedBody;

    fn send(&self, request: &HttpRequest) -> Result<HttpResponse<CannedBody>, SendError> {
        self.seen.borrow_mut().push(request.clone());
        let step = self
            .responses
            .borrow_mut()
            .pop_front()
            .ok_or_else(|| ProviderError::InvalidResponse("no canned response left".into()))?;
        let timed = match step {
            Step::Respond(timed) => timed,
            Step::Refuse => {
                let authority = crate::url::HttpUrl::parse(&request.url)
                    .map(|url| url.host_port())
                    .unwrap_or_default();
                return Err(SendError::unsent(crate::error::connection(
                    &authority,
                    "connection refused",
                )));
            }
        };
        let start = self.clock.now();
        self.clock.advance_to(start + timed.head_at);
        Ok(HttpResponse {
            status: timed.status,
            content_type: Some(timed.content_type.to_owned()),
            retry_after: timed.retry_after.map(str::to_owned),
            location: None,
            content_encoding: None,
            body: CannedBody {
                clock: self.clock.clone(),
                pieces: timed
                    .pieces
                    .into_iter()
                    .map(|(at, piece)| (start + at, piece))
                    .collect(),
                end: timed.end.map(|at| start + at),
            },
        })
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    fn sleep(&self, ms: Millis) {
        self.sleeps.borrow_mut().push(ms);
        self.clock.advance_to(self.clock.now().saturating_add(ms));
    }

    fn jitter_seed(&self) -> u64 {
        // Deterministic, and different for every attempt.
        let attempts = self.seen.borrow().len() as u64;
        self.clock
            .now()
            .wrapping_mul(1_000_000)
            .wrapping_add(attempts)
    }
}

/// A replay that has answered one GET with a 200 whose body is `pieces`
/// of text at their times (the head 10 ms after the request), and that
/// body: for the tests of what reads a body.
#[cfg(test)]
pub(crate) fn canned(pieces: Vec<(Millis, &str)>, end: Option<Millis>) -> (Replay, CannedBody) {
    let replay = Replay::timed(vec![Timed {
        status: 200,
        content_type: "text/plain",
        head_at: 10,
        pieces: pieces
            .into_iter()
            .map(|(at, text)| (at, text.as_bytes().to_vec()))
            .collect(),
        end,
        retry_after: None,
    }]);
    let request = HttpRequest {
        method: Method::Get,
        url: "http://h:1/x".into(),
        headers: Vec::new(),
        body: Vec::new(),
        timeout_ms: 100,
        deadline: Deadline::total(replay.now(), 100),
    };
    let response = replay.send(&request).expect("canned");
    (replay, response.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_only_to_what_a_read_waits_for() {
        let (replay, mut body) = canned(vec![(50, "a"), (500, "b")], Some(600));
        assert_eq!(replay.now(), CLOCK_START + 10, "the head took 10 ms");
        assert_eq!(body.read(Wait::No), Ok(ReadResult::Pending));
        let until = CLOCK_START + 100;
        assert_eq!(
            body.read(Wait::Until(until)),
            Ok(ReadResult::Data(b"a".to_vec()))
        );
        assert_eq!(body.now(), CLOCK_START + 50);
        assert_eq!(body.read(Wait::Until(until)), Ok(ReadResult::Pending));
        assert_eq!(body.now(), until);
        assert_eq!(
            body.read(Wait::Until(CLOCK_START + 1000)),
            Ok(ReadResult::Data(b"b".to_vec()))
        );
        assert_eq!(
            body.read(Wait::Until(CLOCK_START + 1000)),
            Ok(ReadResult::End)
        );
        assert_eq!(body.now(), CLOCK_START + 600);
    }
}
