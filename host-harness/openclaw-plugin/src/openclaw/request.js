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
 * OpenClaw's view of `model` (its reasoning flag and `compat`) as a model
 * patch (../sandbox/model-patch.js), so that the component puts the call's
 * thinking level on the wire as OpenClaw's config says the model's
 * template takes it.
 */
export function openClawModelPatch(model) {
  const window = Number.isInteger(model.contextWindow) && model.contextWindow > 0 ? model.contextWindow : undefined;
  const reasoning = typeof model.reasoning === "boolean" ? model.reasoning : undefined;
  const compat = model.compat ? witCompat(model.compat) : undefined;
  const whenListed = { thinking: undefined };
  if (reasoning !== undefined) whenListed.reasoning = reasoning;
  if (compat) whenListed.compat = compat;
  return {
    id: model.id,
    whenListed,
    whenUnlisted: {
      id: model.id,
      name: model.name ?? model.id,
      reasoning: reasoning ?? false,
      input: Array.isArray(model.input) ? model.input.filter((k) => k === "text" || k === "image") : ["text"],
      cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      contextWindow: window ?? 128000,
      maxTokens: Math.min(8192, window ?? 128000),
      root: undefined,
      parent: undefined,
      compat: compat ?? witCompat(undefined),
      thinking: undefined,
    },
  };
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
