// Transpiles a component with jco into a folder the sandbox loads, with a
// SOURCE.json that records what the component imports and exports (the
// sandbox checks both before it runs anything). jco is a build-time
// dependency: only scripts/build.mjs and the tests import this file.

import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { transpile } from "@bytecodealliance/jco";

/**
 * Writes `<dir>/<name>.js`, its core modules and SOURCE.json for the
 * component `bytes`; `source` says where the bytes came from.
 */
export async function transpileInto(bytes, dir, name, source) {
  const { files, imports, exports } = await transpile(bytes, {
    name,
    instantiation: "async",
    emitTypescriptDeclarations: false,
    quiet: true,
  });
  await rm(dir, { recursive: true, force: true });
  for (const [file, content] of Object.entries(files)) {
    const path = join(dir, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const record = { source, sha256, bytes: bytes.length, imports, exports: exports.map(([exported]) => exported) };
  await writeFile(join(dir, "SOURCE.json"), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
