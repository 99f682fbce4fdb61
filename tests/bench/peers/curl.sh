#!/usr/bin/env bash
# curl client of the benchmark (tests/bench/PROTOCOL.md): the raw floor.
#
# What it measures: plain curl (7.88 or newer) sending the protocol's request
# and reading the reply with no SDK and no JSON parsing at all.
#   latency, ttft, stream: one curl process per request (one unmeasured
#     warm-up first). The latencies are curl's own `-w` measures, so process
#     spawn is not in them (it is in elapsed_us): `latency` and `stream` use
#     %{time_total} (the whole reply read); `ttft` uses %{time_starttransfer},
#     curl's time to the FIRST BYTE OF THE RESPONSE (status line and headers),
#     not to the first parsed event: a lower bound of the others' ttft, equal
#     to it when the server sends its headers with the first event.
#   concurrent: C streams started at once by ONE curl process
#     (`--parallel --parallel-immediate --parallel-max C`, a --config file
#     with C url/output pairs, every reply to its own file in a temporary
#     folder). curl caps --parallel-max at 300 (curl 7.88's MAX_PARALLEL), so
#     above 300 streams the C transfers are split over ceil(C/300) curl
#     processes started together, each carrying at most 300 streams.
#     elapsed_us runs from just before the curl processes start to their exit.
#     Replies take about 200 bytes per event on disk (in ${TMPDIR:-/tmp})
#     until counted.
#   once: one streamed request, nothing else.
#
# Events counted: `data: {` lines whose delta has a non-empty "content",
# "reasoning", "reasoning_content" or tool-call "arguments" string (grep over
# the saved reply, after the request: the role chunk, the tool call's
# id/name chunk with empty arguments, the finish chunk and the usage chunk are
# not events). A stream without `data: [DONE]` counts as failed.
#
# Every request: `--no-buffer` for streams, `--max-time 120`, no API key, no
# retries. The report line is composed with printf (no jq needed).
#
# Run:
#   tests/bench/peers/curl.sh stream --base-url http://127.0.0.1:PORT/v1 --model text \
#       --requests 10 --max-tokens 10000
# Prints one JSON line on stdout; exit 1 if any request failed, 2 on a bad
# command line.
set -euo pipefail

readonly CLIENT=curl
readonly TIMEOUT_S=120
readonly PARALLEL_CAP=300
readonly USAGE="usage: curl.sh <latency|ttft|stream|concurrent|once> --base-url URL --model ID [--requests N] [--concurrency C] [--max-tokens T]"
readonly EVENT_RE='^data: \{.*"(content|reasoning|reasoning_content|arguments)":[[:space:]]*"[^"]'

usage_error() {
  printf '%s\n%s\n' "$1" "$USAGE" >&2
  exit 2
}

int_arg() { # NAME VALUE MAX
  [[ $2 =~ ^[0-9]+$ ]] || usage_error "$1 needs a whole number, not '$2'"
  ((${#2} <= 7 && 10#$2 >= 1 && 10#$2 <= $3)) || usage_error "$1 must be within 1..=$3"
  printf -v "$4" '%d' "$((10#$2))"
}

scenario="" base_url="" model="" requests=1 concurrency=1 max_tokens=16
while (($#)); do
  flag=$1 value=""
  if [[ $flag == --*=* ]]; then
    value=${flag#*=} flag=${flag%%=*}
  elif [[ $flag == --* && $flag != --help ]]; then
    (($# >= 2)) || usage_error "$flag needs a value"
    value=$2
    shift
  fi
  shift
  case $flag in
    --base-url) base_url=${value%/} ;;
    --model) model=$value ;;
    --requests) int_arg "$flag" "$value" 100000 requests ;;
    --concurrency) int_arg "$flag" "$value" 100000 concurrency ;;
    --max-tokens) int_arg "$flag" "$value" 1000000 max_tokens ;;
    -h | --help) printf '%s\n' "$USAGE"; exit 0 ;;
    latency | ttft | stream | concurrent | once)
      [[ -z $scenario ]] || usage_error "unexpected argument '$flag'"
      scenario=$flag ;;
    *) usage_error "unexpected argument '$flag'" ;;
  esac
done
[[ -n $scenario ]] || usage_error "no scenario given"
[[ -n $base_url ]] || usage_error "--base-url is required"
[[ -n $model ]] || usage_error "--model is required"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-curl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# JSON string body (without quotes) of $1, into the variable named $2.
json_escape() {
  local _s=$1
  _s=${_s//\\/\\\\}
  _s=${_s//\"/\\\"}
  _s=${_s//[[:cntrl:]]/ }
  printf -v "$2" '%s' "$_s"
}

model_json="" req_first_us=0 req_total_us=0 req_events=0 req_error=""
json_escape "$model" model_json
url="$base_url/chat/completions"
printf '{"model":"%s","messages":[{"role":"user","content":"hi"}],"max_tokens":%d,"stream":false}' \
  "$model_json" "$max_tokens" >"$tmp/plain.json"
printf '{"model":"%s","messages":[{"role":"user","content":"hi"}],"max_tokens":%d,"stream":true,"stream_options":{"include_usage":true}}' \
  "$model_json" "$max_tokens" >"$tmp/stream.json"

# The options every request shares. `Expect:` keeps curl from ever waiting for
# 100-continue; --no-progress-meter because curl 7.88 draws its parallel
# progress meter even with -s.
common=(-sS --no-progress-meter -X POST -H 'Content-Type: application/json' -H 'Expect:' --max-time "$TIMEOUT_S")

# "S.FFFFFF" seconds (curl's -w times, $EPOCHREALTIME) into whole microseconds in the variable named $2.
to_us() {
  local _s=$1 _int _frac=0
  _int=${_s%%.*}
  [[ $_s == *.* ]] && _frac=${_s#*.}
  _frac="${_frac}000000"
  printf -v "$2" '%d' "$((10#${_int:-0} * 1000000 + 10#${_frac:0:6}))"
}

# The first line of a file, cut short and made printable.
snippet() {
  local line=""
  if [[ -f $1 ]]; then IFS= read -r -n 300 line <"$1" || true; fi
  printf '%s' "${line//[$'\t\r\n']/ }"
}

# Counts events in reply file $1 into req_events; fails (req_error) if it has no [DONE].
# (LC_ALL=C: grep is about 20 times slower on these lines in a UTF-8 locale.)
count_events() {
  req_events=$(LC_ALL=C grep -c -E "$EVENT_RE" "$1" || true)
  if ! LC_ALL=C grep -q "^data: \\[DONE\\]" "$1"; then
    req_error="the stream ended without data: [DONE]"
    return 1
  fi
}

# One request, streamed ($1 = stream) or not ($1 = plain). Sets req_first_us,
# req_total_us, req_events; on failure returns 1 with req_error set.
one_request() {
  local kind=$1 out="$tmp/reply" written code first total
  local -a flags=()
  [[ $kind == stream ]] && flags=(--no-buffer)
  req_events=0 req_error=""
  if ! written=$(curl "${common[@]}" "${flags[@]}" --data-binary @"$tmp/$kind.json" -o "$out" \
    -w '%{http_code} %{time_starttransfer} %{time_total}' "$url" 2>"$tmp/stderr"); then
    req_error=$(snippet "$tmp/stderr")
    return 1
  fi
  read -r code first total <<<"$written"
  if [[ $code != 200 ]]; then
    req_error="HTTP $code: $(snippet "$out")"
    return 1
  fi
  to_us "$first" req_first_us
  to_us "$total" req_total_us
  if [[ $kind == stream ]]; then
    count_events "$out" || return 1
  fi
  return 0
}

latencies="" events=0 elapsed_us=0 errors=0 error=""
fail() {
  errors=$((errors + 1))
  [[ -n $error ]] || error=$1
}

# C streams at once, split over ceil(C / PARALLEL_CAP) curl processes.
run_concurrent() {
  local procs=$(((concurrency + PARALLEL_CAP - 1) / PARALLEL_CAP))
  local p i from to n pids=() start end status line code exitcode file msg
  for ((p = 0; p < procs; p++)); do
    from=$((p * PARALLEL_CAP))
    to=$((from + PARALLEL_CAP < concurrency ? from + PARALLEL_CAP : concurrency))
    for ((i = from; i < to; i++)); do
      printf 'url = "%s"\noutput = "%s/reply.%d"\n' "$url" "$tmp" "$i"
    done >"$tmp/parallel.$p.cfg"
  done
  start=$EPOCHREALTIME
  for ((p = 0; p < procs; p++)); do
    n=$(((p + 1) * PARALLEL_CAP < concurrency ? PARALLEL_CAP : concurrency - p * PARALLEL_CAP))
    curl "${common[@]}" --no-buffer --data-binary @"$tmp/stream.json" \
      --parallel --parallel-immediate --parallel-max "$n" --config "$tmp/parallel.$p.cfg" \
      -w '%{http_code} %{exitcode} %{filename_effective} %{errormsg}\n' \
      >"$tmp/results.$p" 2>"$tmp/stderr.$p" &
    pids+=($!)
  done
  status=0
  for ((p = 0; p < procs; p++)); do
    wait "${pids[p]}" || status=$?
  done
  end=$EPOCHREALTIME
  local s e
  to_us "$start" s
  to_us "$end" e
  elapsed_us=$((e - s))

  # Each transfer's outcome, then the events of all complete replies counted by
  # a few greps at once (not two processes per reply).
  local seen=0 ok=() count
  local -A cut=()
  for ((p = 0; p < procs; p++)); do
    while IFS=' ' read -r code exitcode file msg; do
      seen=$((seen + 1))
      if [[ $exitcode != 0 ]]; then
        fail "curl: ${msg:-exit code $exitcode}"
      elif [[ $code != 200 ]]; then
        fail "HTTP $code: $(snippet "$file")"
      else
        ok+=("$file")
      fi
    done <"$tmp/results.$p"
  done
  if ((${#ok[@]} > 0)); then
    while IFS= read -r file; do
      cut[$file]=1
      fail "the stream ended without data: [DONE]"
    done < <(printf '%s\0' "${ok[@]}" | LC_ALL=C xargs -0 grep -L '^data: \[DONE\]' -- || true)
    while IFS= read -r line; do
      file=${line%:*} count=${line##*:}
      [[ -n ${cut[$file]:-} ]] || events=$((events + count))
    done < <(printf '%s\0' "${ok[@]}" | LC_ALL=C xargs -0 grep -H -c -E "$EVENT_RE" -- || true)
  fi
  if ((seen < concurrency)); then
    # curl itself failed (bad option, out of memory...) before reporting every transfer.
    local missing=$((concurrency - seen)) why
    why=$(snippet "$tmp/stderr.0")
    for ((i = 0; i < missing; i++)); do
      fail "curl ended with status $status before finishing every transfer${why:+: $why}"
    done
  fi
}

case $scenario in
  latency | ttft | stream)
    kind=stream
    [[ $scenario == latency ]] && kind=plain
    if ! one_request "$kind"; then
      fail "warm-up: $req_error"
    else
      start=$EPOCHREALTIME
      for ((r = 0; r < requests; r++)); do
        if one_request "$kind"; then
          case $scenario in
            latency) latency=$req_total_us ;;
            ttft) latency=$req_first_us; events=$((events + req_events)) ;;
            stream) latency=$req_total_us; events=$((events + req_events)) ;;
          esac
          latencies+="${latencies:+,}$latency"
        else
          fail "$req_error"
        fi
      done
      end=$EPOCHREALTIME
      to_us "$start" s
      to_us "$end" e
      elapsed_us=$((e - s))
    fi
    ;;
  concurrent)
    run_concurrent
    ;;
  once)
    start=$EPOCHREALTIME
    if one_request stream; then
      events=$req_events
    else
      fail "$req_error"
    fi
    end=$EPOCHREALTIME
    to_us "$start" s
    to_us "$end" e
    elapsed_us=$((e - s))
    ;;
esac

if [[ -n $error ]]; then
  printf '%s: %d request(s) failed; the first: %s\n' "$CLIENT" "$errors" "$error" >&2
  json_escape "$error" error_json
  error_json="\"$error_json\""
else
  error_json=null
fi
printf '{"client":"%s","scenario":"%s","latencies_us":[%s],"events":%d,"elapsed_us":%d,"errors":%d,"error":%s}\n' \
  "$CLIENT" "$scenario" "$latencies" "$events" "$elapsed_us" "$errors" "$error_json"
((errors == 0)) || exit 1
