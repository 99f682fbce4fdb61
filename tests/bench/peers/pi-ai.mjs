// pi-ai client of the benchmark (tests/bench/PROTOCOL.md).
//
// What it measures: OpenClaw's model transport, the npm package
// `@mariozechner/pi-ai`, talking to a vLLM server through its
// "openai-completions" API, the way an agent host drives it for a vLLM
// provider: a custom Model object (api "openai-completions", provider "vllm",
// the server's baseUrl) and `streamSimple(model, context, options)`, the entry
// point agent loops call, whose AssistantMessageEventStream is read to its
// end. pi-ai builds an `openai` SDK client (its own pinned copy) per request;
// that SDK uses Node's global fetch (undici's global Agent, which sets no
// limit on connections per origin), so the concurrent scenario's C streams
// each get their own connection.
//
// Events counted: pi-ai's delta events, `text_delta`, `thinking_delta` and
// `toolcall_delta` with a non-empty delta. (pi-ai also emits a
// `toolcall_delta` with an empty delta for the chunk that only carries the
// tool call's id and name; that one draws nothing and is not counted.)
//
// `latency`: pi-ai has no non-streaming request at all: its
// `complete`/`completeSimple` run the same streamed request and await the
// assembled message (`stream.result()`). So `latency` here uses
// `completeSimple` (the same path as `streamSimple`), i.e. a *streamed*
// request awaited whole, and says so on stderr. Its events are not counted
// (0), as for the clients that send a non-streamed request.
//
// On the wire pi-ai sends what OpenClaw sends: `stream: true`,
// `stream_options: {include_usage: true}`, `max_completion_tokens: T` (its
// default for an unknown OpenAI-compatible server; the load server accepts
// it in place of `max_tokens`), `store: false`, and `Authorization: Bearer
// none` because pi-ai refuses to run without an API key (a dummy one; never
// printed). Client-side retries are switched off (`maxRetries: 0`); every
// request is aborted after 120 s.
//
// Run (after `tests/bench/peers/install`, which prints the node to use):
//   NODE=$(tests/bench/peers/install | tail -n1)
//   $NODE tests/bench/peers/pi-ai.mjs stream --base-url http://127.0.0.1:PORT/v1 \
//       --model text --requests 10 --max-tokens 10000
// Prints one JSON line on stdout; exit 1 if any request failed.

import { completeSimple, streamSimple } from "@mariozechner/pi-ai";
import { DUMMY_API_KEY, main, parseArgs, PROMPT, REQUEST_TIMEOUT_MS } from "./common.mjs";

const CLIENT = "pi-ai";
const job = parseArgs();

/** A vLLM model as an OpenClaw provider's catalog describes it. */
const model = {
  id: job.model,
  name: job.model,
  api: "openai-completions",
  provider: "vllm",
  baseUrl: job.baseUrl,
  reasoning: false,
  input: ["text"],
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  contextWindow: 131072,
  maxTokens: job.maxTokens,
};

function context() {
  return { messages: [{ role: "user", content: PROMPT, timestamp: Date.now() }] };
}

function options(signal) {
  return {
    apiKey: DUMMY_API_KEY,
    maxTokens: job.maxTokens,
    signal,
    maxRetries: 0,
    timeoutMs: REQUEST_TIMEOUT_MS,
  };
}

function failure(message) {
  return new Error(message.errorMessage || `pi-ai stopped with reason ${message.stopReason}`);
}

async function streamOne({ signal }) {
  const stream = streamSimple(model, context(), options(signal));
  let events = 0;
  let firstNs = null;
  let done = false;
  // Bounded: the stream ends after its `done` or `error` event, and the signal
  // aborts the request (ending the stream with `error`) after the timeout.
  for await (const event of stream) {
    switch (event.type) {
      case "text_delta":
      case "thinking_delta":
      case "toolcall_delta":
        if (event.delta.length > 0) {
          if (firstNs === null) firstNs = process.hrtime.bigint();
          events += 1;
        }
        break;
      case "done":
        done = true;
        break;
      case "error":
        throw failure(event.error);
      default:
        break;
    }
  }
  if (!done) throw new Error("pi-ai's stream ended without a done event");
  return { events, firstNs };
}

let warned = false;
async function completeOne({ signal }) {
  if (!warned) {
    warned = true;
    process.stderr.write(
      "pi-ai: latency uses completeSimple(), which sends a streamed request and awaits the whole message " +
        "(pi-ai has no non-streaming request)\n",
    );
  }
  const message = await completeSimple(model, context(), options(signal));
  if (message.stopReason === "error" || message.stopReason === "aborted") throw failure(message);
  return { events: 0, firstNs: null };
}

await main(CLIENT, { streamOne, completeOne }, job);
