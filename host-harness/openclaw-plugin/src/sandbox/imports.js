// The imports a provider component gets in the Node sandbox: exactly the
// interfaces it needs and nothing else. There is no `wasi:filesystem`,
// `wasi:sockets` or `wasi:random`, so a component that imports them fails to
// instantiate. Outgoing HTTP is allowed to one origin (scheme and authority),
// the environment holds only the variables the host chose, stdin is absent,
// the guest's stdout goes to stderr (stdout belongs to the host's own output,
// e.g. OpenClaw's --json), and `exit` traps instead of ending the process.

import { cli, clocks, http, io } from "@bytecodealliance/preview2-shim";
import { isWebScheme, originOf } from "./origin.js";

function schemeOf(scheme) {
  if (scheme === undefined) return "https:"; // wasi-http's default
  if (scheme.tag === "HTTP") return "http:";
  if (scheme.tag === "HTTPS") return "https:";
  return `${String(scheme.val).toLowerCase()}:`;
}

/** The origin a guest's outgoing request asks for, in `originOf`'s form, or a description of why it has none. */
export function requestOrigin(request) {
  const scheme = schemeOf(request.scheme());
  const authority = request.authority() ?? "";
  if (!isWebScheme(scheme)) return { origin: null, shown: `${scheme}//${authority}` };
  try {
    return { origin: originOf(`${scheme}//${authority}`), shown: `${scheme}//${authority}` };
  } catch {
    return { origin: null, shown: `${scheme}//${authority}` };
  }
}

class SandboxTrap extends Error {}

/**
 * The preview2 shim applies `connect-timeout` as Node's socket inactivity
 * timeout for everything up to the response head, so a server that takes
 * longer than the connect limit to start answering (a long prompt on a CPU
 * vLLM) would be cut off as a connect timeout. wasi-http means that phase to
 * be bounded by `first-byte-timeout`; give the shim the larger of the two.
 */
function widenConnectTimeout(options) {
  const connect = options.connectTimeout();
  const firstByte = options.firstByteTimeout();
  if (connect !== undefined && firstByte !== undefined && firstByte > connect) options.setConnectTimeout(firstByte);
}

function trap(what) {
  return () => {
    throw new SandboxTrap(`the component called ${what}, which the sandbox does not provide`);
  };
}

/**
 * @param {object} options
 * @param {string} options.allowedOrigin `originOf(...)` of the one server the guest may call
 * @param {Array<[string, string]>} options.env the guest's whole environment
 * @param {(shown: string) => void} options.onDenied told of every refused request
 */
export function sandboxImports({ allowedOrigin, env, onDenied }) {
  const environment = env.map(([name, value]) => [name, value]);
  return {
    "wasi:cli/environment": {
      getEnvironment: () => environment,
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    "wasi:cli/exit": { exit: trap("wasi:cli/exit#exit"), exitWithCode: trap("wasi:cli/exit#exit-with-code") },
    "wasi:cli/stdin": { getStdin: trap("wasi:cli/stdin#get-stdin") },
    "wasi:cli/stdout": { getStdout: () => cli.stderr.getStderr() },
    "wasi:cli/stderr": cli.stderr,
    "wasi:cli/terminal-input": cli.terminalInput,
    "wasi:cli/terminal-output": cli.terminalOutput,
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
    "wasi:clocks/monotonic-clock": clocks.monotonicClock,
    "wasi:io/error": io.error,
    "wasi:io/poll": io.poll,
    "wasi:io/streams": io.streams,
    "wasi:http/types": http.types,
    "wasi:http/outgoing-handler": {
      handle(request, options) {
        const { origin, shown } = requestOrigin(request);
        if (origin !== allowedOrigin) {
          onDenied(shown);
          return { tag: "err", val: { tag: "HTTP-request-denied" } };
        }
        if (options) widenConnectTimeout(options);
        return http.outgoingHandler.handle(request, options);
      },
    },
  };
}

export { SandboxTrap };
