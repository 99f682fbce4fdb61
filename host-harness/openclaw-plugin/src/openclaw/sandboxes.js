// One sandbox per vLLM origin, shared by every hook of the plugin in this
// process, so compiled modules and idle workers are reused across calls.

import { ComponentSandbox, originOf } from "../sandbox/index.js";

const sandboxes = new Map();
/**
 * Sandboxes kept (one per server and limits in use); past it the least
 * recently used is retired: its running calls finish, it takes no new one.
 */
export const SANDBOXES_KEPT = 16;

/** The sandbox allowed to reach `baseUrl`'s origin, created on first use. */
export function sandboxFor(baseUrl, settings = {}) {
  const origin = originOf(baseUrl);
  const key = JSON.stringify([origin, settings.memoryLimitBytes, settings.heapLimitBytes, settings.callTimeoutMs, settings.maxWorkers]);
  let sandbox = sandboxes.get(key);
  if (sandbox) {
    sandboxes.delete(key);
  } else {
    sandbox = new ComponentSandbox({ allowedUrl: baseUrl, ...settings });
  }
  sandboxes.set(key, sandbox);
  while (sandboxes.size > SANDBOXES_KEPT) {
    const [oldest, retired] = sandboxes.entries().next().value;
    sandboxes.delete(oldest);
    retired.retire();
  }
  return sandbox;
}

/** How many sandboxes are kept now. */
export function sandboxCount() {
  return sandboxes.size;
}

/** Stops every sandbox's workers (tests, shutdown). */
export async function closeSandboxes() {
  const all = [...sandboxes.values()];
  sandboxes.clear();
  await Promise.all(all.map((sandbox) => sandbox.close()));
}
