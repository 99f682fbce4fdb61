// The Node sandbox with real components: the provider against a loopback
// mock vLLM, and the hostile test component (tests/hostile-plugin) trying to
// get out. Run with `node --test test/` after `npm run build`.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { ComponentSandbox, ProviderError, SandboxError, STREAM_WINDOW } from "../src/sandbox/index.js";
import { generatedDir } from "../src/sandbox/paths.js";
import { MAX_MODEL_LEN, MODEL, startMockVllm } from "./support/mock-vllm.mjs";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { transpileInto } from "../src/sandbox/transpile.js";

const configInput = (baseUrl, extra = {}) => ({
  providerJson: JSON.stringify({ baseUrl, ...extra }),
  env: [],
  authProfileKey: undefined,
  baseUrlOverride: undefined,
});

const userRequest = (text, extra = {}) => ({
  model: MODEL,
  messages: [{ tag: "user", val: [{ tag: "text", val: text }] }],
  tools: [],
  toolChoice: undefined,
  sampling: { stop: [] },
  chatTemplateKwargsJson: undefined,
  structuredOutput: undefined,
  ...extra,
});

const weatherTool = {
  name: "get_weather",
  description: "Weather in a city",
  parametersJson: JSON.stringify({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }),
};

/** A TCP listener that counts connections: proof that nothing reached it. */
async function listener(host, port) {
  const connections = [];
  const server = createServer((socket) => {
    connections.push(socket.remoteAddress);
    socket.destroy();
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { connections, port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("the provider component in the Node sandbox", () => {
  let mock;
  let sandbox;
  let config;
  before(async () => {
    mock = await startMockVllm({ apiKey: "sk-sandbox-test" });
    sandbox = new ComponentSandbox({ allowedUrl: mock.baseUrl });
    config = await sandbox.resolveConfig(configInput(mock.baseUrl, { apiKey: "sk-sandbox-test" }));
  });
  after(async () => {
    await sandbox.close();
    await mock.close();
  });

  test("resolves the configuration the operator wrote", () => {
    assert.equal(config.baseUrl, mock.baseUrl);
    assert.equal(config.mode, "discover");
    assert.equal(config.apiKey, "sk-sandbox-test");
  });

  test("discovers the server's models with max_model_len as the context window", async () => {
    const models = await sandbox.discoverModels(config);
    assert.deepEqual(models.map((m) => [m.id, m.contextWindow]), [[MODEL, MAX_MODEL_LEN]]);
    const seen = mock.requests.at(-1);
    assert.equal(seen.url, "/v1/models");
    assert.equal(seen.headers.authorization, "Bearer sk-sandbox-test");
  });

  test("completes a chat", async () => {
    const completion = await sandbox.complete(config, userRequest("hi"));
    assert.equal(completion.text, "Hello from the mock");
    assert.deepEqual(completion.finishReason, { tag: "stop" });
  });

  test("streams a tool call as start, deltas and end", async () => {
    const events = [];
    for await (const batch of sandbox.stream(config, userRequest("please call a tool", { tools: [weatherTool] }))) {
      events.push(...batch);
    }
    const tags = events.map((e) => e.tag);
    assert.ok(tags.includes("tool-call-start"), tags.join(","));
    const end = events.find((e) => e.tag === "tool-call-end");
    assert.deepEqual(JSON.parse(end.val.arguments), { city: "Paris" });
    assert.deepEqual(events.at(-1), { tag: "finish", val: { tag: "tool-calls" } });
  });

  test("streams reasoning apart from text", async () => {
    const events = [];
    for await (const batch of sandbox.stream(config, userRequest("think first"))) events.push(...batch);
    const join = (tag) => events.filter((e) => e.tag === tag).map((e) => e.val).join("");
    assert.equal(join("reasoning-delta"), "Let me think.");
    assert.equal(join("text-delta"), "Done thinking.");
  });

  test("an aborted stream stops its worker and closes the server's connection", async () => {
    const abort = new AbortController();
    let batches = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of sandbox.stream(config, userRequest("go slow"), { signal: abort.signal })) {
          if (++batches === 2) abort.abort();
        }
      })(),
      (error) => error instanceof SandboxError && error.kind === "aborted",
    );
    for (let i = 0; i < 100 && mock.closedEarly.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(mock.closedEarly.length, 1, "the server saw the connection close before the stream ended");
    // The sandbox still serves the next call, from a new worker.
    assert.equal((await sandbox.complete(config, userRequest("hi"))).text, "Hello from the mock");
  });

  test("a slow consumer holds the stream back: at most STREAM_WINDOW batches wait", async () => {
    const stream = sandbox.stream(config, userRequest("go slow"));
    let most = 0;
    let read = 0;
    for await (const _ of stream) {
      read++;
      // The server sends a batch every 25 ms; this consumer takes one per 150 ms.
      await new Promise((r) => setTimeout(r, 150));
      most = Math.max(most, stream.buffered);
      if (read === 12) break;
    }
    assert.ok(most >= STREAM_WINDOW - 1, `the window filled (at most ${most} waited)`);
    assert.ok(most <= STREAM_WINDOW, `no more than ${STREAM_WINDOW} batches waited; ${most} did`);
  });

  test("leaving a stream early also ends the call", async () => {
    const before = mock.closedEarly.length;
    for await (const _ of sandbox.stream(config, userRequest("go slow"))) break;
    for (let i = 0; i < 100 && mock.closedEarly.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(mock.closedEarly.length, before + 1);
  });

  test("a server slower to answer than the 10 s connect limit is still answered", async () => {
    // The plugin's connect limit is min(timeoutSeconds, 10 s); the head comes after 10.5 s.
    const late = await startMockVllm({ headDelayMs: 10_500 });
    const box = new ComponentSandbox({ allowedUrl: late.baseUrl });
    try {
      const lateConfig = await box.resolveConfig(configInput(late.baseUrl));
      assert.equal((await box.complete(lateConfig, userRequest("late head please"))).text, "Hello from the mock");
    } finally {
      await box.close();
      await late.close();
    }
  });

  test("calls past maxWorkers wait for a worker, and all are answered", async () => {
    const one = new ComponentSandbox({ allowedUrl: mock.baseUrl, maxWorkers: 1 });
    try {
      const slow = (async () => {
        let ticks = 0;
        for await (const batch of one.stream(config, userRequest("go slow"))) {
          ticks += batch.filter((e) => e.tag === "text-delta").length;
          if (ticks >= 5) break;
        }
        return ticks;
      })();
      const answers = await Promise.all([slow, one.complete(config, userRequest("hi")), one.complete(config, userRequest("hi"))]);
      assert.ok(answers[0] >= 5);
      assert.deepEqual(answers.slice(1).map((c) => c.text), ["Hello from the mock", "Hello from the mock"]);
    } finally {
      await one.close();
    }
  });

  test("a call aborted while it waits for a worker fails at once and never runs", async () => {
    const one = new ComponentSandbox({ allowedUrl: mock.baseUrl, maxWorkers: 1 });
    try {
      const busy = one.stream(config, userRequest("go slow"));
      await busy.next();
      const chatsBefore = mock.requests.filter((r) => r.url === "/v1/chat/completions").length;
      const abort = new AbortController();
      const waiting = one.complete(config, userRequest("hi"), { signal: abort.signal });
      abort.abort();
      await assert.rejects(waiting, (error) => error instanceof SandboxError && error.kind === "aborted");
      await busy.return();
      // The worker is free again: the next call runs, and it is the only one that reached the server.
      assert.equal((await one.complete(config, userRequest("hi"))).text, "Hello from the mock");
      assert.equal(mock.requests.filter((r) => r.url === "/v1/chat/completions").length, chatsBefore + 1);
    } finally {
      await one.close();
    }
  });

  test("retire() lets a running call finish and takes no new one", async () => {
    const box = new ComponentSandbox({ allowedUrl: mock.baseUrl });
    const running = box.complete(config, userRequest("hi"));
    await box.retire();
    assert.equal((await running).text, "Hello from the mock");
    await assert.rejects(box.complete(config, userRequest("hi")), (error) => error instanceof SandboxError && error.kind === "aborted");
  });

  test("close() ends running calls as aborted and closes their connections", async () => {
    const box = new ComponentSandbox({ allowedUrl: mock.baseUrl });
    const before = mock.closedEarly.length;
    const running = box.stream(config, userRequest("go slow"));
    await running.next();
    const rest = (async () => {
      for await (const _ of running);
    })();
    await box.close();
    await assert.rejects(rest, (error) => error instanceof SandboxError && error.kind === "aborted");
    for (let i = 0; i < 100 && mock.closedEarly.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(mock.closedEarly.length, before + 1, "the server saw the connection close");
    await assert.rejects(box.complete(config, userRequest("hi")), (error) => error instanceof SandboxError && error.kind === "aborted");
  });

  test("a wrong key is the component's typed auth error", async () => {
    const wrong = await sandbox.resolveConfig(configInput(mock.baseUrl, { apiKey: "sk-wrong" }));
    await assert.rejects(sandbox.discoverModels(wrong), (error) => {
      assert.ok(error instanceof ProviderError);
      assert.equal(error.kind, "auth");
      assert.ok(!error.message.includes("sk-wrong"), "the key is not in the message");
      return true;
    });
  });

  test("a base URL other than the allowed one is refused before any connection", async () => {
    const elsewhere = await listener("127.0.0.1", 0);
    try {
      const other = `http://127.0.0.1:${elsewhere.port}/v1`;
      const redirected = await sandbox.resolveConfig(configInput(other));
      await assert.rejects(sandbox.discoverModels(redirected), (error) => {
        assert.ok(error instanceof ProviderError);
        assert.equal(error.kind, "denied");
        return true;
      });
      assert.deepEqual(elsewhere.connections, []);
      assert.equal(sandbox.denied.at(-1), `http://127.0.0.1:${elsewhere.port}`);
    } finally {
      await elsewhere.close();
    }
  });
});

const hostileBuilt = existsSync(generatedDir("hostile"));

describe("the hostile component in the Node sandbox", { skip: !hostileBuilt && "the hostile component is not built" }, () => {
  let mock;
  let sandbox;
  let config;
  const attack = async (name, box = sandbox) => box.complete(config, userRequest(`attack ${name}`, { model: name }));
  before(async () => {
    mock = await startMockVllm();
    sandbox = new ComponentSandbox({ allowedUrl: mock.baseUrl, component: "hostile", callTimeoutMs: 3000 });
    // The hostile component takes its base URL from the override only.
    config = await sandbox.resolveConfig({ ...configInput(mock.baseUrl), baseUrlOverride: mock.baseUrl });
  });
  after(async () => {
    await sandbox.close();
    await mock.close();
  });

  test("is served when it behaves", async () => {
    assert.equal((await attack("echo")).text, "ok");
  });

  for (const [name, host, portShift] of [
    ["other-host", "127.0.0.2", 0],
    ["other-port", "127.0.0.1", 1],
  ]) {
    test(`${name}: the request is refused and nothing reaches the other listener`, async (t) => {
      let target;
      try {
        target = await listener(host, mock.port + portShift);
      } catch (error) {
        t.skip(`cannot listen on ${host}:${mock.port + portShift}: ${error.code}`);
        return;
      }
      try {
        await assert.rejects(attack(name), (error) => {
          assert.ok(error instanceof ProviderError, String(error));
          assert.equal(error.kind, "denied");
          assert.match(error.message, /HTTP-request-denied|HttpRequestDenied/);
          return true;
        });
        assert.deepEqual(target.connections, []);
        assert.equal(sandbox.denied.at(-1), `http://${host}:${mock.port + portShift}`);
      } finally {
        await target.close();
      }
    });
  }

  test("other-scheme: an ftp:// request to the allowed authority is refused", async () => {
    await assert.rejects(attack("other-scheme"), (error) => error instanceof ProviderError && error.kind === "denied");
    assert.equal(sandbox.denied.at(-1), `ftp://127.0.0.1:${mock.port}`);
  });

  test("env: the component sees none of the host's variables", async () => {
    await assert.rejects(attack("env"), (error) => {
      assert.ok(error instanceof ProviderError);
      assert.match(error.message, /sees only \[\]/);
      return true;
    });
  });

  test("memory: growing past the cap traps, and the next call is served", async () => {
    const small = new ComponentSandbox({ allowedUrl: mock.baseUrl, component: "hostile", memoryLimitBytes: 16 * 1024 * 1024 });
    try {
      await assert.rejects(attack("memory", small), (error) => error instanceof SandboxError && error.kind === "trap");
      assert.equal((await attack("echo", small)).text, "ok");
    } finally {
      await small.close();
    }
  });

  test("heap: a worker whose JavaScript heap outgrows its cap is stopped, and the next call is served", async () => {
    // huge-list's 100 001 records fit the component's memory but not a 16 MiB heap.
    const small = new ComponentSandbox({ allowedUrl: mock.baseUrl, component: "hostile", heapLimitBytes: 16 * 1024 * 1024 });
    try {
      await assert.rejects(attack("huge-list", small), (error) => {
        assert.ok(error instanceof SandboxError, String(error));
        assert.equal(error.kind, "worker");
        assert.match(error.message, /JavaScript heap went past the 16 MiB limit .*heapLimitMiB/);
        return true;
      });
      assert.equal((await attack("echo", small)).text, "ok");
    } finally {
      await small.close();
    }
  });

  for (const name of ["huge-text", "huge-list", "huge-error"]) {
    test(`${name}: an answer past the size limits is refused in the worker`, async () => {
      await assert.rejects(attack(name), (error) => {
        assert.ok(error instanceof SandboxError, String(error));
        assert.equal(error.kind, "oversize");
        assert.match(error.message, /more than (32 MiB of text|100000 list items)/);
        return true;
      });
    });
  }

  test("a streamed huge answer is refused per batch", async () => {
    const stream = sandbox.stream(config, userRequest("attack", { model: "huge-text" }));
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (error) => error instanceof SandboxError && error.kind === "oversize",
    );
  });

  test("loop: a call past the time limit is stopped, and the next call is served", async () => {
    const started = Date.now();
    await assert.rejects(attack("loop"), (error) => error instanceof SandboxError && error.kind === "timeout");
    assert.ok(Date.now() - started < 30_000);
    assert.equal((await attack("echo")).text, "ok");
  });
});

/**
 * A component of the given world (WIT source, nested packages allowed),
 * with dummy function bodies, transpiled into a temp folder.
 */
async function dummyComponent(name, witSource, world) {
  const core = await componentEmbed({ dummy: true, witSource, world });
  const dir = mkdtempSync(join(tmpdir(), `sandbox-${name}-`));
  await transpileInto(await componentNew(core), join(dir, name), name, `dummy ${world}`);
  return { dir: join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("components that ask for more than the sandbox grants", () => {
  test("one that imports files and sockets is refused before anything runs, naming both", async () => {
    const greedy = await dummyComponent(
      "greedy",
      `package test:greedy;
package wasi:filesystem@0.2.12 { interface preopens { get-directories: func() -> list<string>; } }
package wasi:sockets@0.2.12 { interface tcp-create-socket { create: func() -> u32; } }
package vllm:provider@0.1.0 { interface provider { resolve-config: func() -> string; } }
world greedy {
  import wasi:filesystem/preopens@0.2.12;
  import wasi:sockets/tcp-create-socket@0.2.12;
  export vllm:provider/provider@0.1.0;
}`,
      "greedy",
    );
    try {
      assert.throws(
        () => new ComponentSandbox({ allowedUrl: "http://127.0.0.1:8000/v1", component: "greedy", componentDir: greedy.dir }),
        (error) => {
          assert.ok(error instanceof SandboxError);
          assert.equal(error.kind, "forbidden");
          assert.match(error.message, /imports wasi:filesystem\/preopens, wasi:sockets\/tcp-create-socket, which this sandbox does not grant/);
          return true;
        },
      );
    } finally {
      greedy.remove();
    }
  });

  test("one that exports no provider is refused", async () => {
    const other = await dummyComponent(
      "other",
      `package test:other;
interface greeter { greet: func() -> string; }
world other { export greeter; }`,
      "other",
    );
    try {
      assert.throws(
        () => new ComponentSandbox({ allowedUrl: "http://127.0.0.1:8000/v1", component: "other", componentDir: other.dir }),
        /not vllm:provider\/provider@0\.2\.0 or vllm:provider\/provider@0\.1\.0/,
      );
    } finally {
      other.remove();
    }
  });

  test("the real provider and the hostile component pass the check", () => {
    for (const component of ["provider", ...(hostileBuilt ? ["hostile"] : [])]) {
      assert.doesNotThrow(() => new ComponentSandbox({ allowedUrl: "http://127.0.0.1:8000/v1", component }));
    }
  });
});
