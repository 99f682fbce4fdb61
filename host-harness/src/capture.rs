//! The plugin's stdout and stderr: kept, bounded, for error reports.
//!
//! A plugin that panics writes the panic message to stderr before it traps;
//! that line is the most useful part of a trap report, so it is kept. Only
//! the last [`CAPTURE_LIMIT`] bytes are, so a chatty plugin cannot grow host
//! memory, and writing never fails (a full pipe would trap the plugin).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How many trailing bytes of plugin output are kept.
pub const CAPTURE_LIMIT: usize = 16 * 1024;

/// A shared, bounded buffer of the most recent plugin output.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputTail {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl OutputTail {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic while holding this lock cannot leave the Vec inconsistent.
        self.buf
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, bytes: &[u8]) {
        let mut buf = self.lock();
        buf.extend_from_slice(bytes);
        // Trim in bulk, not per write, so appending stays amortised O(1).
        if buf.len() > 2 * CAPTURE_LIMIT {
            let excess = buf.len() - CAPTURE_LIMIT;
            buf.drain(..excess);
        }
    }

    /// The kept output as text, trimmed, or none when the plugin wrote nothing.
    pub(crate) fn text(&self) -> Option<String> {
        let buf = self.lock();
        let start = buf.len().saturating_sub(CAPTURE_LIMIT);
        let text = String::from_utf8_lossy(&buf[start..]).trim().to_owned();
        (!text.is_empty()).then_some(text)
    }
}

impl IsTerminal for OutputTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for OutputTail {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(CAPTURE_LIMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for OutputTail {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for OutputTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail() {
        let tail = OutputTail::default();
        assert_eq!(tail.text(), None);
        tail.append(b"first line\n");
        assert_eq!(tail.text().as_deref(), Some("first line"));
        tail.append(&vec![b'x'; 3 * CAPTURE_LIMIT]);
        tail.append(b"\npanicked at the end\n");
        let text = tail.text().expect("text");
        assert!(text.len() <= CAPTURE_LIMIT);
        assert!(text.ends_with("panicked at the end"));
        assert!(!text.contains("first line"));
    }
}
