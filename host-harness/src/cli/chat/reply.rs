//! The reply so far: every event of a stream (or of a whole completion)
//! recorded, and shown through the [`Printer`] as it arrives.

use vllm_harness::{FinishReason, StreamEvent, ToolCall, Usage};

use super::printer::Printer;

/// The reply so far.
#[derive(Debug, Default)]
pub struct Reply {
    pub(super) model: String,
    pub(super) text: String,
    pub(super) reasoning: String,
    pub(super) tool_calls: Vec<ToolCall>,
    pub(super) finish: Option<FinishReason>,
    pub(super) usage: Option<Usage>,
    /// What cut the reply short, if anything did.
    pub(super) error: Option<ReplyError>,
}

/// What cut a reply short: what `--json` says in its `error`.
#[derive(Debug)]
pub struct ReplyError {
    /// `interrupted`, a provider error's WIT case, or a trap's name.
    pub kind: &'static str,
    /// The message stderr shows, secrets scrubbed.
    pub message: String,
    /// The exit code the run ends with.
    pub exit_code: i32,
}

impl Reply {
    pub(super) fn new(requested_model: String) -> Self {
        Self {
            model: requested_model,
            ..Self::default()
        }
    }

    /// Records one event and shows it.
    pub(super) fn apply(&mut self, event: &StreamEvent, out: &mut Printer) -> std::io::Result<()> {
        match event {
            StreamEvent::Model(model) => self.model.clone_from(model),
            StreamEvent::TextDelta(text) => {
                self.text.push_str(text);
                out.text(text)?;
            }
            StreamEvent::ReasoningDelta(text) => {
                self.reasoning.push_str(text);
                out.reasoning(text)?;
            }
            // The end event carries the whole call; starts and deltas only
            // matter to hosts that render calls as they form.
            StreamEvent::ToolCallStart(_) | StreamEvent::ToolCallDelta(_) => {}
            StreamEvent::ToolCallEnd(call) => {
                out.tool_call(call)?;
                self.tool_calls.push(call.clone());
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::Finish(reason) => self.finish = Some(reason.clone()),
        }
        Ok(())
    }

    /// The summary line: finish reason and token counts.
    pub fn summary(&self) -> String {
        let finish = self.finish.as_ref().map_or("no finish reason", finish_name);
        match self.usage {
            Some(u) => {
                let cached = if u.cache_read > 0 {
                    format!(", {} cached", u.cache_read)
                } else {
                    String::new()
                };
                format!(
                    "[{finish}] {} input + {} output = {} tokens{cached}",
                    u.input, u.output, u.total
                )
            }
            None => format!("[{finish}]"),
        }
    }
}

/// `stop`, `length`, `tool_calls`, `abort`, or the server's own word.
pub fn finish_name(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Abort => "abort",
        FinishReason::Other(other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reply_shape() {
        let mut reply = Reply::new("req".into());
        let mut out = Printer::new(false);
        let events = [
            StreamEvent::Model("served".into()),
            StreamEvent::ReasoningDelta("hmm".into()),
            StreamEvent::TextDelta("Hel".into()),
            StreamEvent::TextDelta("lo".into()),
            StreamEvent::ToolCallEnd(ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
                from_text: false,
            }),
            StreamEvent::Usage(Usage {
                input: 3,
                output: 2,
                cache_read: 0,
                total: 5,
                cost: 0.0,
            }),
            StreamEvent::Finish(FinishReason::ToolCalls),
        ];
        for e in &events {
            reply.apply(e, &mut out).expect("apply");
        }
        assert_eq!(
            reply.to_json(),
            r#"{"model":"served","text":"Hello","reasoning":"hmm","toolCalls":[{"id":"c1","name":"f","arguments":"{\"a\":1}","fromText":false}],"finishReason":"tool_calls","usage":{"input":3,"output":2,"cacheRead":0,"total":5},"error":null}"#
        );
        assert_eq!(
            reply.summary(),
            "[tool_calls] 3 input + 2 output = 5 tokens"
        );
        let empty = Reply::new("m".into());
        assert_eq!(
            empty.to_json(),
            r#"{"model":"m","text":"","reasoning":"","toolCalls":[],"finishReason":null,"usage":null,"error":null}"#
        );
        let mut cut = Reply::new("m".into());
        cut.text = "par".into();
        cut.error = Some(ReplyError {
            kind: "invalid-response",
            message: "broke off".into(),
            exit_code: 1,
        });
        assert!(
            cut.to_json().ends_with(
                r#""text":"par","reasoning":"","toolCalls":[],"finishReason":null,"usage":null,"error":{"kind":"invalid-response","message":"broke off","exitCode":1}}"#
            ),
            "{}",
            cut.to_json()
        );
    }
}
