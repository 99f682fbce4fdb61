// `openai` npm SDK client of the benchmark (tests/bench/PROTOCOL.md).
//
// What it measures: the official OpenAI Node SDK against a vLLM server, used
// the ordinary way: one `new OpenAI({baseURL})` client for the whole run and
// `client.chat.completions.create(...)` per request: with `stream: true` and
// `stream_options: {include_usage: true}` for the streamed scenarios (the
// returned Stream is iterated to its end), without it for `latency` (a real
// non-streamed request; its events are not counted, 0).
//
// Events counted: chunks whose first choice's delta has non-empty `content`,
// reasoning (`reasoning` or `reasoning_content`, vLLM's extra fields), or a
// tool call with non-empty `function.arguments`. One chunk is one event.
//
// Connections: the SDK calls Node's global fetch, whose global undici Agent
// sets no limit on connections per origin, so the concurrent scenario's C
// streams (started at once with Promise.all) each get their own connection;
// nothing needs raising. The SDK insists on an API key: it is given a dummy
// one ("none", sent as `Authorization: Bearer none`, never printed). Its
// retries are off (`maxRetries: 0`); every request is aborted after 120 s
// (an AbortSignal, which also covers reading the body).
//
// Run (after `tests/bench/peers/install`, which prints the node to use):
//   NODE=$(tests/bench/peers/install | tail -n1)
//   $NODE tests/bench/peers/openai.mjs concurrent --base-url http://127.0.0.1:PORT/v1 \
//       --model text --concurrency 100 --max-tokens 1000
// Prints one JSON line on stdout; exit 1 if any request failed.

import OpenAI from "openai";
import { DUMMY_API_KEY, main, parseArgs, PROMPT, REQUEST_TIMEOUT_MS } from "./common.mjs";

const CLIENT = "openai";
const job = parseArgs();

const client = new OpenAI({
  baseURL: job.baseUrl,
  apiKey: DUMMY_API_KEY,
  maxRetries: 0,
  timeout: REQUEST_TIMEOUT_MS,
});

function request(stream) {
  const body = {
    model: job.model,
    messages: [{ role: "user", content: PROMPT }],
    max_tokens: job.maxTokens,
  };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** Whether a chunk carries something a UI would draw. */
function isEvent(chunk) {
  const delta = chunk.choices?.[0]?.delta;
  if (!delta) return false;
  if (typeof delta.content === "string" && delta.content.length > 0) return true;
  if (typeof delta.reasoning === "string" && delta.reasoning.length > 0) return true;
  if (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) return true;
  if (Array.isArray(delta.tool_calls)) {
    return delta.tool_calls.some((call) => typeof call.function?.arguments === "string" && call.function.arguments.length > 0);
  }
  return false;
}

async function streamOne({ signal }) {
  const stream = await client.chat.completions.create(request(true), { signal });
  let events = 0;
  let firstNs = null;
  let finished = false;
  // Bounded: the Stream ends at `data: [DONE]` or the end of the body, and
  // the signal aborts it after the timeout.
  for await (const chunk of stream) {
    if (isEvent(chunk)) {
      if (firstNs === null) firstNs = process.hrtime.bigint();
      events += 1;
    }
    if (chunk.choices?.[0]?.finish_reason) finished = true;
  }
  // The SDK's Stream ends quietly when its request is aborted mid-body: catch that here.
  if (signal.aborted) throw new Error(`the stream was cut short: ${signal.reason?.message ?? "aborted"}`);
  if (!finished) throw new Error("the stream ended without a finish_reason");
  return { events, firstNs };
}

async function completeOne({ signal }) {
  const completion = await client.chat.completions.create(request(false), { signal });
  if (!Array.isArray(completion.choices) || completion.choices.length === 0) {
    throw new Error("the non-streamed reply has no choices");
  }
  return { events: 0, firstNs: null };
}

await main(CLIENT, { streamOne, completeOne }, job);
