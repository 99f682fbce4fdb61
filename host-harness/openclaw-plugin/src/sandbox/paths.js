// Where things are: the transpiled components (written by scripts/build.mjs)
// and the compiled .wasm files they are built from.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const REPO_DIR = resolve(PACKAGE_DIR, "..", "..");

/** The folder `scripts/build.mjs` transpiles component `name` ("provider" or "hostile") into. */
export function generatedDir(name) {
  return join(PACKAGE_DIR, "generated", name);
}

/** The release .wasm cargo builds for a crate, honouring CARGO_TARGET_DIR like cargo does. */
export function cargoWasm(crateFile) {
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO_DIR, process.env.CARGO_TARGET_DIR) : join(REPO_DIR, "target");
  return join(target, "wasm32-wasip2", "release", crateFile);
}

/** Throws a message that says how to build the component when `name` is not transpiled yet. */
export function requireGenerated(name) {
  const dir = generatedDir(name);
  if (!existsSync(join(dir, `${name}.js`))) {
    throw new Error(
      `the ${name} component is not transpiled (${dir} is missing): run \`npm run build\` in ${PACKAGE_DIR} ` +
        "after `cargo build --release --target wasm32-wasip2 -p vllm-provider`",
    );
  }
  return dir;
}
