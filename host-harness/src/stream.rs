//! A streamed reply: its own store, read with `next()` until it ends.

use std::fmt;

use wasmtime::component::ResourceAny;

use crate::bindings::StreamEvent;
use crate::call::Call;
use crate::error::CallError;
use crate::harness::Harness;

/// A streamed reply in progress: its own store and instance.
///
/// Dropping it drops the store, which drops the HTTP request and closes the
/// connection.
pub struct PluginStream {
    call: Call,
    handle: ResourceAny,
    finished: bool,
    /// Keeps the engine's epoch ticker running while the stream lives.
    _harness: Harness,
}

impl fmt::Debug for PluginStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginStream")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl PluginStream {
    /// Wraps the `completion-stream` resource `handle` living in `call`.
    pub(crate) fn new(call: Call, handle: ResourceAny, harness: Harness) -> Self {
        Self {
            call,
            handle,
            finished: false,
            _harness: harness,
        }
    }

    /// The events that arrived since the last call, waiting for at least
    /// one; `None` once the stream has ended. After `None` or an error the
    /// plugin is not called again and this returns `None`.
    pub async fn next(&mut self) -> Result<Option<Vec<StreamEvent>>, CallError> {
        if self.finished {
            return Ok(None);
        }
        let call = &mut self.call;
        call.store.data_mut().clock.start_call();
        let result = call.plugin.next(&mut call.store, self.handle).await;
        let outcome = call.finish(result);
        call.take_plugin_warnings().await;
        if !matches!(outcome, Ok(Some(_))) {
            self.finished = true;
        }
        outcome
    }

    /// Reads the stream to its end and returns every event, in order.
    pub async fn collect(mut self) -> Result<Vec<StreamEvent>, CallError> {
        let mut events = Vec::new();
        while let Some(batch) = self.next().await? {
            events.extend(batch);
        }
        Ok(events)
    }
}
