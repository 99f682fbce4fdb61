// What a component may ask for, checked before any of it runs (like the
// wasmtime harness's load-time inspection): the interfaces the sandbox
// provides, and the one export it calls.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SandboxError } from "./errors.js";

/** The imports ./imports.js provides, by interface name (jco drops the version). */
export const GRANTED_IMPORTS = Object.freeze([
  "wasi:cli/environment",
  "wasi:cli/exit",
  "wasi:cli/stderr",
  "wasi:cli/stdin",
  "wasi:cli/stdout",
  "wasi:cli/terminal-input",
  "wasi:cli/terminal-output",
  "wasi:cli/terminal-stderr",
  "wasi:cli/terminal-stdin",
  "wasi:cli/terminal-stdout",
  "wasi:clocks/monotonic-clock",
  "wasi:http/outgoing-handler",
  "wasi:http/types",
  "wasi:io/error",
  "wasi:io/poll",
  "wasi:io/streams",
]);

/** The provider interfaces this sandbox calls, newest first (older plugins keep working). */
export const PROVIDER_EXPORTS = ["vllm:provider/provider@0.2.0", "vllm:provider/provider@0.1.0"];

/** Throws a "forbidden" SandboxError unless the world in `componentDir`'s SOURCE.json is one the sandbox serves. */
export function checkWorld(componentDir) {
  let record;
  const file = join(componentDir, "SOURCE.json");
  try {
    record = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new SandboxError("forbidden", `cannot read ${file} (${error.message}): transpile the component again with \`npm run build\``);
  }
  if (!Array.isArray(record.imports) || !Array.isArray(record.exports)) {
    throw new SandboxError("forbidden", `${file} does not list the component's imports and exports: transpile it again with \`npm run build\``);
  }
  const extra = record.imports.map((name) => name.replace(/@[^/]*$/, "")).filter((name) => !GRANTED_IMPORTS.includes(name));
  if (extra.length > 0) {
    throw new SandboxError(
      "forbidden",
      `the component imports ${extra.join(", ")}, which this sandbox does not grant (it grants ${GRANTED_IMPORTS.join(", ")}); nothing was run`,
    );
  }
  if (!PROVIDER_EXPORTS.some((name) => record.exports.includes(name))) {
    throw new SandboxError(
      "forbidden",
      `the component exports ${record.exports.join(", ") || "nothing"}, not ${PROVIDER_EXPORTS.join(" or ")}: it is not a vLLM provider plugin this sandbox can call`,
    );
  }
}
