//! Streamed chunks to typed events.
//!
//! What vLLM streams, and what this undoes:
//! - reasoning in `delta.reasoning`, or `delta.reasoning_content` on older
//!   servers, or as `<think>` tags inside `delta.content` with no parser;
//! - tool calls by `index`: `id` and name on the first delta, then argument
//!   fragments; a final chunk may re-send the whole arguments (vllm#42167);
//!   `tool_calls: []` means none;
//! - usage in a last chunk with `choices: []`, then `[DONE]`;
//! - a failure as `data: {"error": ...}` with HTTP status 200.

use crate::error::{RequestContext, from_stream_error, parse_error_body};
use crate::json;
use crate::think::{Piece, ThinkSplitter};
use crate::unparsed_calls::{self, FoundCall, Offered};
use crate::usage::finish_reason;
use crate::wit::{
    FinishReason, ModelCost, ProviderError, StreamEvent, ToolCall, ToolCallDelta, ToolCallStart,
};
use std::borrow::Cow;

mod chunk;

pub(crate) use chunk::read_arguments;
use chunk::{Chunk, Delta, ToolCallChunk};

/// The largest arguments of one tool call accepted.
pub const MAX_TOOL_ARGUMENTS_BYTES: usize = 256 * 1024;

#[derive(Debug)]
struct PendingCall {
    index: u32,
    id: Option<String>,
    name: Option<String>,
    arguments: String,
    started: bool,
}

/// Turns chunk payloads into events; one per streamed reply.
#[derive(Debug)]
pub struct StreamAssembler {
    cost: ModelCost,
    model_sent: bool,
    /// Once the server has sent a reasoning field, content is never split.
    server_parses_reasoning: bool,
    splitter: ThinkSplitter,
    /// The calls under way, in order of index.
    calls: Vec<PendingCall>,
    /// The index of the call that started last: a fragment without an
    /// index continues it.
    newest_call: Option<u32>,
    finish: Option<FinishReason>,
    text: String,
    finished: bool,
    /// Calls the model wrote as text, recovered as they complete.
    unparsed: unparsed_calls::Streaming,
    /// The index the next recovered call gets: after every server call's.
    next_index: u32,
    /// The reply's id, for the ids of recovered calls.
    reply_id: Option<String>,
}

impl StreamAssembler {
    /// An assembler that prices usage with `cost`.
    pub fn new(cost: ModelCost) -> Self {
        Self {
            cost,
            model_sent: false,
            server_parses_reasoning: false,
            splitter: ThinkSplitter::new(),
            calls: Vec::new(),
            newest_call: None,
            finish: None,
            text: String::new(),
            finished: false,
            unparsed: unparsed_calls::Streaming::new(Offered::default()),
            next_index: 0,
            reply_id: None,
        }
    }

    /// The same, recovering calls to `offered` tools that the model wrote
    /// as text (see [`unparsed_calls`]).
    pub fn offering(mut self, offered: Offered) -> Self {
        self.unparsed = unparsed_calls::Streaming::new(offered);
        self
    }

    /// How many calls were recovered from the reply's text.
    pub fn recovered_calls(&self) -> usize {
        self.unparsed.recovered()
    }

    /// The visible text received so far (kept for errors that cut a reply),
    /// with any text held back as a possible call.
    pub fn text_so_far(&self) -> Cow<'_, str> {
        match self.unparsed.held() {
            "" => Cow::Borrowed(&self.text),
            held => Cow::Owned(format!("{}{held}", self.text)),
        }
    }

    /// Whether the server said why the reply ended.
    pub fn saw_finish_reason(&self) -> bool {
        self.finish.is_some()
    }

    /// Whether the final `finish` event has been produced.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// One `data:` payload.
    pub fn on_data(
        &mut self,
        payload: &str,
        ctx: &RequestContext<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        if self.finished {
            return Ok(()); // anything after the end is not part of the reply
        }
        // An empty `data:` line carries nothing; SSE readers skip it.
        if payload.trim().is_empty() {
            return Ok(());
        }
        let mut chunk = Chunk::default();
        json::read(payload, |reader| chunk.read(reader)).map_err(|e| {
            ProviderError::InvalidResponse(format!(
                "a stream event is not valid JSON ({e}): {}",
                crate::quote::truncated(payload, 120)
            ))
        })?;
        if chunk.error || chunk.object.as_deref() == Some("error") {
            let value = json::value(payload).unwrap_or_default();
            let body = parse_error_body(&value).unwrap_or_default();
            return Err(from_stream_error(&body, ctx));
        }
        if self.reply_id.is_none() {
            self.reply_id = chunk.id.map(Cow::into_owned);
        }
        if !self.model_sent
            && let Some(model) = chunk.model
        {
            out.push(StreamEvent::Model(model.into_owned()));
            self.model_sent = true;
        }
        for choice in chunk.choices.iter_mut().filter(|c| c.index == 0) {
            self.on_delta(&mut choice.delta, out)?;
            if let Some(reason) = &choice.finish_reason {
                self.close_calls(out)?;
                self.finish = Some(finish_reason(reason));
            }
        }
        if let Some(usage) = chunk.usage {
            out.push(StreamEvent::Usage(usage.to_usage(&self.cost)));
            // The usage chunk (`choices: []`) is the last thing vLLM sends
            // after the finish reason when `include_usage` is asked for: the
            // reply is whole, whether or not `[DONE]` follows.
            if chunk.choices.is_empty() && self.finish.is_some() {
                self.on_done(out)?;
            }
        }
        Ok(())
    }

    fn on_delta(
        &mut self,
        delta: &mut Delta<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        if let Some(reasoning) = delta.reasoning.take().or(delta.reasoning_content.take()) {
            self.server_parses_reasoning = true;
            if !reasoning.is_empty() {
                out.push(StreamEvent::ReasoningDelta(reasoning.into_owned()));
            }
        }
        if let Some(content) = delta.content.take().filter(|c| !c.is_empty()) {
            self.on_content(content, out);
        }
        for call in delta.tool_calls.iter_mut() {
            self.on_tool_call(call, out)?;
        }
        Ok(())
    }

    fn on_content(&mut self, content: Cow<'_, str>, out: &mut Vec<StreamEvent>) {
        if self.server_parses_reasoning || self.splitter.passes_through(&content) {
            // The whole content is one piece: its string is the event's.
            if !self.server_parses_reasoning && self.splitter.inside() {
                out.push(StreamEvent::ReasoningDelta(content.into_owned()));
            } else {
                self.visible(content, out);
            }
            return;
        }
        let mut pieces = Vec::new();
        self.splitter.push(&content, &mut pieces);
        self.emit_pieces(pieces, out);
    }

    fn emit_pieces(&mut self, pieces: Vec<Piece>, out: &mut Vec<StreamEvent>) {
        for piece in pieces {
            match piece {
                Piece::Text(text) => self.visible(Cow::Owned(text), out),
                Piece::Reasoning(text) => out.push(StreamEvent::ReasoningDelta(text)),
            }
        }
    }

    /// Visible text: passed on, but for what may be a call written as text.
    fn visible(&mut self, content: Cow<'_, str>, out: &mut Vec<StreamEvent>) {
        if !self.unparsed.is_active() {
            self.text.push_str(&content);
            out.push(StreamEvent::TextDelta(content.into_owned()));
            return;
        }
        let mut text = String::new();
        let mut calls = Vec::new();
        self.unparsed.push(&content, &mut text, &mut calls);
        self.emit_recovered(text, calls, out);
    }

    fn emit_recovered(&mut self, text: String, calls: Vec<FoundCall>, out: &mut Vec<StreamEvent>) {
        if !text.is_empty() {
            self.text.push_str(&text);
            out.push(StreamEvent::TextDelta(text));
        }
        for call in calls {
            let index = self.next_index;
            self.next_index += 1;
            let id = unparsed_calls::call_id(self.reply_id.as_deref(), index as usize);
            out.push(StreamEvent::ToolCallStart(ToolCallStart {
                index,
                id: id.clone(),
                name: call.name.clone(),
            }));
            out.push(StreamEvent::ToolCallDelta(ToolCallDelta {
                index,
                arguments: call.arguments.clone(),
            }));
            out.push(StreamEvent::ToolCallEnd(ToolCall {
                id,
                name: call.name,
                arguments: call.arguments,
                from_text: true,
            }));
        }
    }

    fn on_tool_call(
        &mut self,
        chunk: &mut ToolCallChunk<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let index = chunk.index.or(self.newest_call).unwrap_or(0);
        self.next_index = self.next_index.max(index.saturating_add(1));
        // Kept in order of index: found by a binary search, and ended in
        // order without a sort.
        let position = match self.calls.binary_search_by_key(&index, |c| c.index) {
            Ok(position) => position,
            Err(position) => {
                self.calls.insert(
                    position,
                    PendingCall {
                        index,
                        id: None,
                        name: None,
                        arguments: String::new(),
                        started: false,
                    },
                );
                self.newest_call = Some(index);
                position
            }
        };
        let call = &mut self.calls[position];
        if call.id.is_none() {
            call.id = chunk
                .id
                .take()
                .filter(|id| !id.is_empty())
                .map(Cow::into_owned);
        }
        if call.name.is_none() {
            call.name = chunk
                .name
                .take()
                .filter(|n| !n.is_empty())
                .map(Cow::into_owned);
        }
        let fragment = new_part_of(&call.arguments, std::mem::take(&mut chunk.arguments));
        if call.arguments.len() + fragment.len() > MAX_TOOL_ARGUMENTS_BYTES {
            return Err(ProviderError::InvalidResponse(format!(
                "the arguments of tool call {index} exceed {MAX_TOOL_ARGUMENTS_BYTES} bytes (the limit)"
            )));
        }
        if !call.started
            && let Some(name) = &call.name
        {
            call.started = true;
            out.push(StreamEvent::ToolCallStart(ToolCallStart {
                index,
                id: call.id.clone().unwrap_or_else(|| format!("call_{index}")),
                name: name.clone(),
            }));
            // Fragments that came before the name are sent now.
            if !call.arguments.is_empty() {
                out.push(StreamEvent::ToolCallDelta(ToolCallDelta {
                    index,
                    arguments: call.arguments.clone(),
                }));
            }
        }
        if !fragment.is_empty() {
            call.arguments.push_str(&fragment);
            if call.started {
                out.push(StreamEvent::ToolCallDelta(ToolCallDelta {
                    index,
                    arguments: fragment.into_owned(),
                }));
            }
        }
        Ok(())
    }

    fn close_calls(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        self.newest_call = None;
        for call in self.calls.drain(..) {
            let Some(name) = call.name else {
                return Err(ProviderError::InvalidResponse(format!(
                    "tool call {} never named its function",
                    call.index
                )));
            };
            out.push(StreamEvent::ToolCallEnd(ToolCall {
                id: call.id.unwrap_or_else(|| format!("call_{}", call.index)),
                name,
                arguments: json::repaired_arguments(call.arguments),
                from_text: false,
            }));
        }
        Ok(())
    }

    /// `data: [DONE]` arrived, or the stream ended after a finish reason.
    pub fn on_done(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if self.finished {
            return Ok(());
        }
        let mut pieces = Vec::new();
        self.splitter.finish(&mut pieces);
        self.emit_pieces(pieces, out);
        self.close_calls(out)?;
        let (mut text, mut calls) = (String::new(), Vec::new());
        self.unparsed.finish(&mut text, &mut calls);
        self.emit_recovered(text, calls, out);
        self.finished = true;
        let finish = self.finish.take().unwrap_or(FinishReason::Stop);
        out.push(StreamEvent::Finish(if self.unparsed.recovered() > 0 {
            unparsed_calls::finish_after_recovery(finish)
        } else {
            finish
        }));
        Ok(())
    }
}

/// What part of a fragment is new. vLLM may end a tool call by re-sending the
/// whole arguments string (vllm#42167) instead of what remains; a fragment
/// that starts with everything received so far and is complete JSON on its
/// own is such a re-send, and only its tail is new.
fn new_part_of<'f>(received: &str, fragment: Cow<'f, str>) -> Cow<'f, str> {
    if !received.is_empty()
        && fragment.len() >= received.len()
        && fragment.starts_with(received)
        && json::is_valid(&fragment)
    {
        return match fragment {
            Cow::Borrowed(text) => Cow::Borrowed(&text[received.len()..]),
            Cow::Owned(mut text) => Cow::Owned(text.split_off(received.len())),
        };
    }
    fragment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::ZERO_COST;
    use serde_json::json;

    const CTX: RequestContext<'static> = RequestContext {
        authority: "127.0.0.1:8000",
        url: "http://127.0.0.1:8000/v1/chat/completions",
        model: Some("tiny"),
        key_sent: false,
    };

    fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "tiny",
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
        .to_string()
    }

    fn run(payloads: &[String]) -> Result<Vec<StreamEvent>, ProviderError> {
        let mut assembler = StreamAssembler::new(ZERO_COST);
        let mut out = Vec::new();
        for payload in payloads {
            assembler.on_data(payload, &CTX, &mut out)?;
        }
        assembler.on_done(&mut out)?;
        Ok(out)
    }

    /// The same, for a request that offered `tools`.
    fn run_offering(payloads: &[String], tools: &[&str]) -> Vec<StreamEvent> {
        let offered = Offered::by(&crate::fixtures::request_with_tools(tools));
        let mut assembler = StreamAssembler::new(ZERO_COST).offering(offered);
        let mut out = Vec::new();
        for payload in payloads {
            assembler.on_data(payload, &CTX, &mut out).expect("valid");
        }
        assembler.on_done(&mut out).expect("valid");
        out
    }

    use crate::fixtures::text_of;

    #[test]
    fn calls_written_as_text_become_calls_when_their_tool_was_offered() {
        let payloads = [
            chunk(json!({"content": "Checking.\n<tool_"}), None),
            chunk(
                json!({"content": "call>\n{\"name\": \"get_weather\", "}),
                None,
            ),
            chunk(
                json!({"content": "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"}),
                Some("stop"),
            ),
        ];
        let events = run_offering(&payloads, &["get_weather"]);
        assert_eq!(text_of(&events), "Checking.");
        let start = events
            .iter()
            .position(|e| matches!(e, StreamEvent::ToolCallStart(_)));
        assert_eq!(
            events[start.expect("a call started")],
            StreamEvent::ToolCallStart(ToolCallStart {
                index: 0,
                id: "chatcmpl-1-call-0".into(),
                name: "get_weather".into(),
            })
        );
        assert_eq!(
            tool_ends(&events),
            [ToolCall {
                id: "chatcmpl-1-call-0".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
                from_text: true,
            }]
        );
        assert_eq!(
            events.last(),
            Some(&StreamEvent::Finish(FinishReason::ToolCalls))
        );

        // Offered nothing, or something else: the text is the reply.
        for tools in [&[][..], &["get_time"][..]] {
            let events = run_offering(&payloads, tools);
            assert!(tool_ends(&events).is_empty());
            assert!(text_of(&events).ends_with("</tool_call>"));
            assert_eq!(
                events.last(),
                Some(&StreamEvent::Finish(FinishReason::Stop))
            );
        }
    }

    #[test]
    fn recovered_calls_are_numbered_after_the_servers() {
        let payloads = [
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "srv-0", "type": "function",
                                       "function": {"name": "get_time", "arguments": "{}"}}]}),
                None,
            ),
            chunk(
                json!({"content": "<tool_call>{\"name\": \"get_weather\"}</tool_call>"}),
                Some("tool_calls"),
            ),
        ];
        let ends = tool_ends(&run_offering(&payloads, &["get_weather", "get_time"]));
        let mut ids: Vec<&str> = ends.iter().map(|c| c.id.as_str()).collect();
        // A recovered call ends when its block closes, the server's with the reply.
        ids.sort_unstable();
        assert_eq!(ids, ["chatcmpl-1-call-1", "srv-0"]);
    }

    #[test]
    fn a_tail_after_the_servers_arguments_is_cut_at_the_object() {
        let events = run(&[chunk(
            json!({"tool_calls": [{"index": 0, "id": "c0", "type": "function",
                                   "function": {"name": "get_weather",
                                                "arguments": "{\"city\": \"Paris\"}\n{\"name\": \"get_ti"}}]}),
            Some("tool_calls"),
        )])
        .expect("valid");
        assert_eq!(tool_ends(&events)[0].arguments, r#"{"city": "Paris"}"#);
    }

    fn tool_ends(events: &[StreamEvent]) -> Vec<ToolCall> {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallEnd(call) => Some(call.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn text_reasoning_usage_and_finish_in_order() {
        let events = run(&[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"reasoning": "hmm"}), None),
            chunk(json!({"content": "Hi"}), None),
            chunk(json!({"content": "!"}), Some("stop")),
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "tiny", "choices": [],
                   "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
            .to_string(),
        ])
        .expect("valid");
        assert_eq!(events[0], StreamEvent::Model("tiny".into()));
        assert_eq!(events[1], StreamEvent::ReasoningDelta("hmm".into()));
        assert_eq!(events[2], StreamEvent::TextDelta("Hi".into()));
        assert_eq!(events[3], StreamEvent::TextDelta("!".into()));
        assert!(matches!(&events[4], StreamEvent::Usage(u) if u.total == 8));
        assert_eq!(events[5], StreamEvent::Finish(FinishReason::Stop));
        assert_eq!(events.len(), 6);
    }

    #[test]
    fn legacy_reasoning_content_is_read() {
        let events =
            run(&[chunk(json!({"reasoning_content": "old"}), Some("stop"))]).expect("valid");
        assert!(events.contains(&StreamEvent::ReasoningDelta("old".into())));
    }

    #[test]
    fn think_tags_split_across_chunks_without_a_parser() {
        let events = run(&[
            chunk(json!({"content": "<thi"}), None),
            chunk(json!({"content": "nk>plan</th"}), None),
            chunk(json!({"content": "ink>Answer"}), Some("stop")),
        ])
        .expect("valid");
        let reasoning: String = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ReasoningDelta(r) => Some(r.as_str()),
                _ => None,
            })
            .collect();
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!((text.as_str(), reasoning.as_str()), ("Answer", "plan"));
    }

    #[test]
    fn content_without_tags_inside_a_think_block_is_reasoning() {
        let events = run(&[
            chunk(json!({"content": "<think>"}), None),
            chunk(json!({"content": "plan"}), None),
            chunk(json!({"content": " more"}), None),
            chunk(json!({"content": "</think>"}), None),
            chunk(json!({"content": "Answer"}), Some("stop")),
        ])
        .expect("valid");
        let deltas: Vec<&StreamEvent> = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    StreamEvent::TextDelta(_) | StreamEvent::ReasoningDelta(_)
                )
            })
            .collect();
        assert_eq!(
            deltas,
            [
                &StreamEvent::ReasoningDelta("plan".into()),
                &StreamEvent::ReasoningDelta(" more".into()),
                &StreamEvent::TextDelta("Answer".into()),
            ]
        );
    }

    #[test]
    fn escaped_fragments_and_texts_arrive_unescaped() {
        let events = run(&[
            chunk(json!({"content": "a \"quote\"\n\u{e9}"}), None),
            chunk(json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{\"k\": \"\u{1f600}\"}"}}]}), Some("tool_calls")),
        ])
        .expect("valid");
        assert!(events.contains(&StreamEvent::TextDelta("a \"quote\"\n\u{e9}".into())));
        assert_eq!(tool_ends(&events)[0].arguments, "{\"k\": \"\u{1f600}\"}");
    }

    #[test]
    fn calls_end_in_index_order_and_unindexed_fragments_continue_the_newest() {
        let events = run(&[
            chunk(json!({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "second", "arguments": "{"}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "first", "arguments": "{"}}]}), None),
            // No index: the call that started last, index 0.
            chunk(json!({"tool_calls": [{"function": {"arguments": "}"}}]}), None),
            chunk(json!({"tool_calls": [{"index": 1, "function": {"arguments": "}"}}]}), Some("tool_calls")),
        ])
        .expect("valid");
        let calls = tool_ends(&events);
        assert_eq!(
            calls
                .iter()
                .map(|c| (c.id.as_str(), c.arguments.as_str()))
                .collect::<Vec<_>>(),
            [("a", "{}"), ("b", "{}")]
        );
    }

    #[test]
    fn tool_calls_assembled_by_index_and_resend_not_doubled() {
        let events = run(&[
            chunk(json!({"tool_calls": []}), None),
            chunk(json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather", "arguments": ""}}]}), None),
            chunk(json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), None),
            // vllm#42167: the final chunk re-sends the whole arguments.
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": \"Paris\"}"}}]}), Some("tool_calls")),
        ])
        .expect("valid");
        let calls = tool_ends(&events);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "call_a");
        assert_eq!(calls[0].arguments, "{\"city\": \"Paris\"}");
        assert_eq!(calls[1].name, "time");
        assert_eq!(
            events.last(),
            Some(&StreamEvent::Finish(FinishReason::ToolCalls))
        );
        let starts = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallStart(_)))
            .count();
        assert_eq!(starts, 2);
    }

    #[test]
    fn a_resend_of_an_incomplete_prefix_adds_only_the_rest() {
        assert_eq!(new_part_of("{\"a\": ", "{\"a\": 1}".into()), "1}");
        assert_eq!(new_part_of("{\"a\": 1}", "{\"a\": 1}".into()), "");
        assert_eq!(new_part_of("", "{\"a\": 1}".into()), "{\"a\": 1}");
        assert_eq!(new_part_of("{\"a\"", ": 1}".into()), ": 1}");
        // An unescaped fragment is owned; its tail is cut off it.
        let owned: Cow<'_, str> = Cow::Owned("{\"a\": 1}".to_owned());
        assert_eq!(new_part_of("{\"a\": ", owned), "1}");
    }

    #[test]
    fn mid_stream_error_is_typed() {
        let error = run(&[
            chunk(json!({"content": "par"}), None),
            json!({"error": {"message": "This model's maximum context length is 2048 tokens.", "type": "BadRequestError", "param": null, "code": 400}}).to_string(),
        ])
        .expect_err("error event");
        assert!(matches!(error, ProviderError::ContextLengthExceeded(e) if e.limit == Some(2048)));
        let flat = run(&[json!({"object": "error", "message": "boom", "type": "InternalServerError", "code": 500}).to_string()])
            .expect_err("flat error");
        assert!(matches!(flat, ProviderError::Server(e) if e.status == 500 && e.message == "boom"));
    }

    #[test]
    fn garbage_is_an_invalid_response() {
        assert!(matches!(
            run(&["{nope".into()]),
            Err(ProviderError::InvalidResponse(_))
        ));
    }

    #[test]
    fn events_after_the_end_are_ignored() {
        let mut assembler = StreamAssembler::new(ZERO_COST);
        let mut out = Vec::new();
        assembler
            .on_data(
                &chunk(json!({"content": "a"}), Some("stop")),
                &CTX,
                &mut out,
            )
            .expect("ok");
        assembler.on_done(&mut out).expect("ok");
        let before = out.len();
        assembler
            .on_data(&chunk(json!({"content": "late"}), None), &CTX, &mut out)
            .expect("ok");
        assert_eq!(out.len(), before);
    }

    #[test]
    fn oversized_arguments_hit_the_limit() {
        let big = "x".repeat(MAX_TOOL_ARGUMENTS_BYTES + 1);
        let error = run(&[chunk(json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": big}}]}), None)])
            .expect_err("too big");
        assert!(matches!(error, ProviderError::InvalidResponse(m) if m.contains("limit")));
    }
}
