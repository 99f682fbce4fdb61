//! A non-streamed `chat.completion` body to a `Completion`.

use crate::error::{RequestContext, from_http_status, parse_error_body};
use crate::json::{self, Reader};
use crate::stream::read_arguments;
use crate::think::split_complete;
use crate::unparsed_calls::{self, Offered};
use crate::usage::{UsageJson, finish_reason};
use crate::wit::{Completion, FinishReason, ModelCost, ProviderError, ToolCall};

#[derive(Debug, Default)]
struct Response {
    /// The reply's id (`chatcmpl-...`).
    id: Option<String>,
    model: String,
    choices: Vec<Choice>,
    usage: Option<UsageJson>,
    /// `error` is there and not `null`.
    error: bool,
    object: Option<String>,
}

#[derive(Debug)]
struct Choice {
    message: Message,
    finish_reason: Option<String>,
}

#[derive(Debug, Default)]
struct Message {
    content: Option<String>,
    reasoning: Option<String>,
    reasoning_content: Option<String>,
    /// `tool_calls`; `null` and `[]` both mean none.
    tool_calls: Vec<ToolCallJson>,
}

#[derive(Debug)]
struct ToolCallJson {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// A string or `null`, owned.
fn opt_string(reader: &mut Reader<'_>) -> Result<Option<String>, json::Error> {
    Ok(reader.opt_string()?.map(Into::into))
}

/// A string, owned.
fn string(reader: &mut Reader<'_>) -> Result<String, json::Error> {
    Ok(reader.string()?.into_owned())
}

impl Response {
    fn read(reader: &mut Reader<'_>) -> Result<Self, json::Error> {
        let mut response = Self::default();
        json::fields!(reader, "a chat completion object", {
            "id" => response.id = opt_string(reader)?,
            "model" => response.model = string(reader)?,
            "choices" => reader.array("a list of choices", &mut |reader| {
                response.choices.push(Choice::read(reader)?);
                Ok(())
            })?,
            "usage" => response.usage = UsageJson::read(reader)?,
            "error" => response.error = !reader.value()?.is_null(),
            "object" => response.object = opt_string(reader)?,
        });
        Ok(response)
    }
}

impl Choice {
    fn read(reader: &mut Reader<'_>) -> Result<Self, json::Error> {
        let mut message = None;
        let mut finish_reason = None;
        json::fields!(reader, "a choice object", {
            "message" => message = Some(Message::read(reader)?),
            "finish_reason" => finish_reason = opt_string(reader)?,
        });
        let message = message.ok_or_else(|| reader.error("missing field `message`"))?;
        Ok(Self {
            message,
            finish_reason,
        })
    }
}

impl Message {
    fn read(reader: &mut Reader<'_>) -> Result<Self, json::Error> {
        let mut message = Self::default();
        json::fields!(reader, "a message object", {
            "content" => message.content = opt_string(reader)?,
            "reasoning" => message.reasoning = opt_string(reader)?,
            "reasoning_content" => message.reasoning_content = opt_string(reader)?,
            "tool_calls" => {
                if !reader.null()? {
                    reader.array("a list of tool calls", &mut |reader| {
                        message.tool_calls.push(ToolCallJson::read(reader)?);
                        Ok(())
                    })?;
                }
            },
        });
        Ok(message)
    }
}

impl ToolCallJson {
    fn read(reader: &mut Reader<'_>) -> Result<Self, json::Error> {
        let mut id = None;
        let mut function = None;
        json::fields!(reader, "a tool call object", {
            "id" => id = opt_string(reader)?,
            "function" => {
                let mut name = None;
                let mut arguments = String::new();
                json::fields!(reader, "a function object", {
                    "name" => name = Some(string(reader)?),
                    "arguments" => arguments = read_arguments(reader)?.into_owned(),
                });
                let name = name.ok_or_else(|| reader.error("missing field `name`"))?;
                function = Some((name, arguments));
            },
        });
        let (name, arguments) = function.ok_or_else(|| reader.error("missing field `function`"))?;
        Ok(Self {
            id,
            name,
            arguments,
        })
    }
}

/// Parse a 200 body of `POST /chat/completions`.
pub fn parse_completion(
    body: &[u8],
    cost: &ModelCost,
    offered: &Offered,
    ctx: &RequestContext<'_>,
) -> Result<Completion, ProviderError> {
    let response = json::utf8(body)
        .and_then(|text| json::read(text, Response::read))
        .map_err(|e| {
            ProviderError::InvalidResponse(format!(
                "the chat completion from {} is not vLLM's JSON ({e})",
                ctx.url
            ))
        })?;
    if response.error || response.object.as_deref() == Some("error") {
        // A 200 that carries an error body is still an error.
        let value = json::parse_value(body).unwrap_or_default();
        let status = parse_error_body(&value)
            .and_then(|e| e.code)
            .filter(|c| *c >= 400)
            .unwrap_or(500);
        return Err(from_http_status(status, body, ctx));
    }
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(ProviderError::InvalidResponse(format!(
            "the chat completion from {} has no choices",
            ctx.url
        )));
    };
    let message = choice.message;
    let content = message.content.unwrap_or_default();
    let (text, reasoning) = match message.reasoning.or(message.reasoning_content) {
        Some(reasoning) => (content, reasoning),
        None => split_complete(&content),
    };
    let mut tool_calls: Vec<ToolCall> = message
        .tool_calls
        .into_iter()
        .enumerate()
        .map(|(index, call)| ToolCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{index}")),
            name: call.name,
            arguments: json::repaired_arguments(call.arguments),
            from_text: false,
        })
        .collect();
    let mut finish = choice
        .finish_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason);
    let mut text = text;
    if let Some(recovered) = unparsed_calls::recover(&text, offered) {
        text = recovered.text;
        let first = tool_calls.len();
        tool_calls.extend(
            recovered
                .calls
                .into_iter()
                .enumerate()
                .map(|(n, call)| ToolCall {
                    id: unparsed_calls::call_id(response.id.as_deref(), first + n),
                    name: call.name,
                    arguments: call.arguments,
                    from_text: true,
                }),
        );
        finish = unparsed_calls::finish_after_recovery(finish);
    }
    Ok(Completion {
        model: response.model,
        text,
        reasoning,
        tool_calls,
        finish_reason: finish,
        usage: response.usage.map(|u| u.to_usage(cost)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::ZERO_COST;
    use serde_json::json;

    const CTX: RequestContext<'static> = RequestContext {
        authority: "h:1",
        url: "http://h:1/v1/chat/completions",
        model: Some("tiny"),
        key_sent: false,
    };

    fn body(message: serde_json::Value, finish: &str) -> Vec<u8> {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "tiny",
               "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish, "stop_reason": null}],
               "usage": {"prompt_tokens": 10, "total_tokens": 15, "completion_tokens": 5, "prompt_tokens_details": null},
               "prompt_logprobs": null})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn text_reasoning_usage() {
        let completion = parse_completion(
            &body(json!({"role": "assistant", "content": "Hi", "reasoning": "greet", "tool_calls": []}), "stop"),
            &ZERO_COST, &Offered::default(),
            &CTX,
        )
        .expect("parses");
        assert_eq!(completion.model, "tiny");
        assert_eq!(completion.text, "Hi");
        assert_eq!(completion.reasoning, "greet");
        assert!(
            completion.tool_calls.is_empty(),
            "tool_calls: [] means none"
        );
        assert_eq!(completion.finish_reason, FinishReason::Stop);
        assert_eq!(completion.usage.map(|u| u.total), Some(15));
    }

    #[test]
    fn reasoning_content_and_think_tags() {
        let legacy = parse_completion(
            &body(json!({"content": "A", "reasoning_content": "r"}), "stop"),
            &ZERO_COST,
            &Offered::default(),
            &CTX,
        )
        .expect("parses");
        assert_eq!(legacy.reasoning, "r");
        let tagged = parse_completion(
            &body(json!({"content": "<think>r2</think>B"}), "stop"),
            &ZERO_COST,
            &Offered::default(),
            &CTX,
        )
        .expect("parses");
        assert_eq!(
            (tagged.text.as_str(), tagged.reasoning.as_str()),
            ("B", "r2")
        );
    }

    #[test]
    fn tool_calls() {
        let completion = parse_completion(
            &body(json!({"content": null, "tool_calls": [
                {"id": "chatcmpl-tool-1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]}), "tool_calls"),
            &ZERO_COST, &Offered::default(),
            &CTX,
        )
        .expect("parses");
        assert_eq!(completion.tool_calls[0].name, "weather");
        assert_eq!(completion.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
        assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
    }

    #[test]
    fn calls_written_as_text_are_recovered_for_offered_tools() {
        let reply = body(
            json!({"content": "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"}),
            "stop",
        );
        let offered = Offered::by(&crate::fixtures::request_with_tools(&["get_weather"]));
        let completion = parse_completion(&reply, &ZERO_COST, &offered, &CTX).expect("parses");
        assert_eq!(completion.text, "");
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.tool_calls[0].id, "chatcmpl-1-call-0");
        assert_eq!(completion.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(completion.finish_reason, FinishReason::ToolCalls);
        let untouched =
            parse_completion(&reply, &ZERO_COST, &Offered::default(), &CTX).expect("parses");
        assert!(untouched.tool_calls.is_empty());
        assert!(untouched.text.starts_with("<tool_call>"));
        assert_eq!(untouched.finish_reason, FinishReason::Stop);
    }

    #[test]
    fn a_tail_after_the_arguments_is_cut_at_the_object() {
        let completion = parse_completion(
            &body(
                json!({"content": null, "tool_calls": [
                    {"id": "c0", "type": "function", "function": {"name": "weather",
                     "arguments": "{\"city\": \"Paris\"}\n{\"name\": \"get_ti"}}
                ]}),
                "tool_calls",
            ),
            &ZERO_COST,
            &Offered::default(),
            &CTX,
        )
        .expect("parses");
        assert_eq!(completion.tool_calls[0].arguments, r#"{"city": "Paris"}"#);
    }

    mod against_serde {
        //! The completion reader against the serde-derived structs it
        //! replaced.

        use super::*;
        use crate::json::mirror::{self, a_struct, arguments, member, object, text};
        use crate::json::tests::{Json, string_literal};
        use proptest::prelude::*;
        use serde::Deserialize;
        use serde_json::Value;

        #[derive(Debug, Deserialize)]
        struct SerdeResponse {
            #[serde(default)]
            id: Option<String>,
            #[serde(default)]
            model: String,
            #[serde(default)]
            choices: Vec<SerdeChoice>,
            #[serde(default)]
            usage: Option<mirror::UsageJson>,
            #[serde(default)]
            error: Option<Value>,
            #[serde(default)]
            object: Option<String>,
        }

        #[derive(Debug, Deserialize)]
        struct SerdeChoice {
            message: SerdeMessage,
            #[serde(default)]
            finish_reason: Option<String>,
        }

        #[derive(Debug, Deserialize)]
        struct SerdeMessage {
            #[serde(default)]
            content: Option<String>,
            #[serde(default)]
            reasoning: Option<String>,
            #[serde(default)]
            reasoning_content: Option<String>,
            #[serde(default)]
            tool_calls: Option<Vec<SerdeToolCall>>,
        }

        #[derive(Debug, Deserialize)]
        struct SerdeToolCall {
            #[serde(default)]
            id: Option<String>,
            function: SerdeFunction,
        }

        #[derive(Debug, Deserialize)]
        struct SerdeFunction {
            name: String,
            #[serde(default)]
            arguments: Option<Value>,
        }

        type Call = (Option<String>, String, String);
        /// A choice: its three texts, its calls and its finish reason.
        type ChoiceSaid = ([Option<String>; 3], Vec<Call>, Option<String>);

        /// What a completion said, read either way.
        #[derive(Debug, PartialEq)]
        struct Said {
            id: Option<String>,
            model: String,
            choices: Vec<ChoiceSaid>,
            usage: Option<UsageJson>,
            error: bool,
            object: Option<String>,
        }

        fn ours(text: &str) -> Result<Said, json::Error> {
            let response = json::read(text, Response::read)?;
            Ok(Said {
                id: response.id,
                model: response.model,
                choices: response
                    .choices
                    .into_iter()
                    .map(|c| {
                        let m = c.message;
                        let calls = m
                            .tool_calls
                            .into_iter()
                            .map(|t| (t.id, t.name, t.arguments))
                            .collect();
                        (
                            [m.content, m.reasoning, m.reasoning_content],
                            calls,
                            c.finish_reason,
                        )
                    })
                    .collect(),
                usage: response.usage,
                error: response.error,
                object: response.object,
            })
        }

        fn theirs(text: &str) -> serde_json::Result<Said> {
            let response: SerdeResponse = serde_json::from_str(text)?;
            Ok(Said {
                id: response.id,
                model: response.model,
                choices: response
                    .choices
                    .into_iter()
                    .map(|c| {
                        let m = c.message;
                        let calls = m
                            .tool_calls
                            .unwrap_or_default()
                            .into_iter()
                            .map(|t| {
                                let arguments = mirror::arguments_text(t.function.arguments);
                                (t.id, t.function.name, arguments)
                            })
                            .collect();
                        (
                            [m.content, m.reasoning, m.reasoning_content],
                            calls,
                            c.finish_reason,
                        )
                    })
                    .collect(),
                usage: response.usage.map(|u| u.ours()),
                error: response.error.is_some(),
                object: response.object,
            })
        }

        fn completion_json() -> BoxedStrategy<Json> {
            let name = prop_oneof![
                8 => string_literal().prop_map(Json::Str),
                1 => Just(Json::Raw("null".into())),
            ];
            let function = a_struct(object(vec![
                member("name", name),
                member("arguments", arguments()),
            ]));
            let call = a_struct(object(vec![
                member("id", text()),
                member("function", function),
            ]));
            let message = mirror::message(call);
            let choice = a_struct(object(vec![
                member("message", message),
                member("finish_reason", text()),
            ]));
            mirror::reply(choice)
        }

        mirror::agrees_with_serde! {
            cases: 1_000,
            json: completion_json(),
            same: |text: &str| mirror::agree(text, ours(text), theirs(text)),
            read: completions_are_read_as_serde_read_them,
            refused: broken_completions_are_refused_as_serde_refused_them,
        }
    }

    #[test]
    fn errors_and_garbage() {
        let error = parse_completion(br#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","code":404}"#, &ZERO_COST, &Offered::default(), &CTX)
            .expect_err("error body");
        assert!(matches!(error, ProviderError::ModelNotFound(_)));
        assert!(matches!(
            parse_completion(b"<html>", &ZERO_COST, &Offered::default(), &CTX),
            Err(ProviderError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_completion(br#"{"choices":[]}"#, &ZERO_COST, &Offered::default(), &CTX),
            Err(ProviderError::InvalidResponse(_))
        ));
    }
}
