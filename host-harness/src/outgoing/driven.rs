//! A response body that drives its own connection.
//!
//! hyper's HTTP/1.1 client splits a connection in two: the `Connection`
//! future reads the socket and decodes frames, and the body receives them
//! over a channel. Here the body owns the connection and polls it itself,
//! so reading the body is all it takes: no other task, no hand-off.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::Connection;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

type Conn = Connection<TokioIo<TcpStream>, WasiBody>;

/// A response body with the connection it comes over.
pub(crate) struct DrivenBody {
    incoming: Incoming,
    /// `None` once the connection has ended.
    conn: Option<Pin<Box<Conn>>>,
    /// Why the connection ended, if it failed: what the body says if the
    /// channel did not.
    conn_error: Option<hyper::Error>,
    /// The longest wait for the next frame.
    between_frames: Duration,
    /// The running wait for the next frame, armed when a poll finds nothing.
    idle: Option<Pin<Box<Sleep>>>,
    /// Whether a frame came since the wait was armed: the wait restarts.
    progressed: bool,
}

impl DrivenBody {
    pub(crate) fn new(
        incoming: Incoming,
        conn: Option<Pin<Box<Conn>>>,
        between_frames: Duration,
    ) -> Self {
        Self {
            incoming,
            conn,
            conn_error: None,
            between_frames,
            idle: None,
            progressed: true,
        }
    }

    /// Lets the connection read and decode whatever the socket holds.
    fn drive(&mut self, cx: &mut Context<'_>) {
        if let Some(conn) = self.conn.as_mut()
            && let Poll::Ready(ended) = conn.as_mut().poll(cx)
        {
            self.conn = None;
            self.conn_error = ended.err();
        }
    }

    /// Whether the wait for a frame has run out. The wait starts when a
    /// poll first finds nothing after a frame, so that a steady stream costs
    /// no timer work per frame.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.progressed || self.idle.is_none() {
            let deadline = Instant::now() + self.between_frames;
            match &mut self.idle {
                Some(idle) => idle.as_mut().reset(deadline),
                None => self.idle = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.progressed = false;
        }
        self.idle
            .as_mut()
            .is_some_and(|idle| idle.as_mut().poll(cx).is_ready())
    }
}

impl Body for DrivenBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        // The channel first: asking for a frame is what lets the connection
        // decode the next one. Then the connection, then the channel again.
        for _ in 0..2 {
            match Pin::new(&mut this.incoming).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    this.progressed = true;
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(err))) => {
                    return Poll::Ready(Some(Err(if err.is_timeout() {
                        HttpError::HttpResponseTimeout
                    } else {
                        HttpError::Hyper(err)
                    })));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
            if this.conn.is_none() {
                break;
            }
            this.drive(cx);
        }
        if this.conn.is_none()
            && let Some(err) = this.conn_error.take()
        {
            // The connection failed and the channel has nothing more to say.
            return Poll::Ready(Some(Err(HttpError::Hyper(err))));
        }
        if this.idle_expired(cx) {
            return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
