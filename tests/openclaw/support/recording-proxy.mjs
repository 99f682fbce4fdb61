// A loopback HTTP proxy in front of the real vLLM server that records every
// request (method, path, headers, JSON body) and the response it got (status
// and up to 4 MiB of body), so a test can check what the server saw. It
// forwards byte for byte and streams responses through unchanged.

import { createServer, request as httpRequest } from "node:http";

const KEEP_RESPONSE_BYTES = 4 * 1024 * 1024;

export async function startRecordingProxy(upstreamBaseUrl) {
  const upstream = new URL(upstreamBaseUrl);
  const exchanges = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      let body = null;
      try {
        body = raw.length ? JSON.parse(raw.toString("utf8")) : null;
      } catch {
        body = raw.toString("utf8");
      }
      const exchange = { method: req.method, url: req.url, headers: req.headers, body, status: null, response: "" };
      exchanges.push(exchange);
      const headers = { ...req.headers, host: upstream.host };
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          exchange.status = answer.statusCode;
          res.writeHead(answer.statusCode, answer.headers);
          answer.on("data", (chunk) => {
            if (exchange.response.length < KEEP_RESPONSE_BYTES) exchange.response += chunk.toString("utf8");
            res.write(chunk);
          });
          answer.on("end", () => res.end());
        },
      );
      forward.on("error", (error) => {
        exchange.status = 502;
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`recording proxy: upstream ${upstream.host} failed: ${error.message}`);
      });
      res.on("close", () => {
        if (!res.writableEnded) forward.destroy();
      });
      forward.end(raw);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, "")}`,
    exchanges,
    /** The chat completion requests, in order. */
    chats: () => exchanges.filter((e) => e.method === "POST" && e.url.endsWith("/chat/completions")),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** The assistant text, reasoning, tool calls and usage an SSE chat response carried. */
export function streamedReply(sse) {
  const reply = { text: "", reasoning: "", toolCalls: [], usage: null };
  for (const line of sse.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    let chunk;
    try {
      chunk = JSON.parse(line.slice(6));
    } catch {
      continue;
    }
    if (chunk.usage) reply.usage = chunk.usage;
    const delta = chunk.choices?.[0]?.delta ?? {};
    reply.text += delta.content ?? "";
    reply.reasoning += delta.reasoning ?? delta.reasoning_content ?? "";
    for (const call of delta.tool_calls ?? []) {
      const slot = (reply.toolCalls[call.index] ??= { id: "", name: "", arguments: "" });
      slot.id ||= call.id ?? "";
      slot.name ||= call.function?.name ?? "";
      slot.arguments += call.function?.arguments ?? "";
    }
  }
  return reply;
}
