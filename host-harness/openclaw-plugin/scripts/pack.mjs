#!/usr/bin/env node
// Packs the plugin into the npm tarball users install
// (`openclaw plugins install npm-pack:<file.tgz>`, or from npm once
// published): the provider component transpiled and ready, the plugin's
// JavaScript, its manifest and README. The user's machine needs no Rust,
// no jco and no install script; the WASI shim is the one dependency.
//
//   node scripts/pack.mjs [--provider FILE.wasm] [--out DIR]     (npm run pack)
//
// Transpiles FILE.wasm (default: cargo's release build) first, so the
// tarball always holds the component it names in generated/provider/SOURCE.json.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cargoWasm, generatedDir, PACKAGE_DIR } from "../src/sandbox/paths.js";
import { transpileInto } from "../src/sandbox/transpile.js";

const { values } = parseArgs({
  options: {
    provider: { type: "string", default: cargoWasm("vllm_provider.wasm") },
    out: { type: "string", default: PACKAGE_DIR },
  },
});

if (!existsSync(values.provider)) {
  console.error(
    `${values.provider} does not exist: build it with \`cargo build --release --target wasm32-wasip2 -p vllm-provider\`, or pass --provider FILE.wasm`,
  );
  process.exit(1);
}
const bytes = await readFile(values.provider);
// The record names the file, not the builder's folders.
const record = await transpileInto(bytes, generatedDir("provider"), "provider", basename(values.provider));
console.error(`transpiled ${values.provider} (${(bytes.length / 1024).toFixed(0)} KiB, sha256 ${record.sha256.slice(0, 16)}...)`);

const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const [packed] = JSON.parse(
  execFileSync(npm, ["pack", "--json", "--pack-destination", out], { cwd: PACKAGE_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
);
const tarball = join(out, packed.filename);
const { name, version } = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8"));
console.error(
  `${name}@${version}: ${packed.entryCount} files, ${(statSync(tarball).size / 1024).toFixed(0)} KiB packed, ` +
    `${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
);
// The path alone on stdout, for scripts.
console.log(tarball);
