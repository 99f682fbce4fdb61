// The worker thread one sandboxed component call runs in. The WASI shim
// blocks its thread while the guest waits on I/O, so the component never runs
// on the host's event loop. One call at a time; each call gets a fresh
// instance (like the wasmtime harness's fresh store per call), so nothing a
// call leaves behind is seen by the next one. The core modules arrive
// compiled (memories capped) from the host, which compiles them once per
// process.
//
// Protocol (see ./index.js): the host posts {id, op, args, credits}; the worker
// answers {id, value} | {id, error} and, for `stream`, first {id, events} per
// batch, each taking one of the credits the host adds as its consumer reads
// (a SharedArrayBuffer counter), so a slow consumer holds the stream back.

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { printable } from "./errors.js";
import { oversize } from "./footprint.js";
import { sandboxImports, SandboxTrap } from "./imports.js";
import { applyModelPatch } from "./model-patch.js";

const { componentDir, name, allowedOrigin, env, modules, maxBatches } = workerData;

const denied = [];
const imports = sandboxImports({
  allowedOrigin,
  env,
  onDenied: (shown) => denied.push(shown),
});
const { instantiate } = await import(pathToFileURL(join(componentDir, `${name}.js`)).href);
function getCoreModule(file) {
  const module = modules[file];
  if (!(module instanceof WebAssembly.Module)) throw new Error(`the component's glue asked for ${file}, which the host did not compile`);
  return module;
}

/** What crosses back to the host for a failure: the component's typed error, or a trap. */
function failure(error) {
  if (error && typeof error === "object" && "payload" in error && error.payload?.tag) {
    const tooLarge = oversize(error.payload, "the component's error");
    return tooLarge ? { trap: { kind: "oversize", message: tooLarge } } : { provider: error.payload };
  }
  const message = error instanceof Error ? error.message : String(error);
  const kind =
    error instanceof SandboxTrap
      ? "forbidden"
      : error instanceof OversizeAnswer
        ? "oversize"
        : error instanceof WebAssembly.RuntimeError
          ? "trap"
          : "host";
  return { trap: { kind, message } };
}

function drainDenied() {
  return denied.splice(0, denied.length);
}

class OversizeAnswer extends Error {}

/** The call's result, refused when it is too large to hand on. */
function checked(value) {
  const tooLarge = oversize(value, "the component's answer");
  if (tooLarge) throw new OversizeAnswer(tooLarge);
  return value;
}

/** The most warnings one call writes, and the longest one. */
const MAX_WARNINGS = 64;
const MAX_WARNING_CHARS = 2000;

/**
 * Writes what the component said the user should know (`take-warnings`,
 * vllm:provider@0.2.0) to stderr as `warning: ` lines, as a 0.1.0
 * component wrote them itself. A component that cannot answer loses its
 * warnings, not the call's result.
 */
function writeWarnings(provider) {
  if (typeof provider.takeWarnings !== "function") return;
  let warnings;
  try {
    warnings = provider.takeWarnings();
  } catch {
    return;
  }
  if (!Array.isArray(warnings)) return;
  const lines = warnings
    .slice(0, MAX_WARNINGS)
    .map((warning) => `warning: ${printable(String(warning).slice(0, MAX_WARNING_CHARS))}\n`);
  if (lines.length > 0) process.stderr.write(lines.join(""));
}

async function run(message) {
  const root = await instantiate(getCoreModule, imports);
  const provider = root.provider ?? root["vllm:provider/provider@0.2.0"] ?? root["vllm:provider/provider@0.1.0"];
  try {
    return operate(provider, message);
  } finally {
    writeWarnings(provider);
  }
}

/** How long one wait for a stream credit lasts before it looks again (a terminate ends it anyway). */
const CREDIT_WAIT_MS = 100;

/** Takes one stream credit, waiting (this thread only) until the host gives one. */
function takeCredit(credits) {
  if (!credits) return;
  while (Atomics.load(credits, 0) <= 0) Atomics.wait(credits, 0, Atomics.load(credits, 0), CREDIT_WAIT_MS);
  Atomics.sub(credits, 0, 1);
}

function operate(provider, { id, op, args, credits }) {
  switch (op) {
    case "resolveConfig":
      return checked(provider.resolveConfig(args[0]));
    case "discoverModels":
      return checked(provider.discoverModels(args[0]));
    case "complete":
      return checked(provider.complete(args[0], args[1]));
    case "diagnose":
      return checked(provider.diagnose(args[0], args[1]));
    case "stream":
      return streamOut(provider, id, args[0], args[1], credits);
    case "resolveAndStream": {
      const resolved = checked(provider.resolveConfig(args[0]));
      parentPort.postMessage({ id, resolved });
      return streamOut(provider, id, applyModelPatch(resolved, args[1]), args[2], credits);
    }
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

/** Runs the component's stream, posting each batch as the host's credits allow. */
function streamOut(provider, id, config, request, credits) {
  const stream = provider.startStream(config, request);
  try {
    for (let batch = 0; batch < maxBatches; batch++) {
      const events = stream.next();
      if (events === undefined) return null;
      const tooLarge = oversize(events, "a stream batch");
      if (tooLarge) throw new OversizeAnswer(tooLarge);
      takeCredit(credits);
      parentPort.postMessage({ id, events });
    }
    throw new SandboxTrap(`the component's stream produced more than ${maxBatches} batches`);
  } finally {
    stream[Symbol.dispose]?.();
  }
}

parentPort.on("message", async (message) => {
  try {
    const value = await run(message);
    parentPort.postMessage({ id: message.id, value, denied: drainDenied() });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: failure(error), denied: drainDenied() });
  }
});
parentPort.postMessage({ ready: true });
