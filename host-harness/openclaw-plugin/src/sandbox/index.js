// A provider component (the vllm:provider world) run by jco in worker
// threads, with the wasmtime harness's sandbox rules:
//   - network: outgoing HTTP only to one origin, refused with wasi-http's
//     `HTTP-request-denied` otherwise (see ./imports.js);
//   - no files, sockets or randomness: those interfaces are not provided, and
//     a component that imports them (or anything else not granted) is
//     refused when the sandbox is made, before any of it runs (./grants.js);
//   - environment: only the variables given in `env`;
//   - memory: every linear memory capped at `memoryLimitBytes`;
//   - time: a call that runs past `callTimeoutMs` (wall clock: Node cannot
//     meter one thread's CPU) has its worker terminated, as has an aborted one.
// Each call gets a fresh component instance in an idle worker; at most
// `maxWorkers` calls run at once and the others wait their turn.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { ProviderError, SandboxError } from "./errors.js";
import { checkWorld } from "./grants.js";
import { originOf } from "./origin.js";
import { requireGenerated } from "./paths.js";
import { limitMemory } from "./wasm-memory.js";

export { ProviderError, SandboxError } from "./errors.js";
export { originOf } from "./origin.js";

const MiB = 1024 * 1024;
const WORKER_URL = new URL("./worker.js", import.meta.url);
const DENIED_KEPT = 100;
/**
 * Stream batches the worker may send ahead of the consumer: past them it
 * stops reading the component's stream (and so the server's socket) until
 * the consumer takes one.
 */
export const STREAM_WINDOW = 8;
/** Compiled components kept per process (one per folder and memory cap in use). */
const COMPILED_KEPT = 8;
/** The worker -> {message, exit} handlers of what it is doing now (starting, or one call). */
const handlers = new WeakMap();

export const DEFAULTS = Object.freeze({
  memoryLimitBytes: 64 * MiB,
  callTimeoutMs: 10 * 60 * 1000,
  maxWorkers: 4,
  maxBatches: 10_000_000,
  heapLimitBytes: 256 * MiB,
});

/**
 * The core modules of the component in `dir`, each compiled once per
 * process with its memories capped, by file name: every worker gets these
 * (a compiled module crosses to a worker without being compiled again).
 */
const compiled = new Map();
function compiledModules(dir, memoryLimitBytes) {
  const key = `${memoryLimitBytes}:${dir}`;
  let modules = compiled.get(key);
  if (!modules) {
    modules = (async () => {
      const files = (await readdir(dir)).filter((file) => file.endsWith(".wasm")).sort();
      const entries = await Promise.all(
        files.map(async (file) => [file, await WebAssembly.compile(limitMemory(await readFile(join(dir, file)), memoryLimitBytes))]),
      );
      return Object.fromEntries(entries);
    })();
    compiled.set(key, modules);
    // A failed compile is not kept: the next sandbox tries again.
    modules.catch(() => compiled.delete(key));
    while (compiled.size > COMPILED_KEPT) compiled.delete(compiled.keys().next().value);
  }
  return modules;
}

function toError(failure, memoryLimitBytes) {
  if (failure.provider) return new ProviderError(failure.provider);
  const { kind, message } = failure.trap;
  if (kind === "trap") {
    return new SandboxError(
      "trap",
      `the component trapped: ${message} (a component that outgrows its ${memoryLimitBytes / MiB} MiB memory limit ends this way; ` +
        `for a large prompt, raise plugins.entries["vllm-wasm"].config.memoryLimitMiB)`,
    );
  }
  return new SandboxError(kind, message);
}

export class ComponentSandbox {
  #options;
  #idle = [];
  #workers = 0;
  #waiting = [];
  #nextId = 0;
  #closed = false;
  /** The calls running now, each as the function that stops it with an error. */
  #running = new Set();
  /** The requests the component tried to send elsewhere, newest last (at most 100). */
  denied = [];

  /**
   * @param {object} options
   * @param {string} options.allowedUrl the vLLM base URL: the only origin the component may call
   * @param {Record<string, string>} [options.env] the component's whole environment (default: empty)
   * @param {string} [options.component] "provider" (default) or another transpiled component's name
   * @param {string} [options.componentDir] where that component was transpiled (default: generated/<component>)
   * @param {number} [options.memoryLimitBytes] linear memory cap (default 64 MiB)
   * @param {number} [options.callTimeoutMs] wall-clock limit per call (default 10 minutes)
   * @param {number} [options.maxWorkers] calls that may run at once (default 4)
   * @param {number} [options.heapLimitBytes] JavaScript heap cap of each worker (default 256 MiB)
   */
  constructor(options) {
    const component = options.component ?? "provider";
    const componentDir = options.componentDir ?? requireGenerated(component);
    checkWorld(componentDir);
    this.#options = {
      ...DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      component,
      componentDir,
      allowedOrigin: originOf(options.allowedUrl),
      env: Object.entries(options.env ?? {}),
    };
    for (const key of ["memoryLimitBytes", "callTimeoutMs", "maxWorkers", "maxBatches", "heapLimitBytes"]) {
      const value = this.#options[key];
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`${key} must be a positive integer, got ${value}`);
    }
  }

  /** The origin (`scheme://host:port`) the component may reach. */
  get allowedOrigin() {
    return this.#options.allowedOrigin;
  }

  resolveConfig(input, opts) {
    return this.#call("resolveConfig", [input], opts);
  }

  discoverModels(config, opts) {
    return this.#call("discoverModels", [config], opts);
  }

  complete(config, request, opts) {
    return this.#call("complete", [config, request], opts);
  }

  diagnose(config, model, opts) {
    return this.#call("diagnose", [config, model], opts);
  }

  /**
   * The component's stream as batches of WIT `stream-event`s. Leaving the
   * loop early, or aborting `signal`, ends the call (its worker is stopped,
   * which closes the connection to the server). At most `STREAM_WINDOW`
   * batches wait for a slow consumer; the iterator's `buffered` says how
   * many do.
   */
  stream(config, request, { signal } = {}) {
    return this.#streamed("stream", [config, request], { signal });
  }

  /**
   * Like `stream`, from a `config-input`: the worker resolves the config,
   * applies `modelPatch` (see ./model-patch.js) and starts the stream, in
   * one call instead of two. `onResolved(config)` gets the resolved config
   * before the first batch.
   */
  resolveAndStream(input, request, { signal, modelPatch, onResolved } = {}) {
    return this.#streamed("resolveAndStream", [input, modelPatch, request], { signal, onResolved });
  }

  #streamed(op, args, { signal, onResolved }) {
    const state = { buffered: 0 };
    const batches = this.#batches(op, args, { signal, onResolved }, state);
    return Object.defineProperty(batches, "buffered", { get: () => state.buffered });
  }

  async *#batches(op, args, { signal, onResolved }, state) {
    const stop = new AbortController();
    // Credits for batches the worker may send; it waits on them (see worker.js).
    const credits = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(credits, 0, STREAM_WINDOW);
    const queue = [];
    let wake = null;
    let done = false;
    let failure = null;
    const signals = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    this.#call(op, args, {
      signal: signals,
      credits,
      onResolved,
      onEvents: (events) => {
        queue.push(events);
        state.buffered = queue.length;
        wake?.();
      },
    }).then(
      () => {
        done = true;
        wake?.();
      },
      (error) => {
        failure = error;
        done = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        if (queue.length > 0) {
          const events = queue.shift();
          state.buffered = queue.length;
          Atomics.add(credits, 0, 1);
          Atomics.notify(credits, 0);
          yield events;
        } else if (done) {
          if (failure) throw failure;
          return;
        } else {
          await new Promise((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      }
    } finally {
      if (!done) stop.abort();
    }
  }

  /** Stops every worker; calls still running or waiting fail with an "aborted" SandboxError. */
  async close() {
    this.#closed = true;
    const closed = () => new SandboxError("aborted", "the sandbox was closed");
    for (const waiter of this.#waiting.splice(0)) waiter.reject(closed());
    for (const stop of [...this.#running]) stop(closed());
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((worker) => worker.terminate()));
  }

  /**
   * Takes no new calls and stops the idle workers; calls running or waiting
   * for a worker finish first, and each worker stops when its call ends.
   */
  async retire() {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((worker) => worker.terminate()));
  }

  // Each worker keeps one listener per event for its whole life; they hand
  // what arrives to the call it is running (`worker.removeAllListeners()`
  // would also drop the listeners Node's own message port relies on).
  async #spawn() {
    const { componentDir, component, allowedOrigin, env, memoryLimitBytes, maxBatches, heapLimitBytes } = this.#options;
    let modules;
    try {
      modules = await compiledModules(componentDir, memoryLimitBytes);
    } catch (error) {
      throw new SandboxError("worker", `the component in ${componentDir} did not compile: ${error?.message ?? error}`);
    }
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_URL, {
        workerData: { componentDir, name: component, allowedOrigin, env, modules, maxBatches },
        env: {},
        stdin: false,
        // The worker's own heap (the shim, the glue, the answers it copies out
        // of the component) is capped beside the component's linear memory.
        resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(heapLimitBytes / MiB)) },
      });
      const starting = {
        message: (message) => {
          if (message?.ready) {
            handlers.delete(worker);
            resolve(worker);
          } else {
            starting.exit(`sent ${JSON.stringify(message)} instead of starting`);
          }
        },
        exit: (why) => {
          handlers.delete(worker);
          worker.terminate();
          reject(new SandboxError("worker", `the sandbox worker did not start: ${why}`));
        },
      };
      handlers.set(worker, starting);
      // An idle worker that dies leaves the pool, so no call is sent to it.
      const ended = (why) => {
        const handler = handlers.get(worker);
        if (handler) {
          handler.exit(why);
        } else {
          const at = this.#idle.indexOf(worker);
          if (at >= 0) {
            this.#idle.splice(at, 1);
            this.#workers--;
          }
        }
      };
      worker.on("message", (message) => handlers.get(worker)?.message(message));
      worker.on("error", (error) =>
        ended(
          error?.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? `its JavaScript heap went past the ${Math.floor(heapLimitBytes / MiB)} MiB limit (${error.message}); ` +
                'for larger answers, raise plugins.entries["vllm-wasm"].config.heapLimitMiB'
            : `it failed: ${error?.message ?? error}`,
        ),
      );
      worker.on("exit", (code) => ended(`it exited with code ${code}`));
    });
  }

  /** An idle or new worker, else the next one released; a waiting caller whose `signal` aborts leaves the queue. */
  async #acquire(signal, op) {
    if (this.#closed) throw new SandboxError("aborted", "the sandbox was closed");
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#workers < this.#options.maxWorkers) {
      this.#workers++;
      try {
        return await this.#spawn();
      } catch (error) {
        this.#workers--;
        throw error;
      }
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(new SandboxError("aborted", `the ${op} call was aborted while it waited for a worker`));
      };
      const waiter = {
        resolve: (worker) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(worker);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #release(worker) {
    handlers.delete(worker);
    const waiter = this.#waiting.shift();
    if (waiter) {
      waiter.resolve(worker);
    } else if (this.#closed) {
      this.#discard(worker);
    } else {
      worker.unref();
      this.#idle.push(worker);
    }
  }

  #discard(worker) {
    handlers.delete(worker);
    worker.terminate();
    this.#workers--;
    // A caller waiting for a worker gets a new one in its place.
    const waiter = this.#waiting.shift();
    if (waiter) this.#acquire().then(waiter.resolve, waiter.reject);
  }

  #recordDenied(list) {
    if (!list?.length) return;
    this.denied.push(...list);
    if (this.denied.length > DENIED_KEPT) this.denied.splice(0, this.denied.length - DENIED_KEPT);
  }

  async #call(op, args, { signal, onEvents, onResolved, credits } = {}) {
    signal?.throwIfAborted();
    const worker = await this.#acquire(signal, op);
    if (signal?.aborted) {
      this.#release(worker);
      throw new SandboxError("aborted", `the ${op} call was aborted`);
    }
    worker.ref();
    const id = ++this.#nextId;
    const { callTimeoutMs, memoryLimitBytes } = this.#options;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (release, outcome) => {
        if (settled) return;
        settled = true;
        this.#running.delete(stopWith);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (release) this.#release(worker);
        else this.#discard(worker);
        outcome();
      };
      const stopWith = (error) => finish(false, () => reject(error));
      const onAbort = () => stopWith(new SandboxError("aborted", `the ${op} call was aborted`));
      const timer = setTimeout(
        () => stopWith(new SandboxError("timeout", `the ${op} call ran past the sandbox's ${callTimeoutMs} ms limit and was stopped`)),
        callTimeoutMs,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#running.add(stopWith);
      handlers.set(worker, {
        message: (message) => {
          if (message.id !== id) return;
          if (message.events) {
            onEvents?.(message.events);
            return;
          }
          if (message.resolved) {
            onResolved?.(message.resolved);
            return;
          }
          this.#recordDenied(message.denied);
          if (message.error) finish(true, () => reject(toError(message.error, memoryLimitBytes)));
          else finish(true, () => resolve(message.value));
        },
        exit: (why) => stopWith(new SandboxError("worker", `the sandbox worker stopped during ${op}: ${why}`)),
      });
      worker.postMessage({ id, op, args, credits });
    });
  }
}
