// Errors a sandboxed call ends with. `ProviderError` is the component's own
// typed `provider-error` (its `kind` is the WIT variant's tag and `detail`
// its payload); `SandboxError` is the sandbox stopping a call: a trap, a
// forbidden import, a memory or time limit, a worker that died, an abort.

/**
 * `text` with every control character shown as an escape (`\u{1b}`): the
 * component's messages quote what servers sent, and OpenClaw may print them
 * on a terminal, where an escape sequence would act.
 */
export function printable(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
}

/** The message a `provider-error` payload carries, whatever its variant. */
export function providerErrorMessage(payload) {
  return printable(rawMessage(payload));
}

function rawMessage({ tag, val }) {
  switch (tag) {
    case "connection":
    case "model-not-found":
    case "context-length-exceeded":
    case "server":
      return val.message;
    case "invalid-config":
      // The component refuses a call's own arguments as `request.<field>`.
      if (val.path === "request" || val.path.startsWith("request.")) {
        return `the request was not sent: ${val.path} ${val.reason}`;
      }
      return `invalid configuration at ${val.path}: ${val.reason}`;
    default:
      return typeof val === "string" ? val : JSON.stringify(val);
  }
}

export class ProviderError extends Error {
  /** @param {{tag: string, val: unknown}} payload the WIT `provider-error` */
  constructor(payload) {
    super(providerErrorMessage(payload));
    this.name = "ProviderError";
    this.kind = payload.tag;
    this.detail = payload.val;
  }
}

export class SandboxError extends Error {
  /**
   * @param {"trap"|"forbidden"|"oversize"|"timeout"|"aborted"|"worker"|"host"} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(printable(message));
    this.name = "SandboxError";
    this.kind = kind;
  }
}
