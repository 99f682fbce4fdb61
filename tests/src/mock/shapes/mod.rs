//! vLLM 0.32's JSON shapes, field for field and in vLLM's key order.
//!
//! Every streamed chunk goes through [`ChunkFactory::render`], every
//! completion through [`completion_body`], every error through
//! [`error_body`], so generated and scripted replies cannot drift apart.
//! Which keys appear mirrors vLLM's serialisation: non-streamed bodies are
//! `model_dump()` (every field, `null` included), chunks are
//! `model_dump_json(exclude_unset=True)` (only fields vLLM set, some of
//! them explicitly to `null`).

mod chunk;
mod completion;
mod error;
mod models;
mod python;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

pub use chunk::{ChunkFactory, ChunkKind, Delta, DeltaFunction, DeltaToolCall, fingerprint};
pub use completion::{CompletionStyle, Message, ToolCall, completion_body};
pub use error::{error_body, stream_error_payload};
pub use models::models_body;
pub use python::py_object;

/// Seconds since the Unix epoch, as vLLM's `created` fields.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh 32-hex-digit id, shaped like vLLM's `random_uuid()` but
/// deterministic in order (a process-wide counter), e.g. for
/// `chatcmpl-<hex>` and `chatcmpl-tool-<hex>`.
pub fn next_hex_id() -> String {
    format!("{:032x}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A JSON `null` that is present (vLLM set the field to `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Null;

impl Serialize for Null {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

/// Which field carries reasoning text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningField {
    /// `reasoning`, vLLM since late 2025.
    #[default]
    Reasoning,
    /// `reasoning_content`, older vLLM.
    ReasoningContent,
}

/// Token counts of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated (reasoning, content, tool calls and the stop token).
    pub completion_tokens: u32,
    /// Reasoning tokens among them; `Some` only when the server runs a
    /// reasoning parser (vLLM then adds `completion_tokens_details`).
    pub reasoning_tokens: Option<u32>,
}

#[derive(Serialize)]
pub(crate) struct ReasoningDetails {
    pub(crate) reasoning_tokens: u32,
}

/// Streamed usage: `exclude_none`, so no `null` details.
/// Serialises one of this module's shapes; they contain nothing that can
/// fail to serialise.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"mock_serialisation_error\":\"{e}\"}}"))
}
