//! How large a plugin's answer is, so that an absurd one is refused instead
//! of handed on to the host's caller.
//!
//! The memory cap bounds what a plugin can build, but the host lifts every
//! result into its own memory, where a list of millions of tiny items costs
//! far more than it did in the guest. Each result is measured after the
//! call (strings in bytes, list elements in items) and refused past
//! [`MAX_RESULT_BYTES`] or [`MAX_RESULT_ITEMS`]. No honest reply comes near
//! either: the plugin reads at most 16 MiB of any response.

use wasmtime::component::ResourceAny;

use crate::bindings::{
    Check, Completion, Model, ProviderConfig, ProviderError, StreamEvent, ToolCall,
};

/// The most string bytes one result may carry.
pub const MAX_RESULT_BYTES: usize = 32 * 1024 * 1024;

/// The most list elements one result may carry (models, tool calls,
/// events, checks, headers together).
pub const MAX_RESULT_ITEMS: usize = 100_000;

/// The size of a value that crossed from the plugin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// String bytes.
    pub bytes: usize,
    /// List elements.
    pub items: usize,
}

impl Size {
    fn text(text: &str) -> Self {
        Self {
            bytes: text.len(),
            items: 0,
        }
    }

    fn list<T: Footprint>(items: &[T]) -> Self {
        items.iter().fold(
            Self {
                bytes: 0,
                items: items.len(),
            },
            |total, item| total + item.size(),
        )
    }

    /// Whether it is past either limit.
    pub fn too_large(self) -> bool {
        self.bytes > MAX_RESULT_BYTES || self.items > MAX_RESULT_ITEMS
    }
}

impl std::ops::Add for Size {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            bytes: self.bytes.saturating_add(other.bytes),
            items: self.items.saturating_add(other.items),
        }
    }
}

/// Something whose size can be measured.
pub trait Footprint {
    /// Its size.
    fn size(&self) -> Size;
}

impl Footprint for String {
    fn size(&self) -> Size {
        Size::text(self)
    }
}

impl<T: Footprint> Footprint for Option<T> {
    fn size(&self) -> Size {
        self.as_ref().map(Footprint::size).unwrap_or_default()
    }
}

impl<T: Footprint> Footprint for Vec<T> {
    fn size(&self) -> Size {
        Size::list(self)
    }
}

impl Footprint for ResourceAny {
    fn size(&self) -> Size {
        Size::default()
    }
}

impl Footprint for ToolCall {
    fn size(&self) -> Size {
        self.id.size() + self.name.size() + self.arguments.size()
    }
}

impl Footprint for Completion {
    fn size(&self) -> Size {
        self.model.size() + self.text.size() + self.reasoning.size() + self.tool_calls.size()
    }
}

impl Footprint for Model {
    fn size(&self) -> Size {
        let compat = &self.compat;
        let efforts = compat
            .reasoning_effort_map
            .iter()
            .fold(compat.supported_reasoning_efforts.size(), |total, kv| {
                total + kv.name.size() + kv.value.size()
            });
        let levels = self
            .thinking
            .as_ref()
            .map_or(0, |profile| profile.levels.len());
        self.id.size()
            + self.name.size()
            + self.root.size()
            + self.parent.size()
            + efforts
            + Size {
                bytes: 0,
                items: self.input.len() + compat.reasoning_effort_map.len() + levels,
            }
    }
}

impl Footprint for ProviderConfig {
    fn size(&self) -> Size {
        let headers = self.headers.iter().fold(Size::default(), |total, h| {
            total + h.name.size() + h.value.size()
        });
        self.base_url.size()
            + self.api_key.size()
            + headers
            + Size {
                bytes: 0,
                items: self.headers.len(),
            }
            + self.reason.size()
            + self.models.size()
    }
}

impl Footprint for StreamEvent {
    fn size(&self) -> Size {
        match self {
            Self::Model(text) | Self::TextDelta(text) | Self::ReasoningDelta(text) => text.size(),
            Self::ToolCallStart(start) => start.id.size() + start.name.size(),
            Self::ToolCallDelta(delta) => delta.arguments.size(),
            Self::ToolCallEnd(call) => call.size(),
            Self::Usage(_) => Size::default(),
            Self::Finish(reason) => match reason {
                crate::bindings::FinishReason::Other(text) => text.size(),
                _ => Size::default(),
            },
        }
    }
}

impl Footprint for Check {
    fn size(&self) -> Size {
        self.name.size() + self.detail.size() + self.fix.size() + self.error.size()
    }
}

impl Footprint for ProviderError {
    fn size(&self) -> Size {
        match self {
            Self::Connection(e) => e.authority.size() + e.message.size(),
            Self::ModelNotFound(e) => e.model.size() + e.available.size() + e.message.size(),
            Self::ContextLengthExceeded(e) => e.message.size(),
            Self::Server(e) => e.message.size(),
            Self::InvalidConfig(e) => e.path.size() + e.reason.size(),
            Self::Auth(text)
            | Self::BadRequest(text)
            | Self::Timeout(text)
            | Self::InvalidResponse(text)
            | Self::Denied(text) => text.size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::FinishReason;

    fn completion(text: String, calls: usize) -> Completion {
        Completion {
            model: "m".into(),
            text,
            reasoning: String::new(),
            tool_calls: (0..calls)
                .map(|i| ToolCall {
                    id: i.to_string(),
                    name: "f".into(),
                    arguments: "{}".into(),
                    from_text: false,
                })
                .collect(),
            finish_reason: FinishReason::Stop,
            usage: None,
        }
    }

    #[test]
    fn sizes_add_up_and_limits_hold() {
        let small = completion("hello".into(), 2);
        assert_eq!(
            small.size(),
            Size {
                bytes: 1 + 5 + (1 + 1 + 2) * 2,
                items: 2
            }
        );
        assert!(!small.size().too_large());
        assert!(
            completion("x".repeat(MAX_RESULT_BYTES + 1), 0)
                .size()
                .too_large()
        );
        assert!(
            completion(String::new(), MAX_RESULT_ITEMS + 1)
                .size()
                .too_large()
        );
        assert!(
            ProviderError::BadRequest("e".repeat(MAX_RESULT_BYTES + 1))
                .size()
                .too_large()
        );
    }
}
