// OpenClaw's model call (model, context {systemPrompt, messages, tools},
// options) as the component's WIT `chat-request`. What vLLM must not receive
// (OpenClaw's attribution headers, `store`, `reasoning_effort`, ...) is not
// representable here at all; the component writes the wire request.

import { witCompat } from "./compat.js";
import { thinkingLevelOf, turnSettings } from "./turn-settings.js";

function textOf(parts) {
  return parts
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
}

function userParts(content) {
  if (typeof content === "string") return [{ tag: "text", val: content }];
  return content.map((part) =>
    part.type === "image"
      ? { tag: "image-url", val: `data:${part.mimeType};base64,${part.data}` }
      : { tag: "text", val: part.text ?? "" },
  );
}

function assistantMessage(message) {
  const text = textOf(message.content);
  const reasoning = message.content
    .filter((part) => part.type === "thinking")
    .map((part) => part.thinking)
    .join("");
  const toolCalls = message.content
    .filter((part) => part.type === "toolCall")
    .map((call) => ({ id: call.id, name: call.name, arguments: JSON.stringify(call.arguments ?? {}), fromText: false }));
  return {
    tag: "assistant",
    val: { text: text || undefined, reasoning: reasoning || undefined, toolCalls },
  };
}

function toolResultText(message) {
  const text = textOf(message.content);
  const images = message.content.filter((part) => part.type === "image").length;
  const note = images > 0 ? `${text ? "\n" : ""}[${images} image(s) omitted: tool results are text for this provider]` : "";
  return `${text}${note}`;
}

/** The WIT messages for OpenClaw's context, in order. */
export function chatMessages(context) {
  const messages = [];
  if (context.systemPrompt) messages.push({ tag: "system", val: context.systemPrompt });
  for (const message of context.messages ?? []) {
    switch (message.role) {
      case "user":
        messages.push({ tag: "user", val: userParts(message.content) });
        break;
      case "assistant":
        // A turn that failed or was aborted before it said anything is not replayed.
        if ((message.stopReason === "error" || message.stopReason === "aborted") && message.content.length === 0) break;
        messages.push(assistantMessage(message));
        break;
      case "toolResult":
        messages.push({ tag: "tool", val: { toolCallId: message.toolCallId, content: toolResultText(message) } });
        break;
      default:
        break;
    }
  }
  return messages;
}

function structuredOutput(format) {
  if (!format || typeof format !== "object") return undefined;
  if (format.type === "json_object") return { tag: "json-object" };
  if (format.type === "json_schema" && format.json_schema?.schema) {
    return {
      tag: "json-schema",
      val: { name: String(format.json_schema.name ?? "response"), schemaJson: JSON.stringify(format.json_schema.schema) },
    };
  }
  return undefined;
}

/**
 * The resolved provider config with OpenClaw's view of `model` (its
 * reasoning flag and `compat`) in place of the component's own, so that
 * the component puts the call's thinking level on the wire as OpenClaw's
 * config says the model's template takes it.
 */
export function withOpenClawModel(resolved, model) {
  const listed = resolved.models.find((m) => m.id === model.id);
  const window = Number.isInteger(model.contextWindow) && model.contextWindow > 0 ? model.contextWindow : undefined;
  const entry = {
    id: model.id,
    name: listed?.name ?? model.name ?? model.id,
    reasoning: typeof model.reasoning === "boolean" ? model.reasoning : (listed?.reasoning ?? false),
    input: listed?.input ?? (Array.isArray(model.input) ? model.input.filter((k) => k === "text" || k === "image") : ["text"]),
    cost: listed?.cost ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: listed?.contextWindow ?? window ?? 128000,
    maxTokens: listed?.maxTokens ?? Math.min(8192, window ?? 128000),
    root: listed?.root,
    parent: listed?.parent,
    compat: model.compat ? witCompat(model.compat) : (listed?.compat ?? witCompat(undefined)),
    thinking: undefined,
  };
  return { ...resolved, models: [...resolved.models.filter((m) => m.id !== model.id), entry] };
}

/**
 * The call's thinking level: the `reasoning` option when the caller gave
 * one (a simple completion does), else the session's level our
 * `wrapStreamFn` passed on.
 */
function thinkingLevel(options) {
  return thinkingLevelOf(options.reasoning) ?? turnSettings(options).thinking;
}

/** The WIT `chat-request` for one OpenClaw StreamFn call. */
export function chatRequest(model, context, options = {}) {
  return {
    model: model.id,
    messages: chatMessages(context),
    tools: (context.tools ?? []).map((tool) => ({
      name: tool.name,
      description: tool.description || undefined,
      parametersJson: JSON.stringify(tool.parameters ?? { type: "object", properties: {} }),
    })),
    toolChoice: undefined,
    sampling: {
      temperature: typeof options.temperature === "number" ? options.temperature : undefined,
      topP: undefined,
      maxTokens: Number.isInteger(options.maxTokens) && options.maxTokens > 0 ? options.maxTokens : undefined,
      stop: Array.isArray(options.stop) ? options.stop.map(String) : [],
      seed: undefined,
      presencePenalty: undefined,
      frequencyPenalty: undefined,
      topK: undefined,
      minP: undefined,
      repetitionPenalty: undefined,
    },
    chatTemplateKwargsJson: undefined,
    structuredOutput: structuredOutput(options.responseFormat),
    thinking: thinkingLevel(options),
    priority: turnSettings(options).priority,
    sessionId: typeof options.sessionId === "string" && options.sessionId.trim() ? options.sessionId : undefined,
  };
}
