// What OpenClaw decides per turn and hands to a provider's `wrapStreamFn`
// hook: the session's thinking level (`ctx.thinkingLevel`) and, on OpenClaw
// versions that have it (its main branch), the call's urgency
// (`ctx.modelCallUrgency`) with the model's params (`ctx.modelParams`). The
// wrapper carries them to our StreamFn in its options, under a key no other
// wrapper writes. OpenClaw 2026.9.6 also passes the level as the StreamFn's
// `reasoning` option on the agent path; that option, when present, wins.

/** The options key our wrapper writes the turn's settings under. */
export const TURN_SETTINGS = Symbol.for("vllm-wasm.turn-settings");

/** OpenClaw's thinking levels, which are the WIT `thinking-level` names. */
export const THINKING_LEVELS = new Set(["off", "minimal", "low", "medium", "high", "xhigh", "max"]);

/** `value` as a thinking level the component knows, else undefined. */
export function thinkingLevelOf(value) {
  const level = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  return THINKING_LEVELS.has(level) ? level : undefined;
}

/**
 * vLLM's `priority` for a call's urgency, as OpenClaw's own vllm provider
 * sets it: only for a model whose params say `priorityScheduling: true`
 * (the server must run `--scheduling-policy priority`); lower runs sooner.
 */
export function urgencyPriority(ctx) {
  if (ctx?.modelParams?.priorityScheduling !== true) return undefined;
  switch (ctx.modelCallUrgency) {
    case "foreground":
      return -100;
    case "background":
      return 100;
    default:
      return 0;
  }
}

/**
 * The `wrapStreamFn` hook: our StreamFn, called with the turn's thinking
 * level and priority added to its options. Returning a new function also
 * tells OpenClaw that this provider shapes its own requests, so OpenClaw's
 * generic request patches (which edit a JSON body this plugin never builds)
 * stand aside.
 */
export function wrapStreamFn(ctx) {
  const underlying = ctx?.streamFn;
  if (typeof underlying !== "function") return undefined;
  const settings = Object.freeze({ thinking: thinkingLevelOf(ctx.thinkingLevel), priority: urgencyPriority(ctx) });
  return (model, context, options) => underlying(model, context, { ...options, [TURN_SETTINGS]: settings });
}

/** The turn's settings a StreamFn call carries (none when OpenClaw did not wrap it). */
export function turnSettings(options) {
  return options?.[TURN_SETTINGS] ?? {};
}
