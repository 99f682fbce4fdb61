//! Token usage as vLLM reports it, and what it costs by the model's table.

use crate::json::{self, Reader};
use crate::wit::{FinishReason, ModelCost, Usage};

/// vLLM's `usage` object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageJson {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: Option<u32>,
    /// `prompt_tokens_details.cached_tokens`.
    cached_tokens: Option<u32>,
}

impl UsageJson {
    /// A usage object with these fields, for tests that build one.
    #[cfg(test)]
    pub(crate) fn from_fields(
        prompt_tokens: u32,
        completion_tokens: u32,
        total_tokens: Option<u32>,
        cached_tokens: Option<u32>,
    ) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens,
            cached_tokens,
        }
    }

    /// Reads a `usage` object, or `null` (no usage).
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Option<Self>, json::Error> {
        if reader.null()? {
            return Ok(None);
        }
        let mut usage = Self::default();
        json::fields!(reader, "a usage object", {
            "prompt_tokens" => usage.prompt_tokens = reader.u32()?,
            "completion_tokens" => usage.completion_tokens = reader.u32()?,
            "total_tokens" => usage.total_tokens = reader.opt_u32()?,
            "prompt_tokens_details" => {
                if !reader.null()? {
                    json::fields!(reader, "an object", {
                        "cached_tokens" => usage.cached_tokens = reader.opt_u32()?,
                    });
                }
            },
        });
        Ok(Some(usage))
    }

    /// Our usage record, with the cost from `cost` (prices per million tokens).
    pub fn to_usage(&self, cost: &ModelCost) -> Usage {
        let cache_read = self.cached_tokens.unwrap_or(0).min(self.prompt_tokens);
        let fresh_input = f64::from(self.prompt_tokens - cache_read);
        let cost = (fresh_input * cost.input
            + f64::from(self.completion_tokens) * cost.output
            + f64::from(cache_read) * cost.cache_read)
            / 1_000_000.0;
        Usage {
            input: self.prompt_tokens,
            output: self.completion_tokens,
            cache_read,
            total: self
                .total_tokens
                .unwrap_or(self.prompt_tokens.saturating_add(self.completion_tokens)),
            cost,
        }
    }
}

/// No prices: what discovered models cost.
pub const ZERO_COST: ModelCost = ModelCost {
    input: 0.0,
    output: 0.0,
    cache_read: 0.0,
    cache_write: 0.0,
};

/// vLLM's `finish_reason` string as a variant.
pub fn finish_reason(text: &str) -> FinishReason {
    match text {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        "abort" => FinishReason::Abort,
        other => FinishReason::Other(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> UsageJson {
        json::read(text, UsageJson::read)
            .expect("parses")
            .expect("not null")
    }

    #[test]
    fn cost_counts_cached_tokens_at_their_price() {
        let usage = parse(
            r#"{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":400}}"#,
        );
        let prices = ModelCost {
            input: 2.0,
            output: 10.0,
            cache_read: 0.5,
            cache_write: 0.0,
        };
        let usage = usage.to_usage(&prices);
        assert_eq!(
            (usage.input, usage.output, usage.cache_read, usage.total),
            (1000, 500, 400, 1500)
        );
        let expected = (600.0 * 2.0 + 500.0 * 10.0 + 400.0 * 0.5) / 1e6;
        assert!((usage.cost - expected).abs() < 1e-12);
    }

    #[test]
    fn missing_details_and_total() {
        let usage =
            parse(r#"{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":null}"#);
        let usage = usage.to_usage(&ZERO_COST);
        assert_eq!((usage.cache_read, usage.total, usage.cost), (0, 7, 0.0));
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("tool_calls"), FinishReason::ToolCalls);
        assert_eq!(finish_reason("weird"), FinishReason::Other("weird".into()));
    }
}
