//! `chat`: one prompt, the reply streamed to the terminal (or one JSON object).
//!
//! Output contract: visible text goes to stdout as it arrives (flushed per
//! batch of events), followed by a newline if it did not end with one;
//! each completed tool call is a line `tool call: NAME ARGUMENTS` on
//! stdout; reasoning goes to stderr (dimmed when stderr is a terminal); a
//! summary line (finish reason, tokens) ends stderr. With `--json` only one
//! object is printed on stdout, at the end.
//!
//! Ctrl-C while a reply streams stops reading, drops the stream (which
//! closes the connection, so the server stops generating), ends the line of
//! what arrived (with `--json`: prints the object so far) and exits 130.

use std::io::{Read, Write};

use vllm_harness::{ChatRequest, Completion, ContentPart, Message, StreamEvent};

use super::fail::{Ending, Failure, ending};
use super::setup::{Setup, Spinner, show_warnings};
use super::{ChatArgs, GlobalArgs, tools_file};

mod choice;
mod printer;
mod reply;
mod reply_json;

use choice::{choose_model, parse_tool_choice};
use printer::Printer;
use reply::{Reply, ReplyError};

/// Runs `chat`.
pub async fn run(global: &GlobalArgs, args: &ChatArgs) -> anyhow::Result<()> {
    let prompt = read_prompt(&args.prompt)?;
    let tools = match &args.tools {
        Some(path) => tools_file::load(path)?,
        None => Vec::new(),
    };
    let tool_choice = args
        .tool_choice
        .as_deref()
        .map(|choice| parse_tool_choice(choice, &tools))
        .transpose()?;

    let setup = Setup::new(global).await?;
    setup.require_enabled()?;
    let config = setup.config_with_models().await?;
    let model = choose_model(
        args.model.as_deref(),
        setup.file.primary_model.as_deref(),
        &config.models,
    )?;

    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::System(system.clone()));
    }
    messages.push(Message::User(vec![ContentPart::Text(prompt)]));
    let mut request = ChatRequest::new(model.clone(), messages);
    request.tools = tools;
    request.tool_choice = tool_choice;
    request.sampling.max_tokens = args.max_tokens;
    request.sampling.temperature = args.temperature;
    request.thinking = args.thinking;
    request.priority = args.priority;
    request.session_id = args.session.clone();

    let mut reply = Reply::new(model);
    let mut out = Printer::new(!args.json);
    let outcome = if args.no_stream {
        let spinner = (!args.json).then(|| Spinner::start("waiting for the reply"));
        let completion = setup.harness.complete(&config, request).await;
        drop(spinner);
        match completion {
            Ok(completion) => completion_events(completion)
                .iter()
                .try_for_each(|event| reply.apply(event, &mut out))
                .map(|()| Streamed::Whole)
                .map_err(anyhow::Error::from),
            Err(error) => Err(error.into()),
        }
    } else {
        stream_reply(&setup, &config, request, &mut reply, &mut out).await
    };
    // What the plugin noticed about the reply (calls it recovered from
    // text), after the reply's own lines.
    show_warnings(&setup.harness);
    let error = match outcome {
        Ok(Streamed::Whole) => None,
        Ok(Streamed::Interrupted) => Some(anyhow::Error::new(Failure {
            code: INTERRUPTED,
            message: format!(
                "interrupted: the reply was cut short after {} characters of text",
                reply.text.chars().count()
            ),
        })),
        Err(error) => Some(error),
    };
    match error {
        None => out.finish(&reply)?,
        // What arrived stays on its own lines, apart from the error.
        Some(_) => out.interrupted()?,
    }
    // `None` inside: the error is not about the reply (stdout was closed).
    let ended = error.as_ref().map(reply_error);
    let stdout_closed = matches!(ended, Some(None));
    reply.error = ended.flatten();
    if args.json && !stdout_closed {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", reply.to_json())?;
        stdout.flush()?;
    }
    error.map_or(Ok(()), Err)
}

/// The `error` of `--json` for what ended the run, as stderr will say it;
/// `None` for an error that is not about the reply (stdout closed).
fn reply_error(error: &anyhow::Error) -> Option<ReplyError> {
    let Ending::Report { code, message } = ending(error) else {
        return None;
    };
    let kind = if let Some(call) = error.downcast_ref::<vllm_harness::CallError>() {
        call.kind()
    } else if code == INTERRUPTED {
        "interrupted"
    } else {
        "other"
    };
    Some(ReplyError {
        kind,
        message,
        exit_code: code,
    })
}

/// The exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// How a streamed reply ended.
#[derive(Debug, PartialEq, Eq)]
enum Streamed {
    /// The stream reached its end.
    Whole,
    /// Ctrl-C: the stream was dropped before its end.
    Interrupted,
}

/// Streams the reply into `reply` and `out` until it ends or Ctrl-C.
async fn stream_reply(
    setup: &Setup,
    config: &vllm_harness::ProviderConfig,
    request: ChatRequest,
    reply: &mut Reply,
    out: &mut Printer,
) -> anyhow::Result<Streamed> {
    // The handler is installed on the first poll, here, and from then on
    // Ctrl-C no longer ends the process by itself: it is listened to until
    // the reply is whole.
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    // Without a handler (it could not be installed) Ctrl-C keeps its default.
    let mut listening = true;
    let mut started = std::pin::pin!(setup.harness.stream(config, request));
    let mut stream = loop {
        tokio::select! {
            biased;
            signal = &mut interrupt, if listening => match signal {
                Ok(()) => return Ok(Streamed::Interrupted),
                Err(_) => listening = false,
            },
            stream = &mut started => break stream?,
        }
    };
    loop {
        let next = tokio::select! {
            biased;
            signal = &mut interrupt, if listening => match signal {
                Ok(()) => {
                    // Dropping the stream drops its store and the HTTP
                    // request with it: the connection closes.
                    drop(stream);
                    return Ok(Streamed::Interrupted);
                }
                Err(_) => {
                    listening = false;
                    continue;
                }
            },
            next = stream.next() => next?,
        };
        let Some(events) = next else {
            return Ok(Streamed::Whole);
        };
        for event in &events {
            reply.apply(event, out)?;
        }
        out.flush()?;
    }
}

/// PROMPT, or stdin when it is `-`.
fn read_prompt(arg: &str) -> Result<String, Failure> {
    let prompt = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| Failure::usage(format!("cannot read the prompt from stdin: {err}")))?;
        text
    } else {
        arg.to_owned()
    };
    if prompt.trim().is_empty() {
        return Err(Failure::usage("the prompt is empty"));
    }
    Ok(prompt)
}

/// A finished completion as the events a stream would have carried.
fn completion_events(c: Completion) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Model(c.model)];
    if !c.reasoning.is_empty() {
        events.push(StreamEvent::ReasoningDelta(c.reasoning));
    }
    if !c.text.is_empty() {
        events.push(StreamEvent::TextDelta(c.text));
    }
    events.extend(c.tool_calls.into_iter().map(StreamEvent::ToolCallEnd));
    events.extend(c.usage.map(StreamEvent::Usage));
    events.push(StreamEvent::Finish(c.finish_reason));
    events
}

#[cfg(test)]
mod tests {
    use super::reply::finish_name;
    use super::*;
    use vllm_harness::FinishReason;

    #[test]
    fn completion_becomes_events() {
        let events = completion_events(Completion {
            model: "m".into(),
            text: "hi".into(),
            reasoning: String::new(),
            tool_calls: vec![],
            finish_reason: FinishReason::Other("eos".into()),
            usage: None,
        });
        assert_eq!(
            events,
            [
                StreamEvent::Model("m".into()),
                StreamEvent::TextDelta("hi".into()),
                StreamEvent::Finish(FinishReason::Other("eos".into()))
            ]
        );
        assert_eq!(finish_name(&FinishReason::Other("eos".into())), "eos");
    }
}
