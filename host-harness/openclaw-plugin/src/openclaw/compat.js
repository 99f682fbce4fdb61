// A model's thinking settings both ways between OpenClaw's `compat` object
// (`thinkingFormat`, `supportedReasoningEfforts`, `reasoningEffortMap`,
// `supportsReasoningEffort`) and the WIT `model-compat`.

/** OpenClaw's `compat` of a model as the WIT `model-compat` (its thinking settings only). */
export function witCompat(compat) {
  const format = compat?.thinkingFormat;
  const strings = (list) => (Array.isArray(list) ? list.filter((e) => typeof e === "string" && e.trim()).map((e) => e.trim()) : []);
  const map = compat?.reasoningEffortMap && typeof compat.reasoningEffortMap === "object" ? compat.reasoningEffortMap : {};
  return {
    thinkingFormat: format === "qwen-chat-template" || format === "qwen" ? format : undefined,
    supportedReasoningEfforts: strings(compat?.supportedReasoningEfforts),
    reasoningEffortMap: Object.entries(map)
      .filter(([, effort]) => typeof effort === "string" && effort.trim())
      .map(([level, effort]) => ({ name: level.trim().toLowerCase(), value: effort.trim() })),
    supportsReasoningEffort: typeof compat?.supportsReasoningEffort === "boolean" ? compat.supportsReasoningEffort : undefined,
  };
}

/**
 * A WIT `model-compat` as OpenClaw's `compat`, with only what is set;
 * undefined when nothing is (OpenClaw then applies its defaults).
 */
export function openClawCompat(compat) {
  if (!compat) return undefined;
  const out = {};
  if (compat.thinkingFormat) out.thinkingFormat = compat.thinkingFormat;
  if (compat.supportedReasoningEfforts?.length) out.supportedReasoningEfforts = [...compat.supportedReasoningEfforts];
  if (compat.reasoningEffortMap?.length) out.reasoningEffortMap = Object.fromEntries(compat.reasoningEffortMap.map(({ name, value }) => [name, value]));
  if (typeof compat.supportsReasoningEffort === "boolean") out.supportsReasoningEffort = compat.supportsReasoningEffort;
  return Object.keys(out).length > 0 ? out : undefined;
}
