// `openclaw vllm-wasm doctor`: the component's `diagnose`, run in the
// sandbox with the plugin's OpenClaw configuration, printed as
// `vllm-harness doctor` prints it: one line per check, each failure with its
// fix, and the exit code of the first failure (0 when none failed).

import { printable } from "../sandbox/errors.js";
import { ProviderError } from "../sandbox/index.js";
import { API_KEY_ENV, inOurWords } from "./config.js";

/** Exit codes, as `vllm-harness` documents them. */
const EXIT = { ok: 0, other: 1, config: 2, connection: 3, auth: 4, request: 5, sandbox: 6 };

/** The exit code a provider error (a WIT `provider-error`, `{tag, val}`) stands for. */
export function exitCodeOf(error) {
  switch (error?.tag) {
    case "invalid-config":
      return EXIT.config;
    case "connection":
      return EXIT.connection;
    case "auth":
      return EXIT.auth;
    case "model-not-found":
    case "context-length-exceeded":
    case "bad-request":
      return EXIT.request;
    case "denied":
      return EXIT.sandbox;
    default:
      return EXIT.other;
  }
}

const LABELS = { pass: "ok", warn: "warn", fail: "FAIL", skip: "skip" };

/** A report of `lines` ({name, status, detail, fix, code}) as text. */
export function reportText(lines) {
  let out = "";
  for (const line of lines) {
    out += `${(LABELS[line.status] ?? line.status).padEnd(5)} ${printable(line.name).padEnd(11)} ${printable(line.detail)}\n`;
    if (line.fix) out += `${"".padEnd(17)} fix: ${printable(line.fix)}\n`;
  }
  const failed = lines.filter((l) => l.status === "fail").length;
  const warned = lines.filter((l) => l.status === "warn").length;
  const warnings = warned === 0 ? "" : warned === 1 ? " (1 warning)" : ` (${warned} warnings)`;
  out += failed === 0 ? `\nall ${lines.length} checks passed${warnings}\n` : `\n${failed} of ${lines.length} checks failed${warnings}\n`;
  return out;
}

/** `--json`: `{"ok", "exitCode", "checks": [{"name", "status", "detail", "fix", "error"}]}`, as `vllm-harness doctor --json`. */
export function reportJson(lines) {
  const first = lines.find((l) => l.status === "fail");
  return JSON.stringify({
    ok: !first,
    exitCode: first ? first.code : 0,
    checks: lines.map(({ name, status, detail, fix, error }) => ({ name, status, detail, fix: fix ?? null, error: error ?? null })),
  });
}

function configLine(status, detail, fix, code) {
  return { name: "config", status, detail, fix, error: null, code };
}

/**
 * The report's lines: config (resolved by the component), then the
 * component's checks of the server. `resolveIn(config, {apiKey, baseUrl})`
 * gives the sandbox and the resolved config, as for a model call.
 */
export async function diagnoseLines({ config, resolveIn, model, signal }) {
  let sandbox;
  let resolved;
  try {
    ({ sandbox, resolved } = await resolveIn(config, { apiKey: process.env[API_KEY_ENV] || undefined, signal }));
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return [configLine("fail", error.message, 'correct models.providers["vllm-wasm"] or plugins.entries["vllm-wasm"].config', exitCodeOf({ tag: error.kind }))];
  }
  if (resolved.mode === "disabled") {
    return [
      configLine(
        "fail",
        `the provider is disabled: ${resolved.reason}`,
        `set plugins.entries.vllm-wasm.config.baseUrl, or ${API_KEY_ENV}, or add models.providers.vllm-wasm`,
        EXIT.config,
      ),
    ];
  }
  const key = resolved.apiKey ? "API key set" : "no API key";
  const lines = [configLine("pass", `base URL ${resolved.baseUrl}, ${key}, ${resolved.mode} mode`, null, 0)];
  const checks = await sandbox.diagnose(resolved, model, { signal });
  for (const check of checks) {
    const code = check.status === "fail" ? (check.error ? exitCodeOf(check.error) : EXIT.other) : 0;
    lines.push({
      name: check.name,
      status: check.status,
      detail: inOurWords(check.detail),
      fix: inOurWords(check.fix) ?? null,
      error: check.error?.tag ?? null,
      code,
    });
  }
  return lines;
}
