// The plugin's StreamFn (what OpenClaw calls for a model turn) against the
// loopback mock vLLM: OpenClaw's context in, OpenClaw's events out, every
// request made by the component in its sandbox.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createStreamFn } from "../src/openclaw/provider.js";
import { resolveThinkingProfile } from "../src/openclaw/thinking-profiles.js";
import { wrapStreamFn } from "../src/openclaw/turn-settings.js";
import { chatMessages } from "../src/openclaw/request.js";
import { closeSandboxes, SANDBOXES_KEPT, sandboxCount, sandboxFor } from "../src/openclaw/sandboxes.js";
import { ComponentSandbox } from "../src/sandbox/index.js";
import { MODEL, startMockVllm } from "./support/mock-vllm.mjs";

const KEY = "sk-stream-fn-test";

async function collect(stream) {
  const events = [];
  for await (const event of stream) events.push(event);
  return { events, message: await stream.result() };
}

describe("createStreamFn", () => {
  let mock;
  let streamFn;
  let model;
  before(async () => {
    mock = await startMockVllm({ apiKey: KEY });
    const config = { plugins: { entries: { "vllm-wasm": { config: { baseUrl: mock.baseUrl } } } } };
    streamFn = createStreamFn({ config, provider: "vllm-wasm", modelId: MODEL });
    model = { id: MODEL, provider: "vllm-wasm", api: "openai-completions", baseUrl: mock.baseUrl, reasoning: true, input: ["text"], maxTokens: 256 };
  });
  after(async () => {
    await closeSandboxes();
    await mock.close();
  });

  test("text: start, one text block, done with usage", async () => {
    const context = { systemPrompt: "Be brief.", messages: [{ role: "user", content: "hi", timestamp: 1 }] };
    const { events, message } = await collect(streamFn(model, context, { apiKey: KEY, maxTokens: 64, temperature: 0 }));
    assert.deepEqual(
      events.map((e) => e.type),
      ["start", "text_start", "text_delta", "text_delta", "text_delta", "text_end", "done"],
    );
    assert.equal(events.at(-2).content, "Hello from the mock");
    assert.equal(message.stopReason, "stop");
    assert.deepEqual(message.content, [{ type: "text", text: "Hello from the mock" }]);
    assert.equal(message.usage.input, 12);
    assert.equal(message.usage.totalTokens, 17);
    const sent = mock.requests.at(-1);
    assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent.body.messages[0].role, "system");
    assert.equal(sent.body.max_completion_tokens, 64);
    assert.equal(sent.body.temperature, 0);
  });

  test("reasoning becomes a thinking block before the text", async () => {
    const context = { messages: [{ role: "user", content: [{ type: "text", text: "think about it" }], timestamp: 1 }] };
    const { events, message } = await collect(streamFn(model, context, { apiKey: KEY }));
    assert.deepEqual(
      events.filter((e) => e.type.endsWith("_start") || e.type.endsWith("_end")).map((e) => e.type),
      ["thinking_start", "thinking_end", "text_start", "text_end"],
    );
    assert.deepEqual(message.content, [
      { type: "thinking", thinking: "Let me think." },
      { type: "text", text: "Done thinking." },
    ]);
  });

  test("a tool call streams start, deltas and end, and the turn ends in toolUse", async () => {
    const context = {
      messages: [{ role: "user", content: "call a tool please", timestamp: 1 }],
      tools: [{ name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } }],
    };
    const { events, message } = await collect(streamFn(model, context, { apiKey: KEY }));
    const types = events.map((e) => e.type);
    assert.deepEqual(types.filter((t) => t.startsWith("toolcall")), ["toolcall_start", "toolcall_delta", "toolcall_delta", "toolcall_end"]);
    const end = events.find((e) => e.type === "toolcall_end");
    assert.deepEqual(end.toolCall, { type: "toolCall", id: "chatcmpl-tool-1", name: "get_weather", arguments: { city: "Paris" } });
    assert.equal(types.at(-1), "done");
    assert.equal(events.at(-1).reason, "toolUse");
    assert.equal(message.stopReason, "toolUse");
    const sent = mock.requests.at(-1).body;
    assert.equal(sent.tools[0].function.name, "get_weather");
  });

  test("the tool result goes back as a tool message after the assistant's call", () => {
    const messages = chatMessages({
      messages: [
        { role: "user", content: "weather?", timestamp: 1 },
        {
          role: "assistant",
          content: [{ type: "toolCall", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }],
          stopReason: "toolUse",
          timestamp: 2,
        },
        { role: "toolResult", toolCallId: "call_1", toolName: "get_weather", content: [{ type: "text", text: "Sunny" }], isError: false, timestamp: 3 },
        { role: "assistant", content: [], stopReason: "error", errorMessage: "boom", timestamp: 4 },
      ],
    });
    assert.deepEqual(messages, [
      { tag: "user", val: [{ tag: "text", val: "weather?" }] },
      { tag: "assistant", val: { text: undefined, reasoning: undefined, toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}', fromText: false }] } },
      { tag: "tool", val: { toolCallId: "call_1", content: "Sunny" } },
    ]);
  });

  test("OpenClaw's thinking level, the model's compat and the session id reach the wire", async () => {
    const context = { messages: [{ role: "user", content: "hi", timestamp: 1 }] };
    const qwen = { ...model, compat: { thinkingFormat: "qwen-chat-template", supportedReasoningEfforts: ["high"] } };
    await collect(streamFn(qwen, context, { apiKey: KEY, reasoning: "off", sessionId: "session-7" }));
    const off = mock.requests.at(-1);
    assert.deepEqual(off.body.chat_template_kwargs, { enable_thinking: false });
    assert.equal(off.headers["x-session-id"], "session-7");
    await collect(streamFn(qwen, context, { apiKey: KEY, reasoning: "high" }));
    const high = mock.requests.at(-1);
    assert.deepEqual(high.body.chat_template_kwargs, { enable_thinking: true, reasoning_effort: "high" });
    assert.equal(high.headers["x-session-id"], undefined);
    // A model without compat: nothing about thinking goes out.
    await collect(streamFn(model, context, { apiKey: KEY, reasoning: "off" }));
    assert.equal(mock.requests.at(-1).body.chat_template_kwargs, undefined);
  });

  test("wrapStreamFn passes the session's thinking level when the call's options carry none", async () => {
    const context = { messages: [{ role: "user", content: "hi", timestamp: 1 }] };
    const qwen = { ...model, compat: { thinkingFormat: "qwen-chat-template" } };
    const wrapped = wrapStreamFn({ provider: "vllm-wasm", modelId: MODEL, model: qwen, thinkingLevel: "off", streamFn });
    await collect(wrapped(qwen, context, { apiKey: KEY }));
    assert.deepEqual(mock.requests.at(-1).body.chat_template_kwargs, { enable_thinking: false });
    // A `reasoning` option the caller gave is the call's own choice and wins.
    await collect(wrapped(qwen, context, { apiKey: KEY, reasoning: "low" }));
    assert.deepEqual(mock.requests.at(-1).body.chat_template_kwargs, { enable_thinking: true });
    assert.equal(wrapStreamFn({ provider: "vllm-wasm", thinkingLevel: "off" }), undefined, "nothing to wrap");
  });

  test("wrapStreamFn sends the call's urgency as priority when the model's params opt in", async () => {
    const context = { messages: [{ role: "user", content: "hi", timestamp: 1 }] };
    const sent = async (ctx) => {
      const wrapped = wrapStreamFn({ provider: "vllm-wasm", modelId: MODEL, model, streamFn, ...ctx });
      await collect(wrapped(model, context, { apiKey: KEY }));
      return mock.requests.at(-1).body;
    };
    const optIn = { modelParams: { priorityScheduling: true } };
    assert.equal((await sent({ ...optIn, modelCallUrgency: "foreground" })).priority, -100);
    assert.equal((await sent({ ...optIn, modelCallUrgency: "background" })).priority, 100);
    assert.equal((await sent({ ...optIn, modelCallUrgency: "normal" })).priority, 0);
    assert.equal((await sent({ ...optIn })).priority, 0);
    for (const ctx of [{ modelCallUrgency: "foreground" }, { modelParams: { priorityScheduling: "yes" }, modelCallUrgency: "background" }]) {
      assert.ok(!("priority" in (await sent(ctx))), `no priority for ${JSON.stringify(ctx)}`);
    }
  });

  test("resolveThinkingProfile answers with the profile the component gave each configured model", async () => {
    const config = {
      plugins: { entries: { "vllm-wasm": { config: { baseUrl: mock.baseUrl } } } },
      models: {
        providers: {
          "vllm-wasm": {
            baseUrl: mock.baseUrl,
            models: [
              { id: MODEL, reasoning: true, compat: { thinkingFormat: "qwen-chat-template" } },
              { id: "effortful", reasoning: true, compat: { thinkingFormat: "qwen", supportedReasoningEfforts: ["low", "high"] } },
              { id: "plain-model", reasoning: false },
            ],
          },
        },
      },
    };
    const configured = createStreamFn({ config, provider: "vllm-wasm", modelId: MODEL });
    await collect(configured(model, { messages: [{ role: "user", content: "hi", timestamp: 1 }] }, { apiKey: KEY }));
    assert.deepEqual(resolveThinkingProfile({ provider: "vllm-wasm", modelId: MODEL, reasoning: true }), {
      levels: [{ id: "off" }, { id: "low", label: "on" }],
      defaultLevel: "off",
    });
    assert.deepEqual(resolveThinkingProfile({ provider: "vllm-wasm", modelId: "effortful", reasoning: true }), {
      levels: [{ id: "off" }, { id: "low" }, { id: "high" }],
      defaultLevel: "off",
    });
    assert.equal(resolveThinkingProfile({ provider: "vllm-wasm", modelId: "plain-model" }), null);
    assert.equal(resolveThinkingProfile({ provider: "vllm-wasm", modelId: MODEL, reasoning: false }), null, "OpenClaw's config says it does not reason");
    assert.equal(resolveThinkingProfile({ provider: "vllm-wasm", modelId: "never-seen" }), null);
  });

  test("a turn is one call into the sandbox: the worker resolves the config and streams", async () => {
    const counts = { resolveConfig: 0, resolveAndStream: 0 };
    const originals = {};
    for (const name of Object.keys(counts)) {
      originals[name] = ComponentSandbox.prototype[name];
      ComponentSandbox.prototype[name] = function (...args) {
        counts[name]++;
        return originals[name].apply(this, args);
      };
    }
    try {
      const qwen = { ...model, compat: { thinkingFormat: "qwen-chat-template" } };
      const { message } = await collect(streamFn(qwen, { messages: [{ role: "user", content: "hi", timestamp: 1 }] }, { apiKey: KEY, reasoning: "off" }));
      assert.equal(message.stopReason, "stop");
      assert.deepEqual(counts, { resolveConfig: 0, resolveAndStream: 1 });
      // OpenClaw's compat was laid over the resolved model in the worker.
      assert.deepEqual(mock.requests.at(-1).body.chat_template_kwargs, { enable_thinking: false });
    } finally {
      Object.assign(ComponentSandbox.prototype, originals);
    }
  });

  test("the plugin keeps at most SANDBOXES_KEPT sandboxes, retiring the least recently used", async () => {
    const first = sandboxFor("http://127.0.0.1:1/v1");
    for (let port = 2; port <= SANDBOXES_KEPT + 5; port++) sandboxFor(`http://127.0.0.1:${port}/v1`);
    assert.equal(sandboxCount(), SANDBOXES_KEPT);
    await assert.rejects(first.resolveConfig({ providerJson: undefined, env: [] }), /the sandbox was closed/);
    assert.notEqual(sandboxFor("http://127.0.0.1:1/v1"), first, "a retired sandbox is made anew");
  });

  test("a failed call (a wrong key) ends the stream with one error event, and nothing throws", async () => {
    const missing = { ...model, id: "no-such-model" };
    const context = { messages: [{ role: "user", content: "hi", timestamp: 1 }] };
    const wrongKey = await collect(streamFn(missing, context, { apiKey: "sk-wrong" }));
    assert.equal(wrongKey.events.at(-1).type, "error");
    assert.equal(wrongKey.events.at(-1).reason, "error");
    assert.equal(wrongKey.message.stopReason, "error");
    assert.equal(wrongKey.message.errorType, "auth");
    assert.ok(!wrongKey.message.errorMessage.includes("sk-wrong"));
    assert.match(wrongKey.message.errorMessage, /set VLLM_WASM_API_KEY \(or models\.providers\.vllm-wasm\.apiKey\)/);
  });

  test("a bad provider section is named as OpenClaw knows it: models.providers.vllm-wasm", async () => {
    const config = {
      plugins: { entries: { "vllm-wasm": { config: { baseUrl: mock.baseUrl } } } },
      models: { providers: { "vllm-wasm": { baseUrl: mock.baseUrl, headers: "not an object", models: [] } } },
    };
    const badFn = createStreamFn({ config, provider: "vllm-wasm", modelId: MODEL });
    const { events, message } = await collect(badFn(model, { messages: [{ role: "user", content: "hi", timestamp: 1 }] }, { apiKey: KEY }));
    assert.equal(events.at(-1).type, "error");
    assert.equal(message.errorType, "invalid-config");
    assert.match(message.errorMessage, /^invalid configuration at models\.providers\.vllm-wasm\.headers: /);
  });

  test("an abort ends the stream as aborted and closes the server's connection", async () => {
    const abort = new AbortController();
    const context = { messages: [{ role: "user", content: "go slow", timestamp: 1 }] };
    const before = mock.closedEarly.length;
    const stream = streamFn(model, context, { apiKey: KEY, signal: abort.signal });
    const events = [];
    for await (const event of stream) {
      events.push(event);
      if (event.type === "text_delta" && events.filter((e) => e.type === "text_delta").length === 2) abort.abort();
    }
    assert.equal(events.at(-1).type, "error");
    assert.equal(events.at(-1).reason, "aborted");
    assert.ok(events.at(-1).error.content[0].text.startsWith("tick tick"), "what arrived is kept");
    for (let i = 0; i < 100 && mock.closedEarly.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(mock.closedEarly.length, before + 1);
  });
});
