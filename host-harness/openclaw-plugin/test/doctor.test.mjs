// `openclaw vllm-wasm doctor`'s logic against the loopback mock vLLM: the
// component's checks through the sandbox, the report in vllm-harness
// doctor's shape, and the exit code of the first failure.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runDoctor } from "../src/openclaw/cli.js";
import { exitCodeOf } from "../src/openclaw/doctor.js";
import { startMockVllm } from "./support/mock-vllm.mjs";

const KEY = "sk-doctor-test";

function sink() {
  let text = "";
  return { write: (chunk) => (text += chunk), get text() { return text; } };
}

describe("the doctor command", () => {
  let mock;
  const saved = { key: process.env.VLLM_WASM_API_KEY, exitCode: process.exitCode };
  before(async () => {
    mock = await startMockVllm({ apiKey: KEY });
  });
  after(async () => {
    await mock.close();
    if (saved.key === undefined) delete process.env.VLLM_WASM_API_KEY;
    else process.env.VLLM_WASM_API_KEY = saved.key;
    process.exitCode = saved.exitCode;
  });
  const config = () => ({ plugins: { entries: { "vllm-wasm": { config: { baseUrl: mock.baseUrl } } } } });

  test("a wrong key fails auth naming this plugin's variable, the key never printed", async () => {
    process.env.VLLM_WASM_API_KEY = "sk-wrong-DO-NOT-PRINT";
    const out = sink();
    await runDoctor({ config: config(), json: true }, out);
    const report = JSON.parse(out.text);
    assert.equal(report.ok, false);
    const auth = report.checks.find((c) => c.name === "auth");
    assert.equal(auth.status, "fail");
    assert.equal(auth.error, "auth");
    assert.match(auth.fix, /set VLLM_WASM_API_KEY \(or models\.providers\.vllm-wasm\.apiKey\)/);
    // The exit code is the first failure's (this mock also guards /health).
    const first = report.checks.find((c) => c.status === "fail");
    assert.equal(report.exitCode, first.name === "auth" ? 4 : 1);
    assert.equal(process.exitCode, report.exitCode);
    assert.ok(!out.text.includes("sk-wrong-DO-NOT-PRINT"));
  });

  test("a server that is not there fails reachable with exit 3", async () => {
    const gone = await startMockVllm();
    const url = gone.baseUrl;
    await gone.close();
    const out = sink();
    await runDoctor({ config: { plugins: { entries: { "vllm-wasm": { config: { baseUrl: url } } } } }, json: false }, out);
    assert.equal(process.exitCode, 3);
    assert.match(out.text, /\nFAIL  reachable   could not connect to /);
    assert.match(out.text, /\n1 of 8 checks failed\n$/);
  });

  test("the right key passes the config, auth and models checks, in text as vllm-harness prints it", async () => {
    process.env.VLLM_WASM_API_KEY = KEY;
    const out = sink();
    await runDoctor({ config: config(), json: false }, out);
    assert.match(out.text, new RegExp(`^ok    config      base URL ${mock.baseUrl.replace(/[.]/g, "\\.")}, API key set, discover mode\n`));
    assert.match(out.text, /\nok    auth {8}/);
    assert.match(out.text, /\nok    models {6}/);
    assert.ok(!out.text.includes(KEY));
  });

  test("a broken provider section fails the config check with exit 2, named in our section", async () => {
    const broken = { ...config(), models: { providers: { "vllm-wasm": { baseUrl: mock.baseUrl, headers: "no", models: [] } } } };
    const out = sink();
    const lines = await runDoctor({ config: broken, json: false }, out);
    assert.equal(lines.length, 1);
    assert.equal(process.exitCode, 2);
    assert.match(out.text, /^FAIL  config      invalid configuration at models\.providers\.vllm-wasm\.headers: /);
  });

  test("error kinds map to vllm-harness's exit codes", () => {
    const codes = ["invalid-config", "connection", "auth", "model-not-found", "context-length-exceeded", "bad-request", "denied", "server", "timeout"].map((tag) => exitCodeOf({ tag }));
    assert.deepEqual(codes, [2, 3, 4, 5, 5, 5, 6, 1, 1]);
  });
});
