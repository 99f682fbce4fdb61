// What vLLM must not get from a provider: body fields (see VLLM_API.md)
// and attribution headers some OpenAI-compatible clients add. Restated here
// on purpose rather than imported from the plugin: a test that imported the
// plugin's list would pass if an entry were dropped from it.

export const FORBIDDEN_FIELDS = Object.freeze([
  "store",
  "service_tier",
  "prompt_cache_key",
  "reasoning_effort",
  "reasoning",
  "parallel_tool_calls",
  "user",
  "metadata",
  "guided_json",
  "guided_regex",
  "guided_choice",
  "guided_grammar",
]);

export const FORBIDDEN_HEADERS = Object.freeze(["http-referer", "x-title", "openai-organization", "openai-project"]);
