// The thinking levels OpenClaw should offer for a model (its
// `resolveThinkingProfile` hook). The component decides them (a model's
// `thinking` profile, from its id, reasoning flag and compat); the hook is
// synchronous and the component runs in a worker, so the hook answers from
// the profiles of the models the component last resolved or discovered.
// OpenClaw 2026.9.6 asks a non-bundled plugin only while its plugin registry
// is active (not for the default level of `openclaw agent exec`, which it
// takes before loading provider plugins: set the model's `params.thinking`
// there).

import { PROVIDER_ID } from "./config.js";

/** Model id to OpenClaw thinking profile, from the component's latest answers. */
const profiles = new Map();
/** Profiles kept; the least recently described model goes first. */
const PROFILES_KEPT = 4096;

/**
 * A WIT `thinking-profile` in OpenClaw's shape. A switch with no efforts
 * (`off` and `low` only) shows its `low` as "on", as OpenClaw's built-in
 * vllm provider shows it.
 */
export function openClawProfile(profile) {
  const binary = profile.levels.length === 2 && profile.levels[0] === "off" && profile.levels[1] === "low";
  return {
    levels: profile.levels.map((id) => (binary && id === "low" ? { id, label: "on" } : { id })),
    defaultLevel: profile.defaultLevel,
  };
}

/** Keeps the profiles of WIT `models` (a model without one forgets any it had). */
export function rememberProfiles(models) {
  for (const model of models ?? []) {
    profiles.delete(model.id);
    if (model.thinking) profiles.set(model.id, openClawProfile(model.thinking));
  }
  while (profiles.size > PROFILES_KEPT) profiles.delete(profiles.keys().next().value);
}

/**
 * The hook: the profile the component gave the model, or null (OpenClaw's
 * default levels) for a model the component has not described, one OpenClaw's
 * config says does not reason, or another provider's.
 */
export function resolveThinkingProfile(ctx) {
  if (ctx?.provider !== undefined && ctx.provider !== PROVIDER_ID) return null;
  if (ctx?.reasoning === false) return null;
  return profiles.get(ctx?.modelId) ?? null;
}
