//! Frames that have already arrived, handed over as one.
//!
//! The plugin reads its response one `read` crossing at a time. A server
//! that writes one event per TCP segment produces one frame per event, and
//! a plugin that fell behind would pay one crossing for each. Joining every
//! frame that is ready into one (up to [`MAX_BATCH`] bytes) makes a crossing
//! carry all of them; a plugin that keeps up sees no difference.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::Error as HttpError;

/// The most bytes one batch joins: what the plugin asks for in one read.
pub(crate) const MAX_BATCH: usize = 64 * 1024;

/// What a poll returns.
type Polled = Option<Result<Frame<Bytes>, HttpError>>;

/// A body whose ready data frames come out joined.
pub(crate) struct Batched<B> {
    inner: B,
    /// What came right after a batch (its end, an error, trailers): the
    /// next poll returns it.
    held: Option<Polled>,
}

impl<B> Batched<B> {
    pub(crate) fn new(inner: B) -> Self {
        Self { inner, held: None }
    }
}

impl<B> Body for Batched<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Polled> {
        let this = self.get_mut();
        if let Some(held) = this.held.take() {
            return Poll::Ready(held);
        }
        let first = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
            },
            other => return Poll::Ready(other),
        };
        // One frame needs no copy; the second starts a joined buffer.
        let mut joined: Option<BytesMut> = None;
        loop {
            let len = joined.as_ref().map_or(first.len(), BytesMut::len);
            if len >= MAX_BATCH {
                break;
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let buffer = joined.get_or_insert_with(|| {
                            let mut buffer = BytesMut::with_capacity(first.len() + data.len());
                            buffer.extend_from_slice(&first);
                            buffer
                        });
                        buffer.extend_from_slice(&data);
                    }
                    Err(trailers) => {
                        this.held = Some(Some(Ok(trailers)));
                        break;
                    }
                },
                Poll::Ready(end_or_error) => {
                    this.held = Some(end_or_error);
                    break;
                }
                Poll::Pending => break,
            }
        }
        let data = joined.map_or(first, BytesMut::freeze);
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.held.as_ref().is_some_and(Option::is_none)
            || (self.held.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    use http_body_util::BodyExt;

    /// A body that replays a script: frames, `None` for "nothing yet"
    /// (pending once), then an optional error.
    struct Script {
        steps: VecDeque<Option<Bytes>>,
        error: Option<HttpError>,
    }

    impl Script {
        fn new(steps: &[Option<&'static [u8]>], error: Option<HttpError>) -> Self {
            Self {
                steps: steps.iter().map(|s| s.map(Bytes::from_static)).collect(),
                error,
            }
        }
    }

    impl Body for Script {
        type Data = Bytes;
        type Error = HttpError;

        fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Polled> {
            match self.steps.pop_front() {
                Some(Some(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Some(None) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                None => Poll::Ready(self.error.take().map(Err)),
            }
        }
    }

    /// Every poll's outcome: data as text, `end`, or the error's words.
    async fn frames(body: Script) -> Vec<String> {
        let mut body = Batched::new(body);
        let mut seen = Vec::new();
        for _ in 0..100 {
            match body.frame().await {
                Some(Ok(frame)) => seen.push(
                    String::from_utf8_lossy(frame.data_ref().map_or(&[][..], |d| d)).into_owned(),
                ),
                Some(Err(err)) => {
                    seen.push(format!("error: {err}"));
                    break;
                }
                None => {
                    seen.push("end".into());
                    break;
                }
            }
        }
        seen
    }

    #[tokio::test]
    async fn ready_frames_are_joined_until_one_is_not_ready() {
        let script = Script::new(
            &[Some(b"a"), Some(b"b"), Some(b"c"), None, Some(b"d")],
            None,
        );
        assert_eq!(frames(script).await, ["abc", "d", "end"]);
    }

    #[tokio::test]
    async fn a_failure_comes_after_the_frames_before_it() {
        let script = Script::new(
            &[Some(b"a"), Some(b"b")],
            Some(HttpError::ConnectionReadTimeout),
        );
        assert_eq!(
            frames(script).await,
            ["ab", "error: connection read timeout"]
        );
    }

    #[tokio::test]
    async fn batches_stop_at_the_read_size() {
        static BIG: [u8; MAX_BATCH / 2] = [b'x'; MAX_BATCH / 2];
        let script = Script::new(&[Some(&BIG), Some(&BIG), Some(&BIG)], None);
        let lengths: Vec<usize> = frames(script).await.iter().map(String::len).collect();
        assert_eq!(lengths, [MAX_BATCH, MAX_BATCH / 2, 3]);
    }
}
