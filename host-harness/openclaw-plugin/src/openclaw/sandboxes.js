// One sandbox per vLLM origin, shared by every hook of the plugin in this
// process, so compiled modules and idle workers are reused across calls.

import { ComponentSandbox, originOf } from "../sandbox/index.js";

const sandboxes = new Map();

/** The sandbox allowed to reach `baseUrl`'s origin, created on first use. */
export function sandboxFor(baseUrl, settings = {}) {
  const origin = originOf(baseUrl);
  const key = JSON.stringify([origin, settings.memoryLimitBytes, settings.heapLimitBytes, settings.callTimeoutMs, settings.maxWorkers]);
  let sandbox = sandboxes.get(key);
  if (!sandbox) {
    sandbox = new ComponentSandbox({ allowedUrl: baseUrl, ...settings });
    sandboxes.set(key, sandbox);
  }
  return sandbox;
}

/** Stops every sandbox's workers (tests, shutdown). */
export async function closeSandboxes() {
  const all = [...sandboxes.values()];
  sandboxes.clear();
  await Promise.all(all.map((sandbox) => sandbox.close()));
}
