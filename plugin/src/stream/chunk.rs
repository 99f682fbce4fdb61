//! The wire shape of a `chat.completion.chunk`, as far as the stream uses
//! it, and its readers: one chunk per streamed token, read in place with
//! its strings borrowed from the event's text.

use crate::json::{self, Reader};
use crate::usage::UsageJson;
use std::borrow::Cow;

/// What the stream uses of a `chat.completion.chunk`, with its strings
/// borrowed from the event's text.
#[derive(Debug, Default)]
pub(super) struct Chunk<'a> {
    /// The reply's id (`chatcmpl-...`), the same in every chunk.
    pub(super) id: Option<Cow<'a, str>>,
    pub(super) model: Option<Cow<'a, str>>,
    pub(super) choices: Few<Choice<'a>>,
    pub(super) usage: Option<UsageJson>,
    /// `error` is there and not `null`.
    pub(super) error: bool,
    pub(super) object: Option<Cow<'a, str>>,
}

#[derive(Debug, Default)]
pub(super) struct Choice<'a> {
    pub(super) index: u32,
    pub(super) delta: Delta<'a>,
    pub(super) finish_reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Default)]
pub(super) struct Delta<'a> {
    pub(super) content: Option<Cow<'a, str>>,
    pub(super) reasoning: Option<Cow<'a, str>>,
    pub(super) reasoning_content: Option<Cow<'a, str>>,
    /// `tool_calls`; `null` and `[]` both mean none.
    pub(super) tool_calls: Few<ToolCallChunk<'a>>,
}

#[derive(Debug, Default)]
pub(super) struct ToolCallChunk<'a> {
    pub(super) index: Option<u32>,
    pub(super) id: Option<Cow<'a, str>>,
    /// `function.name`.
    pub(super) name: Option<Cow<'a, str>>,
    /// `function.arguments` as text; empty when absent or `null`.
    pub(super) arguments: Cow<'a, str>,
}

/// The items of a list that nearly always holds one: that one is kept
/// without an allocation (a chunk has one choice, a choice one tool call).
#[derive(Debug)]
pub(super) struct Few<T> {
    first: Option<T>,
    more: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Self {
            first: None,
            more: Vec::new(),
        }
    }
}

impl<T: Default> Few<T> {
    /// A new item at the end, to be read in place.
    fn push(&mut self) -> &mut T {
        if self.first.is_none() {
            return self.first.insert(T::default());
        }
        self.more.push(T::default());
        let last = self.more.len() - 1;
        &mut self.more[last]
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.first.iter_mut().chain(&mut self.more)
    }

    /// Whether the list held no item (`choices: []`).
    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

impl<'a> Chunk<'a> {
    /// Reads a chunk into `self`, in place: a chunk is read for every
    /// streamed token, and moving its parts around costs as much as reading.
    pub(super) fn read(&mut self, reader: &mut Reader<'a>) -> Result<(), json::Error> {
        json::fields!(reader, "a chunk object", {
            "id" => self.id = reader.opt_string()?,
            "model" => self.model = reader.opt_string()?,
            "choices" => reader.array("a list of choices", &mut |reader| {
                self.choices.push().read(reader)
            })?,
            "usage" => self.usage = UsageJson::read(reader)?,
            // Read whole, as the error body it is read as later.
            "error" => self.error = !reader.value()?.is_null(),
            "object" => self.object = reader.opt_string()?,
        });
        Ok(())
    }
}

impl<'a> Choice<'a> {
    fn read(&mut self, reader: &mut Reader<'a>) -> Result<(), json::Error> {
        json::fields!(reader, "a choice object", {
            "index" => self.index = reader.u32()?,
            "delta" => {
                self.delta = Delta::default();
                self.delta.read(reader)?;
            },
            "finish_reason" => self.finish_reason = reader.opt_string()?,
        });
        Ok(())
    }
}

impl<'a> Delta<'a> {
    fn read(&mut self, reader: &mut Reader<'a>) -> Result<(), json::Error> {
        json::fields!(reader, "a delta object", {
            "content" => self.content = reader.opt_string()?,
            "reasoning" => self.reasoning = reader.opt_string()?,
            "reasoning_content" => self.reasoning_content = reader.opt_string()?,
            "tool_calls" => {
                if !reader.null()? {
                    reader.array("a list of tool calls", &mut |reader| {
                        self.tool_calls.push().read(reader)
                    })?;
                }
            },
        });
        Ok(())
    }
}

impl<'a> ToolCallChunk<'a> {
    fn read(&mut self, reader: &mut Reader<'a>) -> Result<(), json::Error> {
        json::fields!(reader, "a tool call object", {
            "index" => self.index = reader.opt_u32()?,
            "id" => self.id = reader.opt_string()?,
            "function" => {
                if !reader.null()? {
                    json::fields!(reader, "a function object", {
                        "name" => self.name = reader.opt_string()?,
                        "arguments" => self.arguments = read_arguments(reader)?,
                    });
                }
            },
        });
        Ok(())
    }
}

/// Tool call arguments: text, or empty for `null`. Some servers send an
/// object instead of text: that is its JSON text.
pub(crate) fn read_arguments<'a>(reader: &mut Reader<'a>) -> Result<Cow<'a, str>, json::Error> {
    if reader.next_is_string() {
        return reader.string();
    }
    Ok(match reader.value()? {
        serde_json::Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(json::text(&other)),
    })
}

#[cfg(test)]
mod against_serde {
    //! The chunk reader against the serde-derived structs it replaced.

    use super::*;
    use crate::json::mirror::{self, a_struct, arguments, count, member, object, text};
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Deserialize)]
    struct SerdeChunk {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        model: Option<String>,
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
        #[serde(default)]
        index: u32,
        #[serde(default)]
        delta: SerdeDelta,
        #[serde(default)]
        finish_reason: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    struct SerdeDelta {
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
        index: Option<u32>,
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        function: Option<SerdeFunction>,
    }

    #[derive(Debug, Deserialize)]
    struct SerdeFunction {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        arguments: Option<Value>,
    }

    /// A choice: its index, its three texts, its calls and its finish
    /// reason.
    type ChoiceSaid = (u32, [Option<String>; 3], Vec<CallSaid>, Option<String>);

    /// What a chunk said, read either way.
    #[derive(Debug, PartialEq)]
    struct Said {
        id: Option<String>,
        model: Option<String>,
        choices: Vec<ChoiceSaid>,
        usage: Option<UsageJson>,
        error: bool,
        object: Option<String>,
    }

    #[derive(Debug, PartialEq)]
    struct CallSaid {
        index: Option<u32>,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    }

    fn owned(text: &Option<Cow<'_, str>>) -> Option<String> {
        text.as_deref().map(str::to_owned)
    }

    fn ours(text: &str) -> Result<Said, json::Error> {
        let mut chunk = Chunk::default();
        json::read(text, |reader| chunk.read(reader))?;
        Ok(Said {
            id: owned(&chunk.id),
            model: owned(&chunk.model),
            choices: chunk
                .choices
                .iter_mut()
                .map(|c| {
                    let d = &mut c.delta;
                    let calls = d
                        .tool_calls
                        .iter_mut()
                        .map(|t| CallSaid {
                            index: t.index,
                            id: owned(&t.id),
                            name: owned(&t.name),
                            arguments: t.arguments.to_string(),
                        })
                        .collect();
                    let texts = [
                        owned(&d.content),
                        owned(&d.reasoning),
                        owned(&d.reasoning_content),
                    ];
                    (c.index, texts, calls, owned(&c.finish_reason))
                })
                .collect(),
            usage: chunk.usage,
            error: chunk.error,
            object: owned(&chunk.object),
        })
    }

    fn theirs(text: &str) -> serde_json::Result<Said> {
        let chunk: SerdeChunk = serde_json::from_str(text)?;
        Ok(Said {
            id: chunk.id,
            model: chunk.model,
            choices: chunk
                .choices
                .into_iter()
                .map(|c| {
                    let d = c.delta;
                    let calls = d
                        .tool_calls
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| {
                            let (name, arguments) = match t.function {
                                Some(f) => (f.name, mirror::arguments_text(f.arguments)),
                                None => (None, String::new()),
                            };
                            CallSaid {
                                index: t.index,
                                id: t.id,
                                name,
                                arguments,
                            }
                        })
                        .collect();
                    let texts = [d.content, d.reasoning, d.reasoning_content];
                    (c.index, texts, calls, c.finish_reason)
                })
                .collect(),
            usage: chunk.usage.map(|u| u.ours()),
            error: chunk.error.is_some(),
            object: chunk.object,
        })
    }

    fn chunk_json() -> BoxedStrategy<crate::json::tests::Json> {
        let function = a_struct(object(vec![
            member("name", text()),
            member("arguments", arguments()),
        ]));
        let call = a_struct(object(vec![
            member("index", count()),
            member("id", text()),
            member("function", function),
        ]));
        let delta = mirror::message(call);
        let choice = a_struct(object(vec![
            member("index", count()),
            member("delta", delta),
            member("finish_reason", text()),
        ]));
        mirror::reply(choice)
    }

    mirror::agrees_with_serde! {
        cases: 1_500,
        json: chunk_json(),
        same: |text: &str| mirror::agree(text, ours(text), theirs(text)),
        read: chunks_are_read_as_serde_read_them,
        refused: broken_chunks_are_refused_as_serde_refused_them,
    }
}
