// The OpenClaw provider `vllm-wasm`: every vLLM request (model discovery and
// chat) is made by the WebAssembly component inside its sandbox; this file
// only translates between OpenClaw's hooks and the component's interface.

import {
  API_KEY_ENV,
  catalogModel,
  configInput,
  configuredBaseUrl,
  discoveryBaseUrl,
  pinnedBaseUrl,
  FALLBACK_CONTEXT_WINDOW,
  PROVIDER_ID,
  providerSection,
  referencedEnv,
  sandboxSettings,
} from "./config.js";
import { AssistantEventStream } from "./event-stream.js";
import { EventMapper } from "./events.js";
import { chatRequest, openClawModelPatch } from "./request.js";
import { ProviderError } from "../sandbox/index.js";
import { printable } from "../sandbox/errors.js";
import { sandboxFor } from "./sandboxes.js";
import { rememberProfiles, resolveThinkingProfile } from "./thinking-profiles.js";
import { wrapStreamFn } from "./turn-settings.js";

/** The component names config paths as the built-in provider's section; here the section is ours. */
const COMPONENT_SECTION = "models.providers.vllm";

/** `error` with config paths that point at this plugin's section. */
export function inOurSection(error) {
  if (!(error instanceof ProviderError) || error.kind !== "invalid-config") return error;
  const { path, reason } = error.detail;
  if (path !== COMPONENT_SECTION && !path.startsWith(`${COMPONENT_SECTION}.`)) return error;
  const ours = `models.providers.${PROVIDER_ID}${path.slice(COMPONENT_SECTION.length)}`;
  return new ProviderError({ tag: "invalid-config", val: { path: ours, reason } });
}

/** Models the catalog or a dynamic lookup discovered, by base URL then id: what `resolveDynamicModel` (synchronous) answers from. */
const discovered = new Map();
/** Servers whose models are kept; the least recently discovered goes first. */
const DISCOVERED_KEPT = 16;

function remember(baseUrl, models) {
  discovered.delete(baseUrl);
  discovered.set(baseUrl, new Map(models.map((model) => [model.id, model])));
  while (discovered.size > DISCOVERED_KEPT) discovered.delete(discovered.keys().next().value);
}

/**
 * The component's configuration for a call, resolved by the component from
 * the provider section (`baseUrl`, when given, overrides the section's), and
 * the sandbox to make the call in: it may reach the pinned server's origin
 * when the operator pinned one, else the call's.
 */
export async function resolveIn(config, { apiKey, baseUrl, signal }) {
  const { sandbox, input } = sandboxAndInput(config, { apiKey, baseUrl });
  const resolved = await sandbox.resolveConfig(input, { signal });
  rememberProfiles(resolved.models);
  return { sandbox, resolved };
}

/** The sandbox for a call and the component's `config-input` for it (see `resolveIn`). */
function sandboxAndInput(config, { apiKey, baseUrl }) {
  const section = providerSection(config);
  const reach = pinnedBaseUrl(config) ?? baseUrl ?? configuredBaseUrl(config);
  const sandbox = sandboxFor(reach, sandboxSettings(config));
  return { sandbox, input: configInput({ section, env: referencedEnv(section), apiKey, baseUrl }) };
}

/**
 * Asks the component for the configuration and the server's models; with
 * no provider section, from the pinned server.
 */
async function discover({ config, apiKey, baseUrl, logger, signal }) {
  try {
    const override = baseUrl ?? discoveryBaseUrl(config);
    const { sandbox, resolved } = await resolveIn(config, { apiKey, baseUrl: override, signal });
    if (resolved.mode === "disabled") {
      logger?.debug?.(`${PROVIDER_ID}: ${resolved.reason}`);
      return null;
    }
    const listed = usableModels(await sandbox.discoverModels(resolved, { signal }), logger);
    rememberProfiles(listed);
    const models = listed.map(catalogModel);
    remember(resolved.baseUrl, models);
    return { baseUrl: resolved.baseUrl, models };
  } catch (error) {
    throw inOurSection(error);
  }
}

/**
 * The discovered models OpenClaw can show and name: an id with a control
 * character (a server's doing) would act on the terminal of every
 * `openclaw models list`, so such a model is left out, with a warning.
 */
export function usableModels(models, logger) {
  return models.filter((model) => {
    if (printable(model.id) === model.id) return true;
    logger?.warn?.(`${PROVIDER_ID}: the server lists a model whose id holds control characters, left out: ${printable(model.id)}`);
    return false;
  });
}

/** The base URL a dynamic-model hook is about: the provider's, as OpenClaw resolved it. */
function hookBaseUrl(ctx) {
  return ctx.providerConfig?.baseUrl || configuredBaseUrl(ctx.config);
}

function runtimeModel(baseUrl, model) {
  return { ...model, provider: PROVIDER_ID, api: "openai-completions", baseUrl };
}

/** The StreamFn OpenClaw calls for one model turn. It never throws: failures end the stream with an `error` event. */
export function createStreamFn(ctx) {
  const config = ctx.config;
  return (model, context, options = {}) => {
    const out = new AssistantEventStream();
    const mapper = new EventMapper(out, model);
    const signal = options.signal;
    (async () => {
      const baseUrl = model.baseUrl || configuredBaseUrl(config);
      const { sandbox, input } = sandboxAndInput(config, { apiKey: options.apiKey, baseUrl });
      const request = chatRequest(model, context, options);
      // One call into the sandbox: the worker resolves the config, lays
      // OpenClaw's view of the model over it and streams.
      const stream = sandbox.resolveAndStream(input, request, {
        signal,
        modelPatch: openClawModelPatch(model),
        onResolved: (resolved) => rememberProfiles(resolved.models),
      });
      for await (const events of stream) {
        for (const event of events) mapper.push(event);
      }
      mapper.finish();
    })().catch((error) => mapper.fail(inOurSection(error), signal?.aborted === true));
    return out;
  };
}

/** The provider object registered with `api.registerProvider`. */
export function vllmWasmProvider(api) {
  const logger = api?.logger;
  return {
    id: PROVIDER_ID,
    label: "vLLM (sandboxed WebAssembly)",
    docsPath: "/providers/vllm",
    envVars: [API_KEY_ENV],
    auth: [],
    catalog: {
      order: "late",
      run: async (ctx) => {
        // `apiKey` may be a marker OpenClaw stores in place of the secret
        // (e.g. the variable's name); `discoveryApiKey` is the usable value.
        const { apiKey, discoveryApiKey } = ctx.resolveProviderApiKey(PROVIDER_ID);
        if (!apiKey && !providerSection(ctx.config) && !pinnedBaseUrl(ctx.config)) return null;
        try {
          const found = await discover({ config: ctx.config, apiKey: discoveryApiKey, logger, signal: ctx.signal });
          if (!found) return null;
          return { provider: { baseUrl: found.baseUrl, apiKey, api: "openai-completions", models: found.models } };
        } catch (error) {
          logger?.warn?.(`${PROVIDER_ID}: model discovery failed: ${error.message}`);
          return null;
        }
      },
    },
    prepareDynamicModel: async (ctx) => {
      const baseUrl = hookBaseUrl(ctx);
      // This hook gets no key resolver; the key's variable is the one source.
      const apiKey = process.env[API_KEY_ENV] || undefined;
      try {
        const found = await discover({ config: ctx.config, apiKey, baseUrl, logger });
        const model = found?.models.find((m) => m.id === ctx.modelId);
        return model ? runtimeModel(found.baseUrl, model) : undefined;
      } catch (error) {
        logger?.warn?.(`${PROVIDER_ID}: could not look up ${ctx.modelId}: ${error.message}`);
        return undefined;
      }
    },
    resolveDynamicModel: (ctx) => {
      const baseUrl = hookBaseUrl(ctx);
      const known = discovered.get(baseUrl)?.get(ctx.modelId);
      if (known) return runtimeModel(baseUrl, known);
      return runtimeModel(baseUrl, {
        id: ctx.modelId,
        name: ctx.modelId,
        reasoning: false,
        input: ["text"],
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        contextWindow: FALLBACK_CONTEXT_WINDOW,
        maxTokens: 8192,
      });
    },
    createStreamFn,
    wrapStreamFn,
    resolveThinkingProfile,
  };
}
