//! The object `chat --json` prints: its fields, in this order, are part of
//! the CLI contract.

use serde::Serialize;

use super::reply::{Reply, finish_name};

impl Reply {
    /// The `--json` object's text.
    pub fn to_json(&self) -> String {
        let json = ReplyJson {
            model: &self.model,
            text: &self.text,
            reasoning: &self.reasoning,
            tool_calls: self
                .tool_calls
                .iter()
                .map(|c| ToolCallJson {
                    id: &c.id,
                    name: &c.name,
                    arguments: &c.arguments,
                    from_text: c.from_text,
                })
                .collect(),
            finish_reason: self.finish.as_ref().map(finish_name),
            usage: self.usage.map(|u| UsageJson {
                input: u.input,
                output: u.output,
                cache_read: u.cache_read,
                total: u.total,
            }),
            error: self.error.as_ref().map(|e| ErrorJson {
                kind: e.kind,
                message: &e.message,
                exit_code: e.exit_code,
            }),
        };
        serde_json::to_string(&json).unwrap_or_default()
    }
}

/// `chat --json`, fields in this order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplyJson<'a> {
    model: &'a str,
    text: &'a str,
    reasoning: &'a str,
    tool_calls: Vec<ToolCallJson<'a>>,
    finish_reason: Option<&'a str>,
    usage: Option<UsageJson>,
    /// Why the reply is incomplete (null when it is whole).
    error: Option<ErrorJson<'a>>,
}

/// What ended a reply early, as `error` says it on stderr.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorJson<'a> {
    kind: &'a str,
    message: &'a str,
    exit_code: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolCallJson<'a> {
    id: &'a str,
    name: &'a str,
    arguments: &'a str,
    /// The server passed the call on as text; the plugin recovered it.
    from_text: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageJson {
    input: u32,
    output: u32,
    cache_read: u32,
    total: u32,
}
