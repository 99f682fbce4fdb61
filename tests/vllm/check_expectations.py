#!/usr/bin/env python3
"""Replay the model's expectations.json against a running vLLM server.

Each canned case is rendered with the model's own chat template and sent to
POST {base}/completions at temperature 0 (raw text: no tool or reasoning parser
in the way), then text, prompt_tokens and finish_reason are compared with what
transformers produced greedily at build time.

Usage: $(vllm-local python) check_expectations.py STATE_JSON
   or: ... check_expectations.py --base-url URL [--api-key K] [--model-dir DIR] [--model ID]
Exit 0 when every case matches.
"""
import argparse
import json
import os
import sys
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state", nargs="?", help="state JSON printed by 'vllm-local start'")
    ap.add_argument("--base-url")
    ap.add_argument("--api-key")
    ap.add_argument("--model-dir")
    ap.add_argument("--model")
    args = ap.parse_args()
    if args.state:
        st = json.load(open(args.state))
        args.base_url = args.base_url or st["base_url"]
        args.api_key = args.api_key or st.get("api_key")
        args.model_dir = args.model_dir or st["model_dir"]
        args.model = args.model or st["model"]
    if not (args.base_url and args.model_dir):
        ap.error("need a state file or --base-url and --model-dir")
    model = args.model or "tiny-chat"

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.model_dir)
    exp = json.load(open(os.path.join(args.model_dir, "expectations.json")))
    failures = 0
    for case in exp["cases"]:
        prompt = tok.apply_chat_template(case["messages"], tools=case.get("tools"), tokenize=False,
                                         add_generation_prompt=True, **(case.get("chat_template_kwargs") or {}))
        body = json.dumps({"model": model, "prompt": prompt, "temperature": 0, "max_tokens": 160,
                           "skip_special_tokens": False}).encode()
        req = urllib.request.Request(args.base_url.rstrip("/") + "/completions", data=body,
                                     headers={"content-type": "application/json"})
        if args.api_key:
            req.add_header("authorization", f"Bearer {args.api_key}")
        with urllib.request.urlopen(req, timeout=120) as r:
            doc = json.load(r)
        ch = doc["choices"][0]
        got = (ch["text"], doc["usage"]["prompt_tokens"], ch["finish_reason"])
        want = (case["completion"], case["prompt_tokens"], case["finish_reason"])
        ok = got == want
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {case['name']}" + ("" if ok else f": got {got!r}, want {want!r}"))
    n = len(exp["cases"])
    print(f"{n - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
