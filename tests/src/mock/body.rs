//! The response body the mock writes: prepared frames, optionally paced,
//! optionally left open, and a count of bodies the client abandoned.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use super::server::Shared;

/// A body of prepared frames.
pub(crate) struct FramedBody {
    frames: VecDeque<Bytes>,
    /// Pause before each frame.
    interval: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// After the last frame, stay open instead of ending.
    stall: bool,
    /// Report the exact length (so hyper sends `content-length`); streams
    /// are chunked, like uvicorn's.
    known_length: bool,
    ended: bool,
    /// Counts a disconnect when the body is dropped before its end.
    watch: Option<Arc<Shared>>,
}

impl FramedBody {
    /// A fixed body sent with `content-length`.
    pub(crate) fn full(bytes: Vec<u8>) -> Self {
        Self {
            frames: VecDeque::from([Bytes::from(bytes)]),
            interval: None,
            sleep: None,
            stall: false,
            known_length: true,
            ended: false,
            watch: None,
        }
    }

    /// A chunked stream of `frames`, watched for early disconnects.
    pub(crate) fn stream(frames: Vec<Vec<u8>>, watch: Arc<Shared>) -> Self {
        Self {
            frames: frames.into_iter().map(Bytes::from).collect(),
            interval: None,
            sleep: None,
            stall: false,
            known_length: false,
            ended: false,
            watch: Some(watch),
        }
    }

    /// Pace the frames `interval` apart.
    pub(crate) fn paced(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self.known_length = false;
        self
    }

    /// Never end after the last frame.
    pub(crate) fn stalled(mut self) -> Self {
        self.stall = true;
        self.known_length = false;
        self
    }
}

/// Cuts `bytes` into frames of `size` bytes (`None` or 0: one frame).
pub(crate) fn split_frames(bytes: Vec<u8>, size: Option<usize>) -> Vec<Vec<u8>> {
    match size {
        Some(n) if n > 0 => bytes.chunks(n).map(<[u8]>::to_vec).collect(),
        _ => vec![bytes],
    }
}

impl Body for FramedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.frames.is_empty() {
            if this.stall {
                // Never woken: hyper drops the body when the client leaves.
                return Poll::Pending;
            }
            this.ended = true;
            return Poll::Ready(None);
        }
        if let Some(interval) = this.interval {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        match this.frames.pop_front() {
            Some(frame) => Poll::Ready(Some(Ok(Frame::data(frame)))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && !self.stall
    }

    fn size_hint(&self) -> SizeHint {
        if self.known_length {
            let len: usize = self.frames.iter().map(Bytes::len).sum();
            SizeHint::with_exact(u64::try_from(len).unwrap_or(u64::MAX))
        } else {
            SizeHint::default()
        }
    }
}

impl Drop for FramedBody {
    fn drop(&mut self) {
        let finished = self.ended || (self.frames.is_empty() && !self.stall);
        if let (false, Some(shared)) = (finished, &self.watch) {
            shared.note_disconnect();
        }
    }
}
