// How large a component's answer is, so that an absurd one is refused in the
// worker instead of being copied to the host (the wasmtime harness's
// footprint rule, with the same limits): strings count their UTF-8 bytes,
// lists their elements, over the whole result (or one stream batch).

export const MAX_RESULT_BYTES = 32 * 1024 * 1024;
export const MAX_RESULT_ITEMS = 100_000;

/** {bytes, items} of a lifted WIT value (plain objects, arrays, strings, numbers). */
export function footprint(value) {
  const size = { bytes: 0, items: 0 };
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      size.bytes += Buffer.byteLength(v, "utf8");
    } else if (Array.isArray(v)) {
      size.items += v.length;
      if (size.items > MAX_RESULT_ITEMS) return size;
      for (const item of v) stack.push(item);
    } else if (v && typeof v === "object") {
      for (const key in v) stack.push(v[key]);
    }
    if (size.bytes > MAX_RESULT_BYTES) return size;
  }
  return size;
}

/** Why `value` is too large to hand on, or null when it is within the limits. */
export function oversize(value, what) {
  const { bytes, items } = footprint(value);
  if (bytes > MAX_RESULT_BYTES) return `${what} carries more than ${MAX_RESULT_BYTES / (1024 * 1024)} MiB of text`;
  if (items > MAX_RESULT_ITEMS) return `${what} has more than ${MAX_RESULT_ITEMS} list items`;
  return null;
}
