#!/usr/bin/env node
// What the Node sandbox costs per call: the provider component answering a
// chat through the sandbox (worker thread, fresh instance, the WASI shim's
// HTTP) against the loopback mock vLLM, next to a plain `fetch` of the same
// request, in one run. Prints one JSON object; BENCHMARKS.md quotes it.
//
//   node scripts/bench.mjs [--calls N]      (after `npm run build`)
//
// Also a model turn as the StreamFn makes it: resolve-and-stream in one
// call into the sandbox, next to resolve then stream in two.

import { parseArgs } from "node:util";
import { ComponentSandbox } from "../src/sandbox/index.js";
import { MODEL, startMockVllm } from "../test/support/mock-vllm.mjs";

const { values } = parseArgs({ options: { calls: { type: "string", default: "200" } } });
const calls = Number(values.calls);
if (!Number.isInteger(calls) || calls < 10 || calls > 100_000) {
  console.error("--calls must be an integer from 10 to 100000");
  process.exit(2);
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50_ms: +quantile(sorted, 0.5).toFixed(3), p90_ms: +quantile(sorted, 0.9).toFixed(3) };
}

const mock = await startMockVllm();
const request = {
  model: MODEL,
  messages: [{ tag: "user", val: [{ tag: "text", val: "hi" }] }],
  tools: [],
  sampling: { stop: [] },
};
const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });

const coldStart = performance.now();
const sandbox = new ComponentSandbox({ allowedUrl: mock.baseUrl, maxWorkers: 1 });
const config = await sandbox.resolveConfig({ providerJson: JSON.stringify({ baseUrl: mock.baseUrl }), env: [] });
const cold = performance.now() - coldStart;
// A second sandbox in the same process: a new worker, the component already compiled.
const nextStart = performance.now();
const next = new ComponentSandbox({ allowedUrl: mock.baseUrl, maxWorkers: 1 });
await next.resolveConfig({ providerJson: JSON.stringify({ baseUrl: mock.baseUrl }), env: [] });
const nextCold = performance.now() - nextStart;
await next.close();

/** The text of a stream of batches of WIT stream events. */
async function textOf(batches) {
  let text = "";
  for await (const events of batches) {
    for (const event of events) if (event.tag === "text-delta") text += event.val;
  }
  return text;
}

function viaSandbox() {
  return textOf(sandbox.stream(config, request));
}
async function viaFetch() {
  const response = await fetch(`${mock.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  let text = "";
  for (const line of (await response.text()).split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    text += JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "";
  }
  return text;
}

// A model turn as the OpenClaw StreamFn makes it: the config resolved and
// the stream started in one call into the sandbox, next to two calls.
const input = { providerJson: JSON.stringify({ baseUrl: mock.baseUrl }), env: [] };
function turnOneCall() {
  return textOf(sandbox.resolveAndStream(input, request));
}
async function turnTwoCalls() {
  return textOf(sandbox.stream(await sandbox.resolveConfig(input), request));
}

// Interleaved, so all see the same machine.
const sandboxed = [];
const direct = [];
const oneCall = [];
const twoCalls = [];
for (let i = 0; i < calls + 10; i++) {
  for (const [run, samples] of [
    [viaSandbox, sandboxed],
    [viaFetch, direct],
    [turnOneCall, oneCall],
    [turnTwoCalls, twoCalls],
  ]) {
    const t = performance.now();
    const text = await run();
    if (text !== "Hello from the mock") throw new Error(`unexpected answer ${JSON.stringify(text)}`);
    if (i >= 10) samples.push(performance.now() - t);
  }
}
await sandbox.close();
await mock.close();
const result = {
  calls,
  first_call_ms: +cold.toFixed(1),
  next_sandbox_first_call_ms: +nextCold.toFixed(1),
  sandbox_stream: summary(sandboxed),
  fetch_stream: summary(direct),
  turn_resolve_and_stream_one_call: summary(oneCall),
  turn_resolve_then_stream_two_calls: summary(twoCalls),
};
result.overhead_p50_ms = +(result.sandbox_stream.p50_ms - result.fetch_stream.p50_ms).toFixed(3);
console.log(JSON.stringify(result, null, 2));
