//! A streamed reply being read: events as they arrive, within the idle
//! and total limits, with the text so far kept in any error.

use crate::deadline::{self, Deadline, Millis};
use crate::error::{RequestContext, redact};
use crate::quote::quoted;
use crate::sse::{SseDecoder, SseEvent};
use crate::stream::StreamAssembler;
use crate::transport::{ReadResult, ResponseBody, Wait, total_timeout_message};
use crate::wit::{ProviderError, StreamEvent};

/// The most text an "incomplete stream" error carries back.
const MAX_PARTIAL_TEXT_IN_ERROR: usize = 64 * 1024;

/// The most reads one `next_events` makes once it has events to return:
/// a server that floods bytes still lets the host see them in batches.
const MAX_READS_PER_BATCH: usize = 256;

/// A streamed reply being read.
#[derive(Debug)]
pub struct ActiveStream<B> {
    /// `None` once the reply is complete or failed: the connection is closed.
    pub(super) body: Option<B>,
    pub(super) decoder: SseDecoder,
    pub(super) assembler: StreamAssembler,
    pub(super) authority: String,
    pub(super) url: String,
    pub(super) model: String,
    pub(super) key: Option<String>,
    /// A failure held back while the events before it are delivered.
    pub(super) failed: Option<ProviderError>,
    /// Whether the reply's warnings were taken.
    pub(super) warned: bool,
    /// When the whole reply must be over.
    pub(super) total: Deadline,
    /// `timeoutSeconds` in milliseconds: the longest wait for an event.
    pub(super) timeout_ms: u64,
    /// The later of the last SSE event (initially: the response head) and
    /// the start of the current `next_events`: the time the host spends
    /// between calls is not the server's silence.
    pub(super) idle_since: Millis,
}

impl<B: ResponseBody> ActiveStream<B> {
    /// Every event that has arrived, waiting for at least one; `None` once
    /// the reply has ended.
    ///
    /// Events parsed before a failure in the same read are returned first;
    /// the failure comes with the following call, so no text is lost.
    pub fn next_events(&mut self) -> Result<Option<Vec<StreamEvent>>, ProviderError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let mut events = Vec::new();
        match self.read_into(&mut events) {
            Ok(()) => Ok((!events.is_empty()).then_some(events)),
            Err(error) => {
                self.body = None;
                let error = redact(error, self.key.as_deref());
                if events.is_empty() {
                    Err(error)
                } else {
                    self.failed = Some(error);
                    Ok(Some(events))
                }
            }
        }
    }

    /// What the user should know about the reply, once it has ended; each
    /// only once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        if !self.assembler.is_finished() || self.warned {
            return Vec::new();
        }
        self.warned = true;
        crate::unparsed_calls::warning(self.assembler.recovered_calls())
            .into_iter()
            .collect()
    }

    fn read_into(&mut self, events: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if let Some(body) = self.body.as_ref() {
            self.idle_since = self.idle_since.max(body.now());
        }
        let ctx = RequestContext {
            authority: &self.authority,
            url: &self.url,
            model: Some(&self.model),
            key_sent: self.key.is_some(),
        };
        let mut reads = 0;
        while self.body.is_some() {
            let wait = if events.is_empty() {
                // Wait for an event, but no longer than the idle limit or
                // the total deadline allow.
                Wait::Until(self.idle_deadline().min(self.total.at))
            } else if reads < MAX_READS_PER_BATCH {
                Wait::No
            } else {
                break;
            };
            reads += 1;
            let Some(body) = self.body.as_mut() else {
                break;
            };
            let result = match body.read(wait) {
                // The host's own limit between bytes: the same silence,
                // said with what had arrived.
                Err(ProviderError::Timeout(_)) => return Err(self.stalled()),
                // The reply broke off: said with what had arrived.
                Err(ProviderError::InvalidResponse(message)) => {
                    return Err(ProviderError::InvalidResponse(format!(
                        "{message}; {}",
                        self.text_so_far()
                    )));
                }
                other => other?,
            };
            let now = body.now();
            match result {
                ReadResult::Data(bytes) => {
                    // Lines decoded before a bad one still count: the
                    // decoder hands them on, then fails.
                    let mut arrived = false;
                    let fed = self.decoder.feed_with(
                        &bytes,
                        &mut dispatch(&mut self.assembler, &ctx, events, &mut arrived),
                    );
                    if arrived {
                        self.idle_since = now;
                    }
                    fed?;
                }
                ReadResult::Pending if events.is_empty() => return Err(self.timed_out(now)),
                ReadResult::Pending => break,
                ReadResult::End => {
                    let mut arrived = false;
                    self.decoder.finish_with(&mut dispatch(
                        &mut self.assembler,
                        &ctx,
                        events,
                        &mut arrived,
                    ))?;
                    if !self.assembler.is_finished() {
                        if self.assembler.saw_finish_reason() {
                            // Some proxies drop `[DONE]`; the finish reason
                            // already said the reply was whole.
                            self.assembler.on_done(events)?;
                        } else {
                            return Err(self.incomplete());
                        }
                    }
                }
            }
            if self.assembler.is_finished() {
                self.body = None;
            } else if self.total.passed(now) || (events.is_empty() && now >= self.idle_deadline()) {
                // Bytes keep coming (comments, a line dribbled byte by
                // byte) but not soon enough as events: the clock still runs.
                return Err(self.timed_out(now));
            }
        }
        Ok(())
    }

    fn idle_deadline(&self) -> Millis {
        self.idle_since.saturating_add(self.timeout_ms)
    }

    /// The timeout that ended the wait at `now`: the total deadline, else
    /// the idle limit.
    fn timed_out(&self, now: Millis) -> ProviderError {
        if self.total.passed(now) {
            ProviderError::Timeout(format!(
                "{}; {}",
                total_timeout_message(&self.url, self.total),
                self.text_so_far()
            ))
        } else {
            self.stalled()
        }
    }

    /// No event for `timeoutSeconds`.
    fn stalled(&self) -> ProviderError {
        ProviderError::Timeout(format!(
            "the stream from {} stalled mid-reply: no event for {} (timeoutSeconds); the server \
             is stuck or overloaded, or a proxy holds the reply back; raise timeoutSeconds if \
             the model is just slow; {}",
            self.url,
            deadline::seconds(self.timeout_ms),
            self.text_so_far()
        ))
    }

    /// `N characters of text had arrived: "..."` (at most
    /// [`MAX_PARTIAL_TEXT_IN_ERROR`] of them quoted).
    fn text_so_far(&self) -> String {
        let text = self.assembler.text_so_far();
        let cut = text
            .char_indices()
            .nth(MAX_PARTIAL_TEXT_IN_ERROR)
            .map_or(text.len(), |(at, _)| at);
        format!(
            "{} characters of text had arrived: {}",
            text.chars().count(),
            quoted(&text[..cut])
        )
    }

    fn incomplete(&self) -> ProviderError {
        ProviderError::InvalidResponse(format!(
            "the stream from {} ended before it was complete (no finish reason, no [DONE]): the \
             server or a proxy closed the connection; {}",
            self.url,
            self.text_so_far()
        ))
    }
}

/// Hands the decoder's events to the assembler, noting that one arrived.
fn dispatch<'e>(
    assembler: &'e mut StreamAssembler,
    ctx: &'e RequestContext<'e>,
    events: &'e mut Vec<StreamEvent>,
    arrived: &'e mut bool,
) -> impl FnMut(SseEvent<'_>) -> Result<(), ProviderError> + 'e {
    move |event| {
        *arrived = true;
        match event {
            SseEvent::Data(payload) => assembler.on_data(payload, ctx, events),
            SseEvent::Done => assembler.on_done(events),
        }
    }
}
