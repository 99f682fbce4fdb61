// Caps the linear memory a core WebAssembly module may grow to, by giving
// every memory it defines a maximum. V8 then refuses `memory.grow` past the
// cap (the guest's allocator sees an out-of-memory and the call traps), the
// same contract the wasmtime harness enforces with its resource limiter.
//
// Only the memory section (id 5) is rewritten; every other byte is kept.

const MEMORY_SECTION = 5;
const PAGE = 65536;

function readU32(bytes, at) {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (at >= bytes.length) throw new Error("truncated LEB128 in the module");
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
  }
  throw new Error("over-long LEB128 in the module");
}

function writeU32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** A copy of `section`'s body with every memory's maximum at most `maxPages`. */
function capMemories(body, maxPages) {
  let [count, at] = readU32(body, 0);
  const out = writeU32(count);
  for (let i = 0; i < count; i++) {
    const flags = body[at++];
    if (flags & ~0x03) {
      throw new Error(`memory ${i} uses limits flags 0x${flags.toString(16)} (memory64 or custom pages), which the cap does not handle`);
    }
    let min;
    [min, at] = readU32(body, at);
    let max = maxPages;
    if (flags & 0x01) {
      let declared;
      [declared, at] = readU32(body, at);
      max = Math.min(declared, maxPages);
    }
    if (min > max) {
      throw new Error(`memory ${i} starts at ${min} pages (${min * PAGE} bytes), above the ${maxPages}-page memory limit: raise the limit`);
    }
    out.push(flags | 0x01, ...writeU32(min), ...writeU32(max));
  }
  if (at !== body.length) throw new Error("unexpected bytes after the memory section's entries");
  return out;
}

/**
 * Returns `bytes` (a core module) with its defined memories capped at
 * `limitBytes` (rounded down to whole 64 KiB pages). Imported memories are
 * capped where they are defined, in the module that exports them.
 */
export function limitMemory(bytes, limitBytes) {
  const maxPages = Math.floor(limitBytes / PAGE);
  if (maxPages < 1) throw new Error(`memory limit ${limitBytes} bytes is below one 64 KiB page`);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error("not a core WebAssembly module (bad magic)");
  }
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, bodyStart] = readU32(bytes, at + 1);
    const end = bodyStart + size;
    if (end > bytes.length) throw new Error("a section runs past the end of the module");
    if (id === MEMORY_SECTION) {
      const body = capMemories(bytes.subarray(bodyStart, end), maxPages);
      parts.push(Uint8Array.of(id, ...writeU32(body.length), ...body));
    } else {
      parts.push(bytes.subarray(at, end));
    }
    at = end;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
