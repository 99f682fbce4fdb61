// What the plugin reads from OpenClaw's configuration, and the component's
// `config-input` built from it. The provider section is
// `models.providers["vllm-wasm"]`, written like the built-in vllm's
// (`baseUrl`, `apiKey`, `headers`, `timeoutSeconds`, `models`); OpenClaw only
// accepts it with a `models` list (it rejects model-less sections of
// non-bundled providers). The plugin's own settings are
// `plugins.entries["vllm-wasm"].config`: `baseUrl` and the sandbox limits.
// That `baseUrl` is the operator's pin: the sandbox lets the component reach
// its origin and no other, whatever the provider section or a model says
// (like the wasmtime harness's `allowed_authority`); with no section, models
// are discovered from it.

import { openClawCompat } from "./compat.js";

export const PROVIDER_ID = "vllm-wasm";
export const API_KEY_ENV = "VLLM_WASM_API_KEY";
export const DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1";
/** OpenClaw's own fallback for a model whose window it does not know. */
export const FALLBACK_CONTEXT_WINDOW = 128000;

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * A component message with the built-in provider's names (which the
 * component uses) replaced by this plugin's: its key variable and section.
 */
export function inOurWords(text) {
  if (typeof text !== "string") return text;
  return text.replace(/\bVLLM_API_KEY\b/g, API_KEY_ENV).replace(/\bmodels\.providers\.vllm\b(?!-)/g, `models.providers.${PROVIDER_ID}`);
}

/** `models.providers["vllm-wasm"]` of an OpenClaw config, or undefined. */
export function providerSection(config) {
  const providers = config?.models?.providers;
  if (!providers || typeof providers !== "object") return undefined;
  const section = providers[PROVIDER_ID];
  return section && typeof section === "object" ? section : undefined;
}

/** The plugin's sandbox settings from `plugins.entries["vllm-wasm"].config`, in the sandbox's units. */
export function sandboxSettings(config) {
  const own = pluginConfig(config);
  return {
    memoryLimitBytes: own.memoryLimitMiB ? own.memoryLimitMiB * 1024 * 1024 : undefined,
    callTimeoutMs: own.callTimeoutSeconds ? own.callTimeoutSeconds * 1000 : undefined,
    maxWorkers: own.maxWorkers,
    heapLimitBytes: own.heapLimitMiB ? own.heapLimitMiB * 1024 * 1024 : undefined,
  };
}

/** The variables `${NAME}` in the section refers to, with their values: all of the environment the component gets. */
export function referencedEnv(section, env = process.env) {
  const names = new Set();
  for (const match of JSON.stringify(section ?? {}).matchAll(ENV_REF)) names.add(match[1]);
  const out = {};
  for (const name of [...names].sort()) if (env[name] !== undefined) out[name] = env[name];
  return out;
}

function pluginConfig(config) {
  const own = config?.plugins?.entries?.[PROVIDER_ID]?.config;
  return own && typeof own === "object" ? own : {};
}

const nonEmpty = (value) => (typeof value === "string" && value.trim() ? value.trim() : undefined);

/** The plugin config's `baseUrl` (the pinned server), if set. */
export function pinnedBaseUrl(config) {
  return nonEmpty(pluginConfig(config).baseUrl);
}

/**
 * The server models are discovered from when a call names none: with no
 * provider section, the pinned one; with a section, the section's (none
 * here, the component reads it).
 */
export function discoveryBaseUrl(config) {
  return providerSection(config) ? undefined : pinnedBaseUrl(config);
}

/**
 * The base URL the operator configured: the plugin config's `baseUrl`, else
 * the provider section's, else the default; `${VAR}`s filled in from `env`.
 */
export function configuredBaseUrl(config, env = process.env) {
  const raw = pinnedBaseUrl(config) ?? nonEmpty(providerSection(config)?.baseUrl) ?? DEFAULT_BASE_URL;
  return raw.replace(ENV_REF, (_, name) => env[name] ?? "");
}

/** The component's WIT `config-input`. */
export function configInput({ section, env, apiKey, baseUrl }) {
  return {
    providerJson: section === undefined ? undefined : JSON.stringify(section),
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    authProfileKey: apiKey || undefined,
    baseUrlOverride: baseUrl,
  };
}

/** An OpenClaw model definition (catalog entry) from a WIT `model`; its thinking settings go as `compat`. */
export function catalogModel(model) {
  const compat = openClawCompat(model.compat);
  return {
    ...(compat ? { compat } : {}),
    id: model.id,
    name: model.name,
    reasoning: model.reasoning,
    input: [...model.input],
    cost: { ...model.cost },
    contextWindow: model.contextWindow,
    maxTokens: model.maxTokens,
  };
}
