// Bad input in the Node sandbox: the component's messages as OpenClaw gets
// them, for the values users set and servers send that once read badly (a
// placeholder key that garbled messages, a key with a newline, a server
// error with terminal escapes, a redirect, a model list with bad cards).

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, describe, test } from "node:test";
import { ComponentSandbox, ProviderError } from "../src/sandbox/index.js";
import { usableModels } from "../src/openclaw/provider.js";

const input = (baseUrl, { key, section = {} } = {}) => ({
  providerJson: JSON.stringify({ baseUrl, ...section }),
  env: key === undefined ? [] : [{ name: "VLLM_API_KEY", value: key }],
  authProfileKey: undefined,
  baseUrlOverride: undefined,
});

/** A loopback server answering each path with `routes[path](res)`, else 404. */
async function serve(routes) {
  const server = createServer((req, res) => {
    const route = routes[req.url];
    if (route) route(res);
    else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { baseUrl: `http://127.0.0.1:${port}/v1`, port, close: () => new Promise((r) => server.close(r)) };
}

const json = (body, status = 200) => (res) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

/** A port nothing listens on. */
async function refusedPort() {
  const { port, close } = await serve({});
  await close();
  return port;
}

const boxes = [];
function sandboxFor(baseUrl) {
  const box = new ComponentSandbox({ allowedUrl: baseUrl });
  boxes.push(box);
  return box;
}

/**
 * Serves `routes`, resolves a config for the server in its own sandbox, and
 * hands `check` the pending `discover-models` call; the server is closed after.
 */
async function discoveryAgainst(routes, check) {
  const server = await serve(routes);
  try {
    const box = sandboxFor(server.baseUrl);
    const config = await box.resolveConfig(input(server.baseUrl));
    await check(box.discoverModels(config));
  } finally {
    await server.close();
  }
}

describe("bad input in the Node sandbox", () => {
  after(async () => {
    for (const box of boxes) await box.close();
  });

  test("a placeholder key leaves the message whole", async () => {
    const port = await refusedPort();
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    const box = sandboxFor(baseUrl);
    const config = await box.resolveConfig(input(baseUrl, { key: "1" }));
    await assert.rejects(box.discoverModels(config), (error) => {
      assert.ok(error instanceof ProviderError);
      assert.equal(error.kind, "connection");
      assert.ok(error.message.includes(`127.0.0.1:${port}`), error.message);
      assert.ok(!error.message.includes("<redacted>"), error.message);
      return true;
    });
  });

  test("a key with a trailing newline is a config error naming VLLM_API_KEY", async () => {
    const baseUrl = "http://127.0.0.1:9/v1";
    const box = sandboxFor(baseUrl);
    for (const key of ["sk-from-a-file\n", "sk-from-a-file\r\n"]) {
      await assert.rejects(box.resolveConfig(input(baseUrl, { key })), (error) => {
        assert.ok(error instanceof ProviderError);
        assert.equal(error.kind, "invalid-config");
        assert.equal(error.detail.path, "VLLM_API_KEY");
        assert.ok(error.message.includes("ends with a line break"), error.message);
        assert.ok(!error.message.includes("sk-from-a-file"), error.message);
        return true;
      });
    }
  });

  test("a server error with terminal escapes reaches OpenClaw escaped", async () => {
    const message = "bad \u001b]0;TITLE\u0007 \u001b[2J";
    const routes = { "/v1/models": json({ error: { message, type: "BadRequestError", code: 400 } }, 400) };
    await discoveryAgainst(routes, (discovery) =>
      assert.rejects(discovery, (error) => {
        assert.ok(error instanceof ProviderError);
        assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(error.message), JSON.stringify(error.message));
        assert.ok(error.message.includes("\\u{1b}]0;TITLE\\u{7}"), error.message);
        return true;
      }),
    );
  });

  test("a redirect says where it leads and that it is not followed", async () => {
    const routes = {
      "/v1/models": (res) => res.writeHead(302, { location: "https://gpu-7.example:8443/v1/models" }).end(),
    };
    await discoveryAgainst(routes, (discovery) =>
      assert.rejects(discovery, (error) => {
        assert.ok(error instanceof ProviderError);
        assert.ok(error.message.includes("redirect (HTTP 302) to https://gpu-7.example:8443/v1/models"), error.message);
        assert.ok(error.message.includes("not followed"), error.message);
        assert.ok(error.message.includes("set baseUrl to https://gpu-7.example:8443/v1"), error.message);
        return true;
      }),
    );
  });

  test("bad model cards are skipped or read with a fallback, good ones kept", async () => {
    const routes = {
      "/v1/models": json({
        object: "list",
        data: [
          { id: "good", max_model_len: 4096 },
          { id: "neg", max_model_len: -1 },
          { id: "good", max_model_len: 8 },
          { id: "" },
          { id: "m\u001b[31mRED", max_model_len: 2048 },
        ],
      }),
    };
    await discoveryAgainst(routes, async (discovery) => {
      const models = await discovery;
      assert.deepEqual(
        models.map((m) => [m.id, m.contextWindow]),
        [["good", 4096], ["neg", 128000], ["m\u001b[31mRED", 2048]],
      );
      // OpenClaw is offered only the ids it can print, and is told of the other.
      const warned = [];
      const usable = usableModels(models, { warn: (line) => warned.push(line) });
      assert.deepEqual(usable.map((m) => m.id), ["good", "neg"]);
      assert.equal(warned.length, 1);
      assert.ok(warned[0].includes("m\\u{1b}[31mRED"), warned[0]);
    });
  });
});
