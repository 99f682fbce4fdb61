// The one origin a sandbox lets its component reach, in a normal form.
// Apart from ./imports.js so that the host side (ComponentSandbox, the
// OpenClaw provider) can use it without loading the WASI shim, which starts
// its I/O thread as soon as it is imported: only the workers need it.

const DEFAULT_PORT = { "http:": "80", "https:": "443" };

/** `scheme://host:port` with an explicit port, lower-cased: the one origin a sandbox may reach. */
export function originOf(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(url)}`);
  }
  if (!isWebScheme(parsed.protocol)) {
    throw new TypeError(`${url} is not an http:// or https:// URL`);
  }
  const port = parsed.port || DEFAULT_PORT[parsed.protocol];
  return `${parsed.protocol}//${parsed.hostname.toLowerCase()}:${port}`;
}

/** Whether `scheme` (as `http:`) is one an origin can have. */
export function isWebScheme(scheme) {
  return scheme in DEFAULT_PORT;
}
