#!/usr/bin/env bash
# Every test tier, as the README promises:
#   1. unit tests of the plugin logic (native),
#   2. component tests: the built .wasm through the harness against a mock
#      vLLM server on 127.0.0.1, and the CLI binary run for every command
#      (one test binary, host-harness/tests/all); then the benchmark's
#      machinery (tests/bench/run --quick: the load server, the component,
#      the native, curl, pi-ai and openai clients, every figure); then the
#      OpenClaw plugin's Node tests (tests/openclaw/run sandbox): the
#      component transpiled by jco in its Node sandbox, against a loopback
#      mock and the hostile component; then the release artifacts
#      (host-harness/release: the component, the WIT, the npm tarball, the
#      harness with the component embedded, their sums) and the release
#      binary alone in an empty folder listing models and chatting.
#   3. conformance: the same component against real vLLM servers (CPU, a tiny
#      model built locally by tests/vllm/vllm-local): plain, with --api-key,
#      with the hermes tool parser and qwen3 reasoning parser, and with
#      priority scheduling and one sequence at a time; then the
#      real `openclaw` from npm loading the plugin (tests/openclaw/run
#      openclaw) against a server of its own with the hermes parser and a 16k
#      context.
# Between tiers 2 and 3 the parsers are fuzzed for FUZZ_SECONDS (default 30)
# each (tests/fuzz.sh). FUZZ=0 skips fuzzing and VLLM_CONFORMANCE=0 skips
# tier 3; each says so loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null 2>&1 || true

echo "==> building the plugin component (wasm32-wasip2, release)"
cargo build --locked --release --target wasm32-wasip2 -p vllm-provider

echo "==> tiers 1 and 2: unit, component and CLI tests"
cargo test --locked --workspace

echo "==> tier 2: the benchmark's machinery (a quick run, no real vLLM)"
bash tests/bench/run --quick --no-vllm

echo "==> tier 2: the OpenClaw plugin's Node sandbox (jco, worker threads)"
bash tests/openclaw/run sandbox

echo "==> tier 2: the release artifacts (host-harness/release), and the release binary alone"
dist=$(mktemp -d)
bash host-harness/release "$dist"
(cd "$dist" && sha256sum --check --quiet SHA256SUMS)
release_bin=$(ls "$dist"/vllm-harness-*)
VLLM_HARNESS_RELEASE_BIN=$release_bin cargo test --locked -p vllm-harness --test all -- \
  --include-ignored embedded::the_release_binary_alone
rm -rf "$dist"

if [[ ${FUZZ:-1} == 0 ]]; then
  cat >&2 <<'BANNER'

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  FUZZING SKIPPED (FUZZ=0): the parsers were not fuzzed in this run  !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

BANNER
else
  echo "==> fuzzing the SSE decoder, response mapping and config resolution"
  bash tests/fuzz.sh
fi

if [[ ${VLLM_CONFORMANCE:-1} == 0 ]]; then
  cat >&2 <<'BANNER'

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  CONFORMANCE TIER SKIPPED (VLLM_CONFORMANCE=0): nothing was checked !!
!!  against a real vLLM server in this run, and the real OpenClaw was  !!
!!  not run.                                                           !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

BANNER
  exit 0
fi

VLLM_LOCAL=tests/vllm/vllm-local
echo "==> tier 3: setting up the local vLLM (cached after the first run)"
"$VLLM_LOCAL" setup

names=(conf-plain-$$ conf-keyed-$$ conf-tools-$$ conf-openclaw-$$ conf-priority-$$)
stop_all() {
  for name in "${names[@]}"; do "$VLLM_LOCAL" stop "$name" >/dev/null 2>&1 || true; done
}
trap stop_all EXIT

key="conformance-key-$$-$RANDOM"
state=$(mktemp -d)
echo "==> tier 3: starting five vLLM servers"
"$VLLM_LOCAL" start "${names[0]}" >"$state/plain.json" &
p1=$!
"$VLLM_LOCAL" start "${names[1]}" --api-key "$key" >"$state/keyed.json" &
p2=$!
"$VLLM_LOCAL" start "${names[2]}" --tools --reasoning >"$state/tools.json" &
p3=$!
# OpenClaw's agent prompt is over 2k tokens. No reasoning parser: with qwen3's,
# this model's plain answers come back as reasoning, and OpenClaw wants text.
"$VLLM_LOCAL" start "${names[3]}" --tools --max-model-len 16384 >"$state/openclaw.json" &
p4=$!
# One request at a time, the queue ordered by priority: a foreground request
# visibly overtakes queued background ones.
"$VLLM_LOCAL" start "${names[4]}" -- --scheduling-policy priority --max-num-seqs 1 >"$state/priority.json" &
p5=$!
failed=0
for pid in $p1 $p2 $p3 $p4 $p5; do wait "$pid" || failed=1; done
[[ $failed == 0 ]] || { echo "a vLLM server did not start (see the lines above)" >&2; exit 1; }

base_url() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$1"; }
export VLLM_CONFORMANCE_PLAIN VLLM_CONFORMANCE_KEYED VLLM_CONFORMANCE_TOOLS VLLM_CONFORMANCE_KEY \
  VLLM_CONFORMANCE_PRIORITY
VLLM_CONFORMANCE_PLAIN=$(base_url "$state/plain.json")
VLLM_CONFORMANCE_KEYED=$(base_url "$state/keyed.json")
VLLM_CONFORMANCE_TOOLS=$(base_url "$state/tools.json")
VLLM_CONFORMANCE_KEY=$key
VLLM_CONFORMANCE_PRIORITY=$(base_url "$state/priority.json")
openclaw_url=$(base_url "$state/openclaw.json")
rm -rf "$state"

echo "==> tier 3: conformance tests against the real servers"
cargo test --locked -p vllm-harness --test all -- --include-ignored conformance:: \
  --skip conformance::priority::
# Alone, so that no other test's load decides how fast the queue fills.
cargo test --locked -p vllm-harness --test all -- --include-ignored conformance::priority::

echo "==> tier 3: the real OpenClaw loading the plugin, against the 16k server"
VLLM_OPENCLAW_BASE_URL=$openclaw_url bash tests/openclaw/run openclaw
