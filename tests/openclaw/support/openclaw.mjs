// Runs the real `openclaw` CLI (installed in tests/openclaw/node_modules,
// apart from the plugin, as a user installs it) hermetically: its own HOME,
// state dir and config file under a temp dir, the plugin loaded from
// host-harness/openclaw-plugin by path, and an environment that holds only
// what the test passes.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "..", "..", "..");
export const PLUGIN_DIR = join(REPO, "host-harness", "openclaw-plugin");
export const WEATHER_TOOL_DIR = join(REPO, "tests", "openclaw", "fixtures", "weather-tool");
export const OPENCLAW_BIN = join(REPO, "tests", "openclaw", "node_modules", "openclaw", "openclaw.mjs");

/** Bounded wait for a child: every command gets a deadline. */
const DEFAULT_TIMEOUT_MS = 240_000;

export class OpenClawHome {
  constructor(label) {
    this.dir = mkdtempSync(join(tmpdir(), `openclaw-${label}-`));
    this.home = join(this.dir, "home");
    this.state = join(this.dir, "state");
    this.workspace = join(this.dir, "workspace");
    this.configPath = join(this.state, "openclaw.json");
    for (const dir of [this.home, this.state, this.workspace]) mkdirSync(dir, { recursive: true });
  }

  /** Writes the config (a JSON value; OpenClaw reads it as JSON5). */
  writeConfig(config) {
    writeFileSync(this.configPath, `${JSON.stringify(config, null, 2)}\n`);
  }

  /**
   * Runs `openclaw ...args` on this Node; resolves to {code, stdout, stderr,
   * json (stdout parsed, or null), ms}.
   */
  run(args, { env = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const started = performance.now();
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [OPENCLAW_BIN, ...args], {
        cwd: this.workspace,
        env: {
          PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
          HOME: this.home,
          OPENCLAW_STATE_DIR: this.state,
          OPENCLAW_CONFIG_PATH: this.configPath,
          NO_COLOR: "1",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`openclaw ${args.join(" ")} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, timeoutMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        let json = null;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = null;
        }
        resolvePromise({ code, stdout, stderr, json, ms: performance.now() - started });
      });
    });
  }

  remove() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The plugin section of an OpenClaw config: load our plugin by path, pin it to `baseUrl`. */
export function pluginConfig(baseUrl, extra = {}) {
  return {
    load: { paths: [PLUGIN_DIR] },
    entries: { "vllm-wasm": { enabled: true, config: { baseUrl, ...extra } } },
  };
}
