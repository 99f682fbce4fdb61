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

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { transpile } from "@bytecodealliance/jco";
import { cargoWasm, generatedDir } from "../src/sandbox/paths.js";

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
  const { files } = await transpile(bytes, {
    name,
    instantiation: "async",
    noTypescript: true,
    quiet: true,
  });
  const out = generatedDir(name);
  await rm(out, { recursive: true, force: true });
  for (const [file, content] of Object.entries(files)) {
    const path = join(out, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await writeFile(join(out, "SOURCE.json"), `${JSON.stringify({ wasm: wasmPath, sha256, bytes: bytes.length }, null, 2)}\n`);
  console.error(`transpiled ${wasmPath} (${(bytes.length / 1024).toFixed(0)} KiB) into ${out}`);
}

await build("provider", values.provider, true);
await build("hostile", values.hostile, false);
