#!/usr/bin/env bash
# Every test tier, as the README promises:
#   1. unit tests of the plugin logic (native),
#   2. component tests: the built .wasm through the harness against a mock
#      vLLM server on 127.0.0.1, and the CLI binary run for every command.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null 2>&1 || true

echo "==> building the plugin component (wasm32-wasip2, release)"
cargo build --locked --release --target wasm32-wasip2 -p vllm-provider

echo "==> unit, component and CLI tests"
cargo test --locked --workspace
