// The plugin as its users install it: the npm tarball `npm run pack` makes
// (host-harness/openclaw-plugin/scripts/pack.mjs), installed into a fresh
// OpenClaw state dir with `openclaw plugins install npm-pack:<tgz>`, with no
// cargo and no jco on the PATH OpenClaw runs with, then used against the
// real vLLM server (VLLM_OPENCLAW_BASE_URL) through a recording proxy.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OpenClawHome, PLUGIN_DIR } from "./support/openclaw.mjs";
import { startRecordingProxy, streamedReply } from "./support/recording-proxy.mjs";

const SERVER = process.env.VLLM_OPENCLAW_BASE_URL;
const KEY = "sk-openclaw-install-DO-NOT-PRINT-2468";
/** OpenClaw's npm install fetches the shim from the registry: it needs the machine's CA settings. */
const CA_VARS = ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"];

function bytesOnDisk(path) {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + bytesOnDisk(join(path, entry)), 0);
}

const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`;

describe("the packed plugin, installed as users install it", { skip: !SERVER && "VLLM_OPENCLAW_BASE_URL is not set (tests/run-all.sh sets it)" }, () => {
  let out;
  let tarball;
  let home;
  let proxy;
  let model;
  const env = () => ({
    VLLM_WASM_API_KEY: KEY,
    ...Object.fromEntries(CA_VARS.filter((name) => process.env[name]).map((name) => [name, process.env[name]])),
  });

  before(async () => {
    out = mkdtempSync(join(tmpdir(), "vllm-wasm-pack-"));
    // Packing is the publisher's step: it has cargo's build and jco.
    tarball = execFileSync(process.execPath, [join(PLUGIN_DIR, "scripts", "pack.mjs"), "--out", out], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    const response = await fetch(`${SERVER}/models`, { signal: AbortSignal.timeout(10_000) });
    model = (await response.json()).data[0];
    proxy = await startRecordingProxy(SERVER);
    home = new OpenClawHome("vllm-wasm-install");
  });
  after(async () => {
    home?.remove();
    await proxy?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test("the tarball holds the transpiled component and the plugin's code, and nothing to build", () => {
    const listing = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n");
    for (const file of ["package/index.js", "package/openclaw.plugin.json", "package/README.md", "package/generated/provider/provider.js", "package/src/sandbox/worker.js"]) {
      assert.ok(listing.includes(file), `${file} in ${listing.join(", ")}`);
    }
    const strays = listing.filter((f) => /\/(test|scripts|node_modules)\/|transpile\.js$|generated\/hostile/.test(f));
    assert.deepEqual(strays, [], "no tests, build scripts, jco glue or test components");
  });

  test("openclaw plugins install npm-pack: installs it with no cargo or jco in reach", async (t) => {
    const path = `${join(process.execPath, "..")}:/usr/bin:/bin`;
    for (const tool of ["cargo", "jco", "rustc"]) {
      for (const dir of path.split(":")) assert.ok(!existsSync(join(dir, tool)), `${tool} is reachable at ${dir}: the install would not prove it needs none`);
    }
    const result = await home.run(["plugins", "install", `npm-pack:${tarball}`, "--force", "--accept-capabilities"], { env: env(), timeoutMs: 300_000 });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout + result.stderr, /Installed plugin: vllm-wasm/);
    const installed = join(home.state, "npm", "projects");
    assert.ok(existsSync(installed), `OpenClaw installed into ${installed}`);
    t.diagnostic(`tarball ${kib(statSync(tarball).size)}; installed on disk ${kib(bytesOnDisk(installed))} (the plugin and the WASI shim)`);
    const inspect = await home.run(["plugins", "inspect", "vllm-wasm", "--json"], { env: env() });
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.json.plugin.status, "loaded");
    assert.ok(!JSON.stringify(inspect.json.plugin).includes(PLUGIN_DIR), "it runs from the installed copy, not the source tree");
  });

  test("the installed plugin discovers the server's models and answers a turn", async () => {
    const set = await home.run(["config", "set", "plugins.entries.vllm-wasm.config.baseUrl", proxy.baseUrl], { env: env() });
    assert.equal(set.code, 0, `${set.stdout}\n${set.stderr}`);
    const listed = await home.run(["models", "list", "--provider", "vllm-wasm", "--refresh", "--json"], { env: env() });
    assert.equal(listed.code, 0, listed.stderr);
    const entry = listed.json.models.find((m) => m.key === `vllm-wasm/${model.id}`);
    assert.ok(entry, JSON.stringify(listed.json.models));
    assert.equal(entry.contextWindow, model.max_model_len);
    const before = proxy.chats().length;
    const turn = await home.run(["infer", "model", "run", "--local", "--model", `vllm-wasm/${model.id}`, "--prompt", "Hello!", "--json"], { env: env() });
    assert.equal(turn.code, 0, `${turn.stdout}\n${turn.stderr}`);
    for (const output of [listed, turn]) assert.ok(!output.stdout.includes(KEY) && !output.stderr.includes(KEY), "the API key was printed");
    const chats = proxy.chats().slice(before);
    assert.equal(chats.length, 1);
    assert.equal(turn.json.outputs[0].text, streamedReply(chats[0].response).text);
  });
});
