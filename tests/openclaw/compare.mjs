#!/usr/bin/env node
// Our `vllm-wasm` provider beside OpenClaw's built-in `vllm`, in the same
// OpenClaw, against the same vLLM server (behind a recording proxy), and
// prints the side-by-side table host-harness/openclaw-plugin/README.md carries (Markdown, on stdout).
//
//   node tests/openclaw/compare.mjs --base-url http://127.0.0.1:PORT/v1
//
// Needs tests/openclaw/run to have installed everything (it prints what is
// missing otherwise).

import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { FORBIDDEN_FIELDS } from "./support/hygiene.mjs";
import { OpenClawHome, pluginConfig } from "./support/openclaw.mjs";
import { startRecordingProxy } from "./support/recording-proxy.mjs";

const { values } = parseArgs({ options: { "base-url": { type: "string" } } });
if (!values["base-url"]) {
  console.error("usage: node tests/openclaw/compare.mjs --base-url http://127.0.0.1:PORT/v1");
  process.exit(2);
}
const KEY = "sk-compare-not-a-secret";

const server = values["base-url"].replace(/\/+$/, "");
const served = (await (await fetch(`${server}/models`)).json()).data[0];
const proxy = await startRecordingProxy(server);
const closedPort = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

function configFor(provider, baseUrl) {
  if (provider === "vllm-wasm") return { plugins: pluginConfig(baseUrl) };
  return {
    models: { providers: { vllm: { baseUrl } } },
    agents: { defaults: { models: { "vllm/*": {} } } },
  };
}
const envFor = (provider) => (provider === "vllm-wasm" ? { VLLM_WASM_API_KEY: KEY } : { VLLM_API_KEY: KEY });

function firstLine(result) {
  const text = result.json?.error?.message ?? `${result.stderr}`.split("\n").find((l) => l.includes("Reason:")) ?? result.stderr;
  return String(text).replace(/^\[openclaw\] Reason: /, "").split("\n")[0].slice(0, 300);
}

async function measure(provider) {
  const home = new OpenClawHome(`compare-${provider}`);
  const out = { provider };
  try {
    home.writeConfig(configFor(provider, proxy.baseUrl));
    const env = envFor(provider);
    const listed = await home.run(["models", "list", "--provider", provider, "--refresh", "--json"], { env });
    const row = listed.json?.models?.find((m) => m.key === `${provider}/${served.id}`);
    out.contextWindow = row?.contextWindow ?? `not listed (exit ${listed.code})`;
    out.listMs = listed.ms;

    const before = proxy.chats().length;
    const infer = await home.run(["infer", "model", "run", "--local", "--model", `${provider}/${served.id}`, "--prompt", "Hello!", "--json"], { env });
    out.inferOk = infer.json?.ok === true;
    out.inferText = infer.json?.outputs?.[0]?.text ?? firstLine(infer);
    out.inferMs = infer.ms;
    const chat = proxy.chats()[before];
    out.fields = chat ? Object.keys(chat.body).sort() : [];
    out.forbidden = out.fields.filter((f) => FORBIDDEN_FIELDS.includes(f));
    out.headers = chat ? Object.keys(chat.headers).filter((h) => !["host", "connection", "content-length", "content-type", "accept"].includes(h)).sort() : [];

    const unknown = await home.run(["infer", "model", "run", "--local", "--model", `${provider}/no-such-model`, "--prompt", "Hello!", "--json"], { env });
    out.unknownModel = firstLine(unknown);

    home.writeConfig(configFor(provider, `http://127.0.0.1:${closedPort}/v1`));
    const down = await home.run(["infer", "model", "run", "--local", "--model", `${provider}/${served.id}`, "--prompt", "Hello!", "--json"], { env });
    out.serverDown = firstLine(down);
  } finally {
    home.remove();
  }
  return out;
}

const ours = await measure("vllm-wasm");
const builtin = await measure("vllm");
await proxy.close();

const cell = (v) => String(v).replaceAll("|", "\\|").replaceAll("\n", " ");
const rows = [
  ["Where the provider runs", "WebAssembly component in a worker thread: network only to the pinned server, no files, no env but what it is given, 64 MiB, time limit", "in OpenClaw's process, with its permissions"],
  [`Context window of \`${served.id}\` (server: max_model_len ${served.max_model_len})`, ours.contextWindow, builtin.contextWindow],
  ["`models list --refresh` (wall time, fresh process)", `${(ours.listMs / 1000).toFixed(1)} s`, `${(builtin.listMs / 1000).toFixed(1)} s`],
  ["`infer model run` \"Hello!\"", `${ours.inferOk ? "ok" : "failed"}: ${ours.inferText}`, `${builtin.inferOk ? "ok" : "failed"}: ${builtin.inferText}`],
  ["`infer model run` (wall time, fresh process)", `${(ours.inferMs / 1000).toFixed(1)} s`, `${(builtin.inferMs / 1000).toFixed(1)} s`],
  ["Body fields the server got", ours.fields.join(", "), builtin.fields.join(", ")],
  ["Fields vLLM does not want", ours.forbidden.join(", ") || "none", builtin.forbidden.join(", ") || "none"],
  ["Extra headers", ours.headers.join(", ") || "none", builtin.headers.join(", ") || "none"],
  ["Unknown model", ours.unknownModel, builtin.unknownModel],
  ["Server down", ours.serverDown, builtin.serverDown],
];
console.log(`| | \`vllm-wasm\` (this plugin) | built-in \`vllm\` |`);
console.log("|---|---|---|");
for (const [what, a, b] of rows) console.log(`| ${cell(what)} | ${cell(a)} | ${cell(b)} |`);
