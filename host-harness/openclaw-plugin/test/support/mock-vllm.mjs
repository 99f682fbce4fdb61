// A small stand-in for a vLLM OpenAI-compatible server on 127.0.0.1, for the
// sandbox's component tests: real HTTP, real SSE, every request recorded.
// It answers as vLLM 0.32 does for the parts the provider uses:
//   GET  /v1/models            one model, with max_model_len
//   POST /v1/chat/completions  streamed or not; the last user message picks
//                              the reply: "call a tool" -> a tool call,
//                              "think" -> reasoning then text, "slow" -> a
//                              stream that keeps going until the client
//                              leaves, "late head" -> the normal answer,
//                              its head sent only after `headDelayMs`,
//                              anything else -> "Hello from the mock".

import { createServer } from "node:http";

export const MODEL = "mock-model";
export const MAX_MODEL_LEN = 4096;

function lastUserText(body) {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!user) return "";
  return typeof user.content === "string" ? user.content : user.content.map((p) => p.text ?? "").join("");
}

function chunk(delta, finish = null) {
  return { id: "chatcmpl-mock", object: "chat.completion.chunk", created: 1, model: MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

export async function startMockVllm({ apiKey, headDelayMs = 0 } = {}) {
  const requests = [];
  const closedEarly = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (data) => {
      raw += data;
    });
    req.on("end", () => {
      const record = { method: req.method, url: req.url, headers: req.headers, body: raw ? JSON.parse(raw) : null };
      requests.push(record);
      if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Unauthorized" }));
        return;
      }
      if (req.method === "GET" && req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created: 1, owned_by: "vllm", root: "/models/mock", parent: null, max_model_len: MAX_MODEL_LEN }] }));
        return;
      }
      if (req.method === "POST" && req.url === "/v1/chat/completions") {
        if (lastUserText(record.body).includes("late head")) {
          setTimeout(() => respondChat(record, res, closedEarly), headDelayMs);
        } else {
          respondChat(record, res, closedEarly);
        }
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: "NotFoundError", code: 404 } }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    closedEarly,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

function respondChat(record, res, closedEarly) {
  const { body } = record;
  const text = lastUserText(body);
  const usage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
  let deltas;
  let finish = "stop";
  if (text.includes("call a tool") && body.tools?.length) {
    const name = body.tools[0].function.name;
    deltas = [
      { role: "assistant", content: "" },
      { tool_calls: [{ index: 0, id: "chatcmpl-tool-1", type: "function", function: { name, arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
    ];
    finish = "tool_calls";
  } else if (text.includes("think")) {
    deltas = [{ role: "assistant", content: "" }, { reasoning: "Let me " }, { reasoning: "think." }, { content: "Done " }, { content: "thinking." }];
  } else {
    deltas = [{ role: "assistant", content: "" }, { content: "Hello " }, { content: "from " }, { content: "the mock" }];
  }
  if (!body.stream) {
    const message = { role: "assistant", content: null, tool_calls: [], reasoning: null };
    for (const d of deltas) {
      if (d.content) message.content = (message.content ?? "") + d.content;
      if (d.reasoning) message.reasoning = (message.reasoning ?? "") + d.reasoning;
      for (const t of d.tool_calls ?? []) {
        if (t.id) message.tool_calls.push({ id: t.id, type: "function", function: { name: t.function.name, arguments: "" } });
        else message.tool_calls[t.index].function.arguments += t.function.arguments;
      }
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "chatcmpl-mock", object: "chat.completion", created: 1, model: MODEL, choices: [{ index: 0, message, finish_reason: finish }], usage }));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (value) => res.write(`data: ${JSON.stringify(value)}\n\n`);
  if (text.includes("slow")) {
    let n = 0;
    send(chunk({ role: "assistant", content: "" }));
    const timer = setInterval(() => {
      if (n++ >= 400) {
        clearInterval(timer);
        res.end("data: [DONE]\n\n");
        return;
      }
      send(chunk({ content: "tick " }));
    }, 25);
    res.on("close", () => {
      clearInterval(timer);
      if (!res.writableEnded) closedEarly.push(record);
    });
    return;
  }
  for (const d of deltas) send(chunk(d));
  send(chunk({}, finish));
  if (body.stream_options?.include_usage) send({ id: "chatcmpl-mock", object: "chat.completion.chunk", created: 1, model: MODEL, choices: [], usage });
  res.end("data: [DONE]\n\n");
}
