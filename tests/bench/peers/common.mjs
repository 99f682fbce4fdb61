// Shared part of the Node clients of the benchmark (pi-ai.mjs, openai.mjs):
// the command line and the report line of tests/bench/PROTOCOL.md, and the
// timing of the five scenarios. A client only supplies two functions:
//
//   streamOne({ signal })   one streamed request; resolves to
//                           { events, firstNs } (firstNs: process.hrtime.bigint()
//                           when the first delta event was parsed, or null)
//   completeOne({ signal }) one non-streamed request, resolved once the whole
//                           reply is parsed
//
// and calls `main(name, { streamOne, completeOne }, parseArgs())`. Every request gets its
// own AbortSignal that fires after REQUEST_TIMEOUT_MS (the whole request,
// body included), so a hung server cannot hang the benchmark. Times come from
// process.hrtime.bigint(). The report goes to stdout as one JSON line; every
// diagnostic goes to stderr. The process exits 1 when any request failed,
// 2 on a bad command line.

/** A whole request (headers and body) may take this long. */
export const REQUEST_TIMEOUT_MS = 120_000;

/** What SDKs that insist on an API key are given; the server needs none. Never printed. */
export const DUMMY_API_KEY = "none";

/** The one user message every client sends. */
export const PROMPT = "hi";

const SCENARIOS = ["latency", "ttft", "stream", "concurrent", "once"];

const USAGE =
  "usage: <client> <latency|ttft|stream|concurrent|once> --base-url URL --model ID " +
  "[--requests N] [--concurrency C] [--max-tokens T]";

function usageError(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function intArg(name, value, max) {
  if (!/^[0-9]+$/.test(value ?? "")) usageError(`${name} needs a whole number, not ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < 1 || n > max) usageError(`${name} must be within 1..=${max}`);
  return n;
}

/** Parses `<scenario> --base-url URL --model ID [--requests N] [--concurrency C] [--max-tokens T]`. */
export function parseArgs(argv = process.argv.slice(2)) {
  const job = { scenario: null, baseUrl: null, model: null, requests: 1, concurrency: 1, maxTokens: 16 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const [flag, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--base-url": job.baseUrl = value().replace(/\/+$/, ""); break;
      case "--model": job.model = value(); break;
      case "--requests": job.requests = intArg(flag, value(), 100_000); break;
      case "--concurrency": job.concurrency = intArg(flag, value(), 100_000); break;
      case "--max-tokens": job.maxTokens = intArg(flag, value(), 1_000_000); break;
      case "-h":
      case "--help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        if (flag.startsWith("-") || job.scenario !== null) usageError(`unexpected argument ${JSON.stringify(arg)}`);
        if (!SCENARIOS.includes(flag)) usageError(`unknown scenario ${JSON.stringify(flag)}`);
        job.scenario = flag;
    }
  }
  if (job.scenario === null) usageError("no scenario given");
  if (!job.baseUrl) usageError("--base-url is required");
  if (!job.model) usageError("--model is required");
  return job;
}

const now = () => process.hrtime.bigint();
const micros = (ns) => Number(ns / 1000n);

function message(err) {
  // Node's fetch hides the socket error in `cause` ("fetch failed" <- "connect ECONNREFUSED ..."):
  // follow a few causes.
  const parts = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 4; e = e.cause, depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (text && !parts.includes(text)) parts.push(text);
    if (!(e instanceof Error)) break;
  }
  return parts.join(": ") || "unknown error";
}

/** Runs `fn` with a fresh per-request timeout signal. */
function withTimeout(fn) {
  return fn({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/** Measures `job.scenario` with the client's request functions; returns the report. */
export async function measure(client, job, { streamOne, completeOne }) {
  const report = {
    client,
    scenario: job.scenario,
    latencies_us: [],
    events: 0,
    elapsed_us: 0,
    errors: 0,
    error: null,
  };
  const fail = (err) => {
    report.errors += 1;
    if (report.error === null) report.error = message(err);
  };
  const one = job.scenario === "latency" ? () => withTimeout(completeOne) : () => withTimeout(streamOne);

  if (["latency", "ttft", "stream"].includes(job.scenario)) {
    try {
      await one();
    } catch (err) {
      fail(new Error(`warm-up: ${message(err)}`));
      return report;
    }
  }

  const start = now();
  switch (job.scenario) {
    case "latency":
    case "ttft":
    case "stream":
      for (let i = 0; i < job.requests; i++) {
        const sent = now();
        try {
          const got = await one();
          const end = now();
          if (job.scenario === "latency") {
            // A non-streamed reply has no delta events to count (as the component's client).
            report.latencies_us.push(micros(end - sent));
          } else {
            report.events += got.events;
            const first = job.scenario === "ttft" && got.firstNs !== null ? got.firstNs : end;
            report.latencies_us.push(micros(first - sent));
          }
        } catch (err) {
          fail(err);
        }
      }
      break;
    case "concurrent": {
      // All C requests are started in this one synchronous loop, then awaited together.
      const all = [];
      for (let i = 0; i < job.concurrency; i++) {
        all.push(
          withTimeout(streamOne).then(
            (got) => { report.events += got.events; },
            (err) => fail(err),
          ),
        );
      }
      await Promise.all(all);
      break;
    }
    case "once":
      try {
        report.events = (await one()).events;
      } catch (err) {
        fail(err);
      }
      break;
  }
  report.elapsed_us = micros(now() - start);
  return report;
}

/** Measures `job` (the parsed command line), prints the report line and exits. */
export async function main(client, fns, job = parseArgs()) {
  let report;
  try {
    report = await measure(client, job, fns);
  } catch (err) {
    // A bug in the client itself: still print a report line.
    report = { client, scenario: job.scenario, latencies_us: [], events: 0, elapsed_us: 0, errors: 1, error: message(err) };
  }
  if (report.error !== null) process.stderr.write(`${client}: ${report.errors} request(s) failed; the first: ${report.error}\n`);
  const code = report.errors > 0 ? 1 : 0;
  // Exit as soon as the line is flushed: idle keep-alive sockets must not keep the process alive.
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(code));
}
