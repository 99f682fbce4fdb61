#!/usr/bin/env bash
# Start the three reference servers with vllm-local, send the requests whose
# answers the Rust side must understand, and save the raw bodies (JSON and SSE
# text, volatile id/created left as they were) under tests/vllm/observed/.
# Usage: tests/vllm/capture-observed.sh [OUT_DIR]   (default: tests/vllm/observed)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
V=$HERE/vllm-local
OUT=${1:-$HERE/observed}
mkdir -p "$OUT"
PY=$("$V" python)

cleanup() { "$V" stop obs-plain >/dev/null 2>&1 || true; "$V" stop obs-key >/dev/null 2>&1 || true; "$V" stop obs-tools >/dev/null 2>&1 || true; }
trap cleanup EXIT

# Sequential starts: three servers booting at once on 2 cores take much longer.
"$V" start obs-plain > "$OUT/state-plain.json"
"$V" start obs-key --api-key k-test > "$OUT/state-key.json"
"$V" start obs-tools --tools --reasoning > "$OUT/state-tools.json"
base() { jq -r .base_url "$OUT/state-$1.json"; }
root() { base "$1" | sed 's#/v1$##'; }
PLAIN=$(base plain) KEY=$(base key) TOOLS=$(base tools)

INDEX=$OUT/index.tsv
printf 'file\tstatus\tcontent_type\tmethod\turl_path\tserver\tnote\n' > "$INDEX"

# req FILE SERVER METHOD URL [BODY] [NOTE] [extra curl args...]
req() {
  local file=$1 server=$2 method=$3 url=$4 body=${5:-} note=${6:-}
  shift 6 || shift $#
  local hdr
  hdr=$(mktemp)
  local -a args=(-sS -N --max-time 120 -X "$method" -D "$hdr" -o "$OUT/$file")
  if [[ -n $body ]]; then
    args+=(-H 'content-type: application/json' --data-binary "$body")
    printf '%s\n' "$body" | jq . > "$OUT/${file%.*}.request.json" 2>/dev/null \
      || printf '%s\n' "$body" > "$OUT/${file%.*}.request.json"
  fi
  curl "${args[@]}" "$@" "$url" || true
  local status ctype
  status=$(awk 'toupper($1) ~ /^HTTP/ {s=$2} END {print s}' "$hdr")
  ctype=$(awk 'tolower($1) == "content-type:" {sub(/\r$/, ""); sub(/^[^:]*: */, ""); c=$0} END {print c}' "$hdr")
  rm -f "$hdr"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$status" "$ctype" "$method" "${url#http://127.0.0.1:*/}" "$server" "$note" >> "$INDEX"
  echo "==> $file: HTTP $status $ctype" >&2
}

M='"model":"tiny-chat"'
HELLO='[{"role":"user","content":"Hello!"}]'
WEATHER='{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a city.","parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city name, e.g. Paris"}},"required":["city"]}}}'
TIME='{"type":"function","function":{"name":"get_time","description":"Get the current time in a timezone.","parameters":{"type":"object","properties":{"timezone":{"type":"string","description":"An IANA timezone name or UTC"}},"required":["timezone"]}}}'
WQ='[{"role":"user","content":"What'"'"'s the weather in Paris?"}]'
LONG=$("$PY" -c 'print(" ".join(["hello"] * 3000))')

# ---- plain server -----------------------------------------------------------
req health.txt plain GET "$(root plain)/health" "" "empty body"
req version.json plain GET "$(root plain)/version"
req models.json plain GET "$PLAIN/models"
req chat.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0}"
req chat-stream-usage.sse plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
req chat-stream.sse plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0,\"stream\":true}"
req chat-length.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"Count from 1 to 50.\"}],\"temperature\":0,\"max_tokens\":5}" "finish_reason length"
req chat-think-plain.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: what is 2 + 2?\"}],\"temperature\":0}" "no reasoning parser: <think> stays in content"
req chat-logprobs.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0,\"max_tokens\":3,\"logprobs\":true,\"top_logprobs\":2}"
req completion.json plain POST "$PLAIN/completions" "{$M,\"prompt\":\"<|im_start|>user\\nHello!<|im_end|>\\n<|im_start|>assistant\\n\",\"temperature\":0,\"max_tokens\":16}"
req completion-stream.sse plain POST "$PLAIN/completions" "{$M,\"prompt\":\"<|im_start|>user\\nHello!<|im_end|>\\n<|im_start|>assistant\\n\",\"temperature\":0,\"max_tokens\":16,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
req tokenize.json plain POST "$(root plain)/tokenize" "{$M,\"messages\":$HELLO}"
req tokenize-tools.json plain POST "$(root plain)/tokenize" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER]}"
req error-unknown-model.json plain POST "$PLAIN/chat/completions" "{\"model\":\"nope\",\"messages\":$HELLO}"
req error-context-too-long.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"$LONG\"}]}"
req error-max-tokens-too-large.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"max_tokens\":5000}"
req error-context-too-long-stream.sse plain POST "$PLAIN/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"$LONG\"}],\"stream\":true}"
req error-tool-choice-auto-plain.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER],\"tool_choice\":\"auto\"}"
req tools-no-choice-plain.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER],\"temperature\":0}" "tools without tool_choice, no tool flags"
req error-tools-empty.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"tools\":[]}"
req tool-required-plain.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER],\"tool_choice\":\"required\",\"temperature\":0,\"max_tokens\":64}"
req tool-named-plain.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},\"temperature\":0,\"max_tokens\":64}"
req error-stream-options-no-stream.json plain POST "$PLAIN/chat/completions" "{$M,\"messages\":$HELLO,\"stream_options\":{\"include_usage\":true}}"
req error-bad-json.json plain POST "$PLAIN/chat/completions" "{not json"
req error-missing-messages.json plain POST "$PLAIN/chat/completions" "{$M}"
req error-get-chat.json plain GET "$PLAIN/chat/completions"
req error-no-route.json plain GET "$PLAIN/nope"

# ---- --api-key server -------------------------------------------------------
req error-401-missing-key.json key POST "$KEY/chat/completions" "{$M,\"messages\":$HELLO}"
req error-401-wrong-key.json key POST "$KEY/chat/completions" "{$M,\"messages\":$HELLO}" "" -H 'authorization: Bearer wrong'
req error-401-models-no-key.json key GET "$KEY/models" "" ""
req models-with-key.json key GET "$KEY/models" "" "" -H 'authorization: Bearer k-test'
req chat-with-key.json key POST "$KEY/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0}" "" -H 'authorization: Bearer k-test'
req health-key-server-no-key.txt key GET "$(root key)/health" "" "/health without a key"
req version-key-server-no-key.json key GET "$(root key)/version" "" "/version without a key"
req metrics-key-server-no-key.txt key GET "$(root key)/metrics" "" "/metrics without a key"
req tokenize-key-server-no-key.json key POST "$(root key)/tokenize" "{$M,\"messages\":$HELLO}" "/tokenize without a key"

# ---- --tools --reasoning server --------------------------------------------
req tool-auto.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER,$TIME],\"tool_choice\":\"auto\",\"temperature\":0}"
req tool-auto-stream.sse tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER,$TIME],\"tool_choice\":\"auto\",\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
req tool-parallel.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"What's the weather in Paris and in London?\"}],\"tools\":[$WEATHER],\"temperature\":0}"
req tool-parallel-stream.sse tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"What's the weather in Paris and in London?\"}],\"tools\":[$WEATHER],\"temperature\":0,\"stream\":true}"
req tool-required.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER,$TIME],\"tool_choice\":\"required\",\"temperature\":0,\"max_tokens\":64}"
req tool-required-stream.sse tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER,$TIME],\"tool_choice\":\"required\",\"temperature\":0,\"max_tokens\":64,\"stream\":true}"
req tool-named.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER,$TIME],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},\"temperature\":0,\"max_tokens\":64}"
req tool-named-stream.sse tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER,$TIME],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},\"temperature\":0,\"max_tokens\":64,\"stream\":true}"
req tool-choice-none.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$WQ,\"tools\":[$WEATHER],\"tool_choice\":\"none\",\"temperature\":0}"
req tool-result.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"What's the weather in Paris?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_0\",\"content\":\"Sunny, 22 C\"}],\"tools\":[$WEATHER,$TIME],\"temperature\":0}"
req think.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: what is 2 + 2?\"}],\"temperature\":0}"
req think-stream.sse tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: what is 2 + 2?\"}],\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
req think-disabled.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: what is 2 + 2?\"}],\"temperature\":0,\"chat_template_kwargs\":{\"enable_thinking\":false}}"
req hello-reasoning-server.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0}" "no <think> in the output: qwen3 parser puts it all in reasoning"
req hello-reasoning-server-stream.sse tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0,\"stream\":true}"
req hello-thinking-disabled.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":$HELLO,\"temperature\":0,\"chat_template_kwargs\":{\"enable_thinking\":false}}"
req think-include-reasoning-false.json tools POST "$TOOLS/chat/completions" "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: what is 2 + 2?\"}],\"temperature\":0,\"include_reasoning\":false}"

"$PY" - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
with open(os.path.join(out, "states.json"), "w") as f:
    json.dump({k: json.load(open(os.path.join(out, f"state-{k}.json"))) for k in ("plain", "key", "tools")}, f, indent=2)
for k in ("plain", "key", "tools"):
    os.remove(os.path.join(out, f"state-{k}.json"))
EOF
echo "==> saved to $OUT (see index.tsv)" >&2
