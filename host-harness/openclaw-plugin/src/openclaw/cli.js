// The plugin's OpenClaw command, `openclaw vllm-wasm doctor`: checks the
// configuration and the server as `vllm-harness doctor` does, through the
// same component in the same sandbox as a model call.

import { discoveryBaseUrl } from "./config.js";
import { closeSandboxes } from "./sandboxes.js";
import { diagnoseLines, reportJson, reportText } from "./doctor.js";
import { inOurSection, resolveIn } from "./provider.js";

export const COMMAND = "vllm-wasm";

/** What OpenClaw lists before it loads the plugin (the manifest says the same). */
export const DESCRIPTORS = [{ name: COMMAND, description: "Check the vLLM server and this plugin's configuration", hasSubcommands: true }];

/** Runs the doctor and sets the process's exit code; prints on stdout. */
export async function runDoctor({ config, model, json }, out = process.stdout) {
  let lines;
  try {
    lines = await diagnoseLines({
      config,
      model,
      // As discovery does: with no provider section, the pinned server.
      resolveIn: async (cfg, options) => {
        try {
          return await resolveIn(cfg, { ...options, baseUrl: discoveryBaseUrl(cfg) });
        } catch (error) {
          throw inOurSection(error);
        }
      },
    });
  } finally {
    await closeSandboxes();
  }
  out.write(json ? `${reportJson(lines)}\n` : reportText(lines));
  const first = lines.find((line) => line.status === "fail");
  process.exitCode = first ? first.code : 0;
  return lines;
}

/** Registers `openclaw vllm-wasm doctor [--model ID] [--json]` with OpenClaw's CLI. */
export function registerCli(api) {
  if (typeof api?.registerCli !== "function") return;
  api.registerCli(
    async ({ program, config }) => {
      const root = program.command(COMMAND).description(DESCRIPTORS[0].description);
      root
        .command("doctor")
        .description("One line per check of the configuration and the vLLM server, each failure with its fix; exit 0 when none failed, else the first failure's code (2 config, 3 connection, 4 API key, 5 request, 6 sandbox, 1 other)")
        .option("--model <id>", "model for the completion check (default: the first the server serves)")
        .option("--json", 'print {"ok", "exitCode", "checks": [{"name", "status", "detail", "fix", "error"}]}')
        .action(async (options) => {
          await runDoctor({ config, model: options.model, json: options.json === true });
        });
    },
    { descriptors: DESCRIPTORS },
  );
}
