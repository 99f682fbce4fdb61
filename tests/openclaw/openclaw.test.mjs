// Our plugin in the real OpenClaw (npm `openclaw`, run as its CLI) against a
// real vLLM server: the one tests/run-all.sh starts for this tier with the
// hermes tool parser, the qwen3 reasoning parser and a 16k context
// (VLLM_OPENCLAW_BASE_URL). A recording proxy sits in front of the server so
// that the tests see every request the server got.
//
// The agent turn runs OpenClaw's full agent prompt (about 3.5k tokens) with a
// narrowed tool set: the `minimal` profile plus one fixture tool, get_weather
// (fixtures/weather-tool), at temperature 0. The test model is tiny and
// trained on short chats; among OpenClaw's own ~40 tools it invents tool
// names, while it does call get_weather when that is offered.
//
//   VLLM_OPENCLAW_BASE_URL=http://127.0.0.1:PORT/v1 node --test tests/openclaw/

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FORBIDDEN_FIELDS, FORBIDDEN_HEADERS } from "./support/hygiene.mjs";
import { OpenClawHome, pluginConfig, WEATHER_TOOL_DIR } from "./support/openclaw.mjs";
import { startRecordingProxy, streamedReply } from "./support/recording-proxy.mjs";

const SERVER = process.env.VLLM_OPENCLAW_BASE_URL;
const KEY = "sk-openclaw-test-DO-NOT-PRINT-5678";

async function serverModel(baseUrl) {
  const response = await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200, `GET ${baseUrl}/models`);
  const { data } = await response.json();
  assert.ok(data.length > 0, "the server serves a model");
  return data[0];
}

function assertClean(exchange) {
  const fields = Object.keys(exchange.body ?? {});
  for (const field of FORBIDDEN_FIELDS) assert.ok(!fields.includes(field), `the request carried "${field}": ${fields.join(", ")}`);
  for (const header of FORBIDDEN_HEADERS) assert.ok(!(header in exchange.headers), `the request carried the ${header} header`);
}

describe("the vllm-wasm plugin in the real OpenClaw", { skip: !SERVER && "VLLM_OPENCLAW_BASE_URL is not set (tests/run-all.sh sets it)" }, () => {
  let proxy;
  let model;
  let home;
  const env = { VLLM_WASM_API_KEY: KEY };
  const modelRef = () => `vllm-wasm/${model.id}`;
  const noKeyPrinted = (result) => {
    assert.ok(!result.stdout.includes(KEY) && !result.stderr.includes(KEY), "the API key was printed");
  };

  before(async () => {
    model = await serverModel(SERVER);
    assert.ok(model.max_model_len >= 16384, `the agent turn needs a context of 16k or more; the server has ${model.max_model_len}`);
    proxy = await startRecordingProxy(SERVER);
    home = new OpenClawHome("vllm-wasm");
    const plugins = pluginConfig(proxy.baseUrl);
    plugins.load.paths.push(WEATHER_TOOL_DIR);
    plugins.entries["test-weather-tool"] = { enabled: true };
    home.writeConfig({
      plugins,
      tools: { profile: "minimal", alsoAllow: ["get_weather"], toolSearch: false },
      agents: { defaults: { models: { [`vllm-wasm/${model.id}`]: { params: { temperature: 0 } } } } },
    });
  });
  after(async () => {
    home?.remove();
    await proxy?.close();
  });

  test("OpenClaw loads the plugin and its provider", async () => {
    const result = await home.run(["plugins", "inspect", "vllm-wasm", "--json"], { env });
    assert.equal(result.code, 0, result.stderr);
    const { plugin } = result.json;
    assert.equal(plugin.status, "loaded");
    assert.deepEqual(plugin.providerIds, ["vllm-wasm"]);
  });

  test("models list shows the server's models with the server's context window", async () => {
    const before = proxy.exchanges.length;
    const result = await home.run(["models", "list", "--provider", "vllm-wasm", "--refresh", "--json"], { env });
    assert.equal(result.code, 0, result.stderr);
    noKeyPrinted(result);
    const listed = result.json.models.find((m) => m.key === modelRef());
    assert.ok(listed, `${modelRef()} in ${JSON.stringify(result.json.models)}`);
    assert.equal(listed.contextWindow, model.max_model_len);
    const discovery = proxy.exchanges.slice(before).filter((e) => e.url.endsWith("/models"));
    assert.ok(discovery.length > 0, "the component asked the server for its models");
    assert.equal(discovery[0].headers.authorization, `Bearer ${KEY}`);
  });

  test("infer model run returns the text the server streamed through the component", async () => {
    const before = proxy.chats().length;
    const result = await home.run(
      ["infer", "model", "run", "--local", "--model", modelRef(), "--prompt", "Hello!", "--json"],
      { env },
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    noKeyPrinted(result);
    assert.equal(result.json.ok, true);
    const chats = proxy.chats().slice(before);
    assert.equal(chats.length, 1, "one chat request reached the server");
    const [chat] = chats;
    assert.equal(chat.body.stream, true);
    assert.equal(chat.body.model, model.id);
    assert.ok(chat.body.stream_options?.include_usage, "usage is asked for");
    assertClean(chat);
    const served = streamedReply(chat.response).text;
    assert.ok(served.length > 0, "the server produced text");
    assert.equal(result.json.outputs[0].text, served);
  });

  test("an agent turn completes with a tool call that went through the component", async (t) => {
    // The tiny test model attends through a sliding window and was trained
    // on agent-style prompts, so OpenClaw's 3.5k-token agent prompt leaves
    // it calling get_weather. The prompt names the workspace and the date;
    // should some day's prompt still throw the model off, a fresh workspace
    // gives it another: each attempt is an isolated `agent exec`, and what
    // follows checks the first in which OpenClaw ran the tool.
    const attempts = 3;
    let before, toolLog, result;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      before = proxy.chats().length;
      toolLog = join(home.dir, `weather-tool-${attempt}.log`);
      const workspace = mkdtempSync(join(home.dir, "workspace-"));
      result = await home.run(
        [
          "agent",
          "exec",
          "What's the weather in Paris?",
          "--model",
          modelRef(),
          "--config",
          home.configPath,
          "--cwd",
          workspace,
          "--timeout",
          "180",
          "--json",
        ],
        { env: { ...env, WEATHER_TOOL_LOG: toolLog }, timeoutMs: 300_000 },
      );
      noKeyPrinted(result);
      if (existsSync(toolLog)) break;
      const replies = proxy.chats().slice(before).map((chat) => streamedReply(chat.response));
      t.diagnostic(
        `attempt ${attempt} of ${attempts}: OpenClaw ran no tool; the server streamed ` +
          JSON.stringify(replies.map((reply) => ({ text: reply.text.slice(0, 200), toolCalls: reply.toolCalls }))),
      );
    }
    assert.ok(result.json, `openclaw agent exec printed its JSON result: ${result.stdout}\n${result.stderr}`);
    assert.equal(result.json.status, "ok", `${result.stdout}\n${result.stderr}`);
    assert.equal(result.code, 0);
    assert.equal(result.json.provider, "vllm-wasm");
    const chats = proxy.chats().slice(before);
    assert.ok(chats.length >= 2, `a tool call and a turn after its result (${chats.length} chat requests)`);
    const first = chats[0];
    const promptTokens = streamedReply(first.response).usage?.prompt_tokens ?? 0;
    assert.ok(promptTokens > 2048, `OpenClaw's agent prompt (${promptTokens} tokens) does not fit the conformance servers' 2k context`);
    assert.ok(first.body.tools.some((t) => t.function.name === "get_weather"), "the fixture tool was offered");
    // OpenClaw ran the tool with arguments the component parsed out of the stream...
    const ran = readFileSync(toolLog, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(ran.length >= 1, "OpenClaw ran get_weather");
    assert.equal(typeof ran[0].params.city, "string");
    // ...from a call the server streamed (parsed by its hermes parser, or
    // as text the component recovered the call from), and sent the result
    // back through the component.
    const replies = chats.map((chat) => streamedReply(chat.response));
    const city = JSON.stringify(ran[0].params.city);
    assert.ok(
      replies.some(
        (reply) =>
          reply.toolCalls.some((call) => call.name === "get_weather" && call.arguments.includes(city)) ||
          (reply.text.includes('"name": "get_weather"') && reply.text.includes(city)),
      ),
      `the server streamed get_weather for ${ran[0].params.city}`,
    );
    const answered = `Sunny, 22 C in ${ran[0].params.city}`;
    const later = chats.find((chat) => chat.body.messages.some((m) => m.role === "tool" && String(m.content).includes(answered)));
    assert.ok(later, "a later request carried the tool's result");
    const call = later.body.messages.find((m) => m.role === "assistant" && m.tool_calls?.some((c) => c.function.name === "get_weather"));
    assert.ok(call, "and the assistant's tool call before it");
    for (const chat of chats) assertClean(chat);
    t.diagnostic(
      `agent turn: ${chats.length} model calls, prompt ${promptTokens} tokens, get_weather ran ${ran.length} time(s) ` +
        `(first for ${JSON.stringify(ran[0].params.city)}), ${Math.round(result.ms)} ms`,
    );
  });

  test("openclaw vllm-wasm doctor passes every check against the server, through the component", async () => {
    const result = await home.run(["vllm-wasm", "doctor", "--json"], { env });
    noKeyPrinted(result);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(result.json.ok, true);
    assert.deepEqual(
      result.json.checks.map((c) => [c.name, c.status]),
      ["config", "reachable", "health", "version", "auth", "models", "completion", "tools"].map((name) => [name, "pass"]),
    );
    assert.equal(result.json.checks.find((c) => c.name === "version").detail, "vLLM 0.32.0");
    const text = await home.run(["vllm-wasm", "doctor"], { env });
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ok    config {6}base URL /);
    assert.match(text.stdout, /all 8 checks passed\n$/);
  });

  test("the request the server saw carries none of the forbidden fields or headers", () => {
    const chats = proxy.chats();
    assert.ok(chats.length >= 3);
    for (const chat of chats) assertClean(chat);
  });
});

describe("beside the built-in vllm", { skip: !SERVER && "VLLM_OPENCLAW_BASE_URL is not set" }, () => {
  test("both providers list the same server's model under their own ids", async () => {
    const model = await serverModel(SERVER);
    const home = new OpenClawHome("vllm-both");
    try {
      home.writeConfig({
        plugins: pluginConfig(SERVER),
        models: { providers: { vllm: { baseUrl: SERVER } } },
        // The built-in discovers only with its wildcard; listing both needs both.
        agents: { defaults: { models: { "vllm/*": {}, "vllm-wasm/*": {} } } },
      });
      const result = await home.run(["models", "list", "--refresh", "--json"], {
        env: { VLLM_WASM_API_KEY: KEY, VLLM_API_KEY: KEY },
      });
      assert.equal(result.code, 0, result.stderr);
      const windows = Object.fromEntries(result.json.models.map((m) => [m.key, m.contextWindow]));
      assert.equal(windows[`vllm-wasm/${model.id}`], model.max_model_len, JSON.stringify(windows));
      assert.ok(`vllm/${model.id}` in windows, JSON.stringify(windows));
    } finally {
      home.remove();
    }
  });
});

describe("openclaw vllm-wasm doctor when the server is not there", () => {
  test("it fails reachable with exit 3 and the fix, and skips the rest", async () => {
    const port = await new Promise((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address();
        probe.close(() => resolve(free));
      });
    });
    const home = new OpenClawHome("vllm-wasm-doctor");
    try {
      home.writeConfig({ plugins: pluginConfig(`http://127.0.0.1:${port}/v1`) });
      const result = await home.run(["vllm-wasm", "doctor"], { env: { VLLM_WASM_API_KEY: KEY } });
      assert.equal(result.code, 3, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, new RegExp(`FAIL  reachable   could not connect to 127\\.0\\.0\\.1:${port}`));
      assert.match(result.stdout, /fix: start vLLM/);
      assert.match(result.stdout, /skip  health/);
      assert.match(result.stdout, /1 of 8 checks failed\n$/);
      assert.ok(!result.stdout.includes(KEY) && !result.stderr.includes(KEY));
    } finally {
      home.remove();
    }
  });
});

describe("the sandbox inside OpenClaw", { skip: !SERVER && "VLLM_OPENCLAW_BASE_URL is not set" }, () => {
  test("a provider section naming another host is refused; nothing reaches that host", async () => {
    const model = await serverModel(SERVER);
    const proxy = await startRecordingProxy(SERVER);
    const connections = [];
    const other = createServer((socket) => {
      connections.push(socket.remoteAddress);
      socket.destroy();
    });
    await new Promise((resolve) => other.listen(0, "127.0.0.1", resolve));
    const home = new OpenClawHome("vllm-wasm-denied");
    try {
      home.writeConfig({
        plugins: pluginConfig(proxy.baseUrl),
        models: {
          providers: {
            "vllm-wasm": {
              baseUrl: `http://127.0.0.1:${other.address().port}/v1`,
              api: "openai-completions",
              models: [
                {
                  id: model.id,
                  name: model.id,
                  reasoning: false,
                  input: ["text"],
                  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                  contextWindow: model.max_model_len,
                  maxTokens: 256,
                },
              ],
            },
          },
        },
      });
      const result = await home.run(
        ["infer", "model", "run", "--local", "--model", `vllm-wasm/${model.id}`, "--prompt", "Hello!", "--json"],
        { env: { VLLM_WASM_API_KEY: KEY } },
      );
      assert.notEqual(result.code, 0, "the turn fails");
      assert.match(`${result.stdout}\n${result.stderr}`, /refused a request to 127\.0\.0\.1:\d+/);
      assert.deepEqual(connections, [], "nothing connected to the other host");
      assert.equal(proxy.chats().length, 0, "and nothing went to the pinned server either");
    } finally {
      home.remove();
      await new Promise((resolve) => other.close(resolve));
      await proxy.close();
    }
  });
});

describe("thinking control through OpenClaw", { skip: !SERVER && "VLLM_OPENCLAW_BASE_URL is not set" }, () => {
  // A model OpenClaw's config says has a Qwen 3 style template: OpenClaw
  // decides the thinking level (here its `--thinking`) and the component
  // puts it on the wire by the model's compat.
  let proxy;
  let model;
  let home;
  const env = { VLLM_WASM_API_KEY: KEY };
  const kwargsOf = (chat) => chat.body.chat_template_kwargs;

  before(async () => {
    model = await serverModel(SERVER);
    proxy = await startRecordingProxy(SERVER);
    home = new OpenClawHome("vllm-wasm-thinking");
    home.writeConfig({
      plugins: pluginConfig(proxy.baseUrl),
      models: {
        providers: {
          "vllm-wasm": {
            baseUrl: proxy.baseUrl,
            api: "openai-completions",
            models: [
              {
                id: model.id,
                name: model.id,
                reasoning: true,
                input: ["text"],
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                contextWindow: model.max_model_len,
                maxTokens: 256,
                compat: { thinkingFormat: "qwen-chat-template" },
              },
            ],
          },
        },
      },
      tools: { profile: "minimal", toolSearch: false },
      agents: { defaults: { models: { [`vllm-wasm/${model.id}`]: { params: { temperature: 0 } } } } },
    });
  });
  after(async () => {
    home?.remove();
    await proxy?.close();
  });

  const inferTurn = async (thinking) => {
    const before = proxy.chats().length;
    const args = ["infer", "model", "run", "--local", "--model", `vllm-wasm/${model.id}`, "--prompt", "Hello!", "--json"];
    if (thinking) args.push("--thinking", thinking);
    const result = await home.run(args, { env });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const chats = proxy.chats().slice(before);
    assert.equal(chats.length, 1, `one chat request for --thinking ${thinking}`);
    return chats[0];
  };

  test("infer model run: --thinking off and on reach the template's switch", async () => {
    assert.deepEqual(kwargsOf(await inferTurn("off")), { enable_thinking: false });
    assert.deepEqual(kwargsOf(await inferTurn("low")), { enable_thinking: true });
  });

  test("a headless agent turn with --thinking off sends enable_thinking: false", async (t) => {
    const before = proxy.chats().length;
    const workspace = mkdtempSync(join(home.dir, "workspace-"));
    const result = await home.run(
      ["agent", "exec", "Hello!", "--model", `vllm-wasm/${model.id}`, "--config", home.configPath, "--cwd", workspace, "--thinking", "off", "--timeout", "180", "--json"],
      { env, timeoutMs: 300_000 },
    );
    assert.ok(!result.stdout.includes(KEY) && !result.stderr.includes(KEY), "the API key was printed");
    const chats = proxy.chats().slice(before);
    assert.ok(chats.length >= 1, `the agent turn reached the server: ${result.stdout}\n${result.stderr}`);
    for (const chat of chats) assert.deepEqual(kwargsOf(chat), { enable_thinking: false });
    assert.equal(result.json?.status, "ok", `${result.stdout}\n${result.stderr}`);
    t.diagnostic(`agent turn with thinking off: ${chats.length} model call(s), ${Math.round(result.ms)} ms`);
  });
});
