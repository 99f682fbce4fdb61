//! The same recovery over a streamed reply's text, piece by piece.
//!
//! Text is passed on as it comes, except what may still be a call: a
//! trailing part of a marker (`<tool_c`), a block from `<tool_call>` until
//! it closes, Mistral's `[TOOL_CALLS]` to the end, and a reply that starts
//! with `{` until its first object shows whether it is a call. Blanks at
//! the end are held too, so that a reply of calls leaves no stray line
//! breaks. Held text that is no call is passed on unchanged; nothing is
//! held beyond [`MAX_HELD_BYTES`].

use super::{
    FoundCall, HERMES_CLOSE, HERMES_OPEN, MISTRAL_CALLS, Offered, PYTHON_TAG, Recovered, call_in,
    recover,
};
use crate::json;

/// The most text held back while it may still be a call.
pub const MAX_HELD_BYTES: usize = crate::stream::MAX_TOOL_ARGUMENTS_BYTES;

/// The markers that begin a call in running text.
const MARKERS: [&str; 2] = [HERMES_OPEN, MISTRAL_CALLS];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Recovery is off (no tools offered, or too much held): text passes.
    Off,
    /// Nothing but blanks so far: the reply may be Llama 3's JSON form.
    Start,
    /// The reply starts with `{`: held until its first object closes.
    FirstObject,
    /// The reply's first object was a call: held to the end.
    JsonCalls,
    /// Running text, scanned for a marker.
    Text,
    /// Inside a `<tool_call>` block: held until it closes.
    Hermes,
    /// After `[TOOL_CALLS]`: held to the end.
    Mistral,
}

/// Recovers calls from a streamed reply's visible text.
#[derive(Debug)]
pub struct Streaming {
    offered: Offered,
    mode: Mode,
    held: String,
    /// Calls recovered so far.
    calls: usize,
    /// Whether any text has been passed on.
    text_sent: bool,
    /// In [`Mode::FirstObject`]: where in `held` the object starts, and
    /// how far it has been read.
    object_at: usize,
    object: json::ObjectScanner,
    /// In [`Mode::Hermes`]: how far `held` has been searched for the
    /// closing tag, so that a long block is searched once, not per piece.
    searched: usize,
}

impl Streaming {
    /// A filter for a reply to a request that offered `offered`.
    pub fn new(offered: Offered) -> Self {
        let mode = if offered.is_empty() {
            Mode::Off
        } else {
            Mode::Start
        };
        Self {
            offered,
            mode,
            held: String::new(),
            calls: 0,
            text_sent: false,
            object_at: 0,
            object: json::ObjectScanner::default(),
            searched: 0,
        }
    }

    /// Whether text is still being watched for calls.
    pub fn is_active(&self) -> bool {
        self.mode != Mode::Off
    }

    /// The text held back so far.
    pub fn held(&self) -> &str {
        &self.held
    }

    /// How many calls were recovered so far.
    pub fn recovered(&self) -> usize {
        self.calls
    }

    /// Takes in `piece`; appends to `text` what is surely text and to
    /// `calls` each call that is complete.
    pub fn push(&mut self, piece: &str, text: &mut String, calls: &mut Vec<FoundCall>) {
        if self.mode == Mode::Off {
            text.push_str(piece);
            return;
        }
        self.held.push_str(piece);
        self.advance(text, calls);
        if self.held.len() > MAX_HELD_BYTES {
            let held = std::mem::take(&mut self.held);
            self.emit(&held, text);
            self.mode = Mode::Off;
        }
    }

    /// The reply has ended: appends what is left, as text or as calls.
    pub fn finish(&mut self, text: &mut String, calls: &mut Vec<FoundCall>) {
        let held = std::mem::take(&mut self.held);
        let found = match self.mode {
            // Held from where the call may begin: read as a whole reply is.
            Mode::FirstObject | Mode::JsonCalls | Mode::Mistral => recover(&held, &self.offered),
            // A last block may lack its closing tag.
            Mode::Hermes => held.find(HERMES_OPEN).and_then(|at| {
                let found = call_in(&held[at + HERMES_OPEN.len()..], &self.offered)?;
                Some(Recovered {
                    text: held[..at].to_owned(),
                    calls: vec![found],
                })
            }),
            Mode::Off | Mode::Start | Mode::Text => None,
        };
        self.mode = Mode::Off;
        match found {
            Some(found) => {
                self.calls += found.calls.len();
                calls.extend(found.calls);
                self.emit(found.text.trim_end(), text);
            }
            // Trailing blanks go only where no call took the text's place.
            None if self.calls > 0 && held.trim().is_empty() => {}
            None => self.emit(&held, text),
        }
    }

    fn advance(&mut self, text: &mut String, calls: &mut Vec<FoundCall>) {
        loop {
            match self.mode {
                Mode::Off | Mode::JsonCalls | Mode::Mistral => return,
                Mode::Start => {
                    let start = self.held.trim_start();
                    if start.is_empty() || PYTHON_TAG.starts_with(start) {
                        return;
                    }
                    if start.starts_with('{') || start.starts_with(PYTHON_TAG) {
                        let after_tag = start.strip_prefix(PYTHON_TAG).unwrap_or(start);
                        self.object_at = self.held.len() - after_tag.len();
                        self.object = json::ObjectScanner::default();
                        self.mode = Mode::FirstObject;
                    } else {
                        self.mode = Mode::Text;
                    }
                }
                Mode::FirstObject => {
                    let body = &self.held[self.object_at..];
                    let Some(end) = self.object.scan(body) else {
                        return;
                    };
                    self.mode = if call_in(&body[..end], &self.offered).is_some() {
                        Mode::JsonCalls
                    } else {
                        Mode::Text
                    };
                }
                Mode::Text => {
                    let marker = MARKERS
                        .iter()
                        .filter_map(|m| self.held.find(m).map(|at| (at, *m)))
                        .min_by_key(|(at, _)| *at);
                    match marker {
                        Some((at, marker)) => {
                            // Blanks before a marker go out only if no call
                            // takes its place.
                            self.release(self.held[..at].trim_end().len(), text);
                            self.searched = 0;
                            self.mode = if marker == HERMES_OPEN {
                                Mode::Hermes
                            } else {
                                Mode::Mistral
                            };
                        }
                        None => {
                            // Held: the start of a marker and the blanks
                            // before it (or the trailing blanks alone).
                            let marker_at = self.held.len() - partial_marker_len(&self.held);
                            self.release(self.held[..marker_at].trim_end().len(), text);
                            return;
                        }
                    }
                }
                Mode::Hermes => {
                    let Some(open) = self.held.find(HERMES_OPEN).map(|at| at + HERMES_OPEN.len())
                    else {
                        self.mode = Mode::Text;
                        continue;
                    };
                    // A closing tag cut across pieces starts before what was
                    // searched; the search moves back by at most its length.
                    let from = open.max(self.searched.saturating_sub(HERMES_CLOSE.len()));
                    let from = (from..=self.held.len())
                        .find(|at| self.held.is_char_boundary(*at))
                        .unwrap_or(self.held.len());
                    let Some(close) = self.held[from..].find(HERMES_CLOSE).map(|at| from + at)
                    else {
                        self.searched = self.held.len();
                        return;
                    };
                    let end = close + HERMES_CLOSE.len();
                    match call_in(&self.held[open..close], &self.offered) {
                        Some(found) => {
                            self.calls += 1;
                            calls.push(found);
                            // The blanks before the block stay held: text
                            // after it takes them along.
                            self.held.drain(open - HERMES_OPEN.len()..end);
                        }
                        None => self.release(end, text),
                    }
                    self.mode = Mode::Text;
                }
            }
        }
    }

    /// Passes the first `len` bytes held on as text.
    fn release(&mut self, len: usize, text: &mut String) {
        let released: String = self.held.drain(..len).collect();
        self.emit(&released, text);
    }

    /// Appends `released` to `text`; blanks that would open the text after
    /// a call took the reply's start are left out, as a whole reply's are.
    fn emit(&mut self, released: &str, text: &mut String) {
        let released = if self.text_sent || self.calls == 0 {
            released
        } else {
            released.trim_start()
        };
        self.text_sent |= !released.is_empty();
        text.push_str(released);
    }
}

/// The length of the longest end of `text` that begins a marker.
fn partial_marker_len(text: &str) -> usize {
    MARKERS
        .iter()
        .flat_map(|marker| {
            (1..marker.len())
                .rev()
                .find(|&len| text.ends_with(&marker[..len]))
        })
        .max()
        .unwrap_or(0)
}
