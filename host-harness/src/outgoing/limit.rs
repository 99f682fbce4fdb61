//! A response body that fails once it has brought more than its limit.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::Error as HttpError;

/// A response body that fails once more than `limit` bytes have come.
pub(crate) struct LimitedBody<B> {
    inner: B,
    seen: u64,
    limit: u64,
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64) -> Self {
        Self {
            inner,
            seen: 0,
            limit,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.seen = self.seen.saturating_add(data.len() as u64);
            if self.seen > self.limit {
                return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(self.limit)))));
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use wasmtime_wasi_http::WasiBody;

    /// A body that yields the given chunks, one frame each.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = HttpError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    async fn drain(body: &mut LimitedBody<WasiBody>) -> (usize, Option<HttpError>) {
        let mut total = 0;
        loop {
            match body.frame().await {
                Some(Ok(frame)) => total += frame.data_ref().map_or(0, Bytes::len),
                Some(Err(err)) => return (total, Some(err)),
                None => return (total, None),
            }
        }
    }

    fn chunks(n: usize, size: usize) -> WasiBody {
        Chunks((0..n).map(|_| Bytes::from(vec![0u8; size])).collect()).boxed_unsync()
    }

    #[tokio::test]
    async fn bodies_past_the_limit_fail() {
        let mut limited = LimitedBody::new(chunks(4, 400), 1000);
        let (total, error) = drain(&mut limited).await;
        assert_eq!(total, 800);
        assert!(matches!(
            error,
            Some(HttpError::HttpResponseBodySize(Some(1000)))
        ));
    }

    #[tokio::test]
    async fn bodies_up_to_the_limit_pass() {
        let mut limited = LimitedBody::new(chunks(5, 200), 1000);
        let (total, error) = drain(&mut limited).await;
        assert_eq!(total, 1000);
        assert!(error.is_none());
    }
}
