// Turns the component's WIT `stream-event`s into OpenClaw's assistant
// message events: `start`, then `text_*`, `thinking_*` and `toolcall_*`
// blocks in the order the server produced them, then `done` (stop, length,
// toolUse) or `error` (error, aborted). The partial message every event
// carries is the one being built, as OpenClaw's own transports do.

import { inOurWords } from "./config.js";

const STOP_REASONS = { stop: "stop", length: "length", "tool-calls": "toolUse", abort: "aborted" };

function zeroUsage() {
  return {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 0,
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
  };
}

function asObject(value) {
  return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

/**
 * The arguments object of a tool call's JSON text, else `fallback` (while
 * the text is still arriving, or when it is not an object). The component
 * has already cut a tail the model wrote after the object from a finished
 * call's arguments.
 */
export function parseArguments(json, fallback = {}) {
  if (!json.trim()) return {};
  try {
    return asObject(JSON.parse(json)) ?? fallback;
  } catch {
    return fallback;
  }
}

export class EventMapper {
  #out;
  #message;
  #open = null; // the text or thinking block being written: {type, index}
  #tools = new Map(); // the component's tool index -> {index, json}

  /**
   * @param {import("./event-stream.js").AssistantEventStream} out
   * @param {{api: string, provider: string, id: string}} model
   */
  constructor(out, model) {
    this.#out = out;
    this.#message = {
      role: "assistant",
      content: [],
      api: model.api,
      provider: model.provider,
      model: model.id,
      usage: zeroUsage(),
      stopReason: "stop",
      timestamp: Date.now(),
    };
    out.push({ type: "start", partial: this.#message });
  }

  get message() {
    return this.#message;
  }

  /** One WIT `stream-event` ({tag, val}). */
  push({ tag, val }) {
    const message = this.#message;
    switch (tag) {
      case "model":
        message.responseModel = val;
        break;
      case "text-delta":
        this.#append("text", val);
        break;
      case "reasoning-delta":
        this.#append("thinking", val);
        break;
      case "tool-call-start": {
        this.#close();
        const index = message.content.push({ type: "toolCall", id: val.id, name: val.name, arguments: {} }) - 1;
        this.#tools.set(val.index, { index, json: "" });
        this.#out.push({ type: "toolcall_start", contentIndex: index, partial: message });
        break;
      }
      case "tool-call-delta": {
        const tool = this.#tools.get(val.index);
        if (!tool) break;
        tool.json += val.arguments;
        const block = message.content[tool.index];
        block.arguments = parseArguments(tool.json, block.arguments);
        this.#out.push({ type: "toolcall_delta", contentIndex: tool.index, delta: val.arguments, partial: message });
        break;
      }
      case "tool-call-end": {
        let index = [...this.#tools.values()].find((t) => message.content[t.index].id === val.id)?.index;
        if (index === undefined) {
          this.#close();
          index = message.content.push({ type: "toolCall", id: val.id, name: val.name, arguments: {} }) - 1;
          this.#out.push({ type: "toolcall_start", contentIndex: index, partial: message });
        }
        const block = message.content[index];
        block.name = val.name;
        block.arguments = parseArguments(val.arguments);
        this.#out.push({ type: "toolcall_end", contentIndex: index, toolCall: block, partial: message });
        break;
      }
      case "usage":
        message.usage = {
          ...zeroUsage(),
          input: val.input,
          output: val.output,
          cacheRead: val.cacheRead,
          totalTokens: val.total,
          cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: val.cost },
        };
        break;
      case "finish":
        message.stopReason = STOP_REASONS[val.tag] ?? "stop";
        break;
      default:
        break;
    }
  }

  /** The stream ended: closes the open block and sends `done` (or `error` for an aborted finish). */
  finish() {
    this.#close();
    const message = this.#message;
    if (message.stopReason === "aborted" || message.stopReason === "error") {
      message.errorMessage ??= "the server stopped the request before it finished";
      this.#out.push({ type: "error", reason: message.stopReason, error: message });
    } else {
      this.#out.push({ type: "done", reason: message.stopReason, message });
    }
    this.#out.end(message);
  }

  /** The call failed: one final `error` event carrying what was received and why it stopped. */
  fail(error, aborted) {
    this.#close();
    const message = this.#message;
    message.stopReason = aborted ? "aborted" : "error";
    // The component names the built-in provider's key variable and section.
    message.errorMessage = inOurWords(error?.message ?? String(error));
    if (error?.kind) message.errorType = error.kind;
    this.#out.push({ type: "error", reason: message.stopReason, error: message });
    this.#out.end(message);
  }

  #append(type, delta) {
    const message = this.#message;
    if (this.#open?.type !== type) {
      this.#close();
      const index = message.content.push(type === "text" ? { type, text: "" } : { type, thinking: "" }) - 1;
      this.#open = { type, index };
      this.#out.push({ type: `${type}_start`, contentIndex: index, partial: message });
    }
    const { index } = this.#open;
    const block = message.content[index];
    if (type === "text") block.text += delta;
    else block.thinking += delta;
    this.#out.push({ type: `${type}_delta`, contentIndex: index, delta, partial: message });
  }

  #close() {
    if (!this.#open) return;
    const { type, index } = this.#open;
    const block = this.#message.content[index];
    this.#open = null;
    this.#out.push({ type: `${type}_end`, contentIndex: index, content: type === "text" ? block.text : block.thinking, partial: this.#message });
  }
}
