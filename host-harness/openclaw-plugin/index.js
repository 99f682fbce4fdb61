// OpenClaw plugin entry: registers the `vllm-wasm` provider. See README.md
// ("OpenClaw") for installing it and src/sandbox/ for the sandbox.

import { registerCli } from "./src/openclaw/cli.js";
import { vllmWasmProvider } from "./src/openclaw/provider.js";

export default {
  id: "vllm-wasm",
  name: "vLLM (sandboxed WebAssembly provider)",
  description: "vLLM provider whose logic runs as a WebAssembly component in a sandboxed worker thread",
  register(api) {
    api.registerProvider(vllmWasmProvider(api));
    registerCli(api);
  },
};
