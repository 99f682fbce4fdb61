// A host's view of one model, laid over the models a resolved provider
// config lists: `{id, whenListed, whenUnlisted}`. A model the config lists
// keeps its fields and takes `whenListed`'s over them; one it does not list
// is added as `whenUnlisted` (a whole WIT `model`). Plain data, so the
// worker can apply it between resolving the config and starting a call.

/** `resolved` with `patch` applied to its models (unchanged without a patch). */
export function applyModelPatch(resolved, patch) {
  if (!patch) return resolved;
  const listed = resolved.models.find((m) => m.id === patch.id);
  const entry = listed ? { ...listed, ...patch.whenListed } : patch.whenUnlisted;
  return { ...resolved, models: [...resolved.models.filter((m) => m.id !== patch.id), entry] };
}
