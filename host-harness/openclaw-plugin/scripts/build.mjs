#!/usr/bin/env node
// Transpiles the provider component (and, when built, the hostile test
// component) with jco into generated/<name>/, for the sandbox in
// src/sandbox/. Run after `cargo build --release --target wasm32-wasip2`.
//
//   node scripts/build.mjs [--provider FILE.wasm] [--hostile FILE.wasm]
//
// Output is "instantiation" mode: the host passes every import itself, so
// nothing the component imports is bound to Node's real WASI implementation
// by default.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { cargoWasm, generatedDir } from "../src/sandbox/paths.js";
import { transpileInto } from "../src/sandbox/transpile.js";

const { values } = parseArgs({
  options: {
    provider: { type: "string", default: cargoWasm("vllm_provider.wasm") },
    hostile: { type: "string", default: cargoWasm("vllm_hostile_plugin.wasm") },
  },
});

async function build(name, wasmPath, required) {
  if (!existsSync(wasmPath)) {
    if (!required) {
      console.error(`skipping the ${name} component: ${wasmPath} is not built`);
      return;
    }
    console.error(
      `${wasmPath} does not exist: build it with \`cargo build --release --target wasm32-wasip2 -p vllm-provider\`, or pass --provider FILE.wasm`,
    );
    process.exit(1);
  }
  const bytes = await readFile(wasmPath);
  const out = generatedDir(name);
  await transpileInto(bytes, out, name, wasmPath);
  console.error(`transpiled ${wasmPath} (${(bytes.length / 1024).toFixed(0)} KiB) into ${out}`);
}

await build("provider", values.provider, true);
await build("hostile", values.hostile, false);
