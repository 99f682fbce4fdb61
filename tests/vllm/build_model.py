#!/usr/bin/env python3
"""Build a tiny chat model + tokenizer locally, deterministically, without any hub.

The result is a directory that vLLM (and transformers) can load:

    config.json, generation_config.json, model.safetensors (float32),
    tokenizer.json, tokenizer_config.json, chat_template.jinja (or inside the
    tokenizer config), expectations.json, build_info.json

What the model learns (short supervised training on canned conversations,
rendered through the SAME ChatML/Hermes chat template that vLLM uses):

  * greetings ("hello", "Hi!", ...)       -> "Hello! How can I help you today?"
  * a prompt containing "think"            -> "<think>\\n...\\n</think>\\n\\n<answer>"
    (with chat_template_kwargs enable_thinking=false the template puts an
    empty think block into the prompt and the model answers directly)
  * tools offered                          -> <tool_call>\\n{"name": <first offered
    tool>, "arguments": {<its first parameter>: <value from the question>}}\\n</tool_call>
    ("... X and in Y?" with a weather tool gives two parallel calls)
  * after a tool result                    -> "The tool returned: <result>"
  * a few canned questions (capital of France, count 1..50, say OK) and a fixed
    fallback sentence for anything else.

expectations.json records, for each canned request, the exact greedy
(temperature 0) completion produced by transformers, so tests know what a
vLLM server loaded with this model should answer.

Usage: build_model.py --out DIR [--steps N] [--threads N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

SEED = 1234
VOCAB_SIZE = 4096
# Pre-tokenizer: words keep one leading space (GPT-2 style), digits are single,
# and runs of punctuation/whitespace stay together so that JSON scaffolding
# such as '": "' or '"}}}\n{"' becomes one token: tool prompts stay short.
PRETOKENIZE_REGEX = (r"'(?:s|t|re|ve|m|ll|d)| ?\p{L}+| ?\p{N}| [^\s\p{L}\p{N}]+"
                     r"|[^\p{L}\p{N}]+?(?= ?[\p{L}\p{N}]|\z)")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Must be NON-special added tokens: vLLM's hermes tool parser and the qwen3
# reasoning parser look them up in the vocabulary and refuse to start
# otherwise, and they must survive detokenization with skip_special_tokens.
PLAIN_ADDED_TOKENS = [
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
]

GREETING = "Hello! How can I help you today?"
FALLBACK = "I am a tiny test model. I can say hello, think, and call tools."
DEFAULT_SYSTEM = "You are a helpful assistant."

# Hermes/Qwen2.5-style tool block (wording shortened to keep training cheap).
TOOLS_PREAMBLE = (
    "\n\n# Tools\n\nYou may call one or more functions. "
    "Their signatures are within <tools></tools>:\n<tools>"
)
TOOLS_POSTAMBLE = (
    "\n</tools>\n\nFor each call, return a JSON object within <tool_call></tool_call> tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)

# ChatML with Qwen2.5/Hermes-style tools and Qwen3-style enable_thinking.
# Tools are re-serialised from name/description/parameters only, so that the
# prompt does not depend on extra keys a server may add (e.g. "strict": null).
CHAT_TEMPLATE = (
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{%- set system_message = none %}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if system_message is not none %}{{- system_message }}{%- else %}{{- '" + DEFAULT_SYSTEM + "' }}{%- endif %}"
    "{{- " + json.dumps(TOOLS_PREAMBLE) + " }}"
    "{%- for tool in tools %}"
    "{%- if tool['function'] is defined %}{%- set fn = tool['function'] %}{%- else %}{%- set fn = tool %}{%- endif %}"
    "{{- '\\n{\"type\": \"function\", \"function\": {\"name\": ' + (fn['name'] | tojson) }}"
    "{%- if fn['description'] is defined and fn['description'] is not none %}"
    "{{- ', \"description\": ' + (fn['description'] | tojson) }}"
    "{%- endif %}"
    "{%- if fn['parameters'] is defined and fn['parameters'] is not none %}"
    "{{- ', \"parameters\": ' + (fn['parameters'] | tojson) }}"
    "{%- endif %}"
    "{{- '}}' }}"
    "{%- endfor %}"
    "{{- " + json.dumps(TOOLS_POSTAMBLE) + " + '<|im_end|>\\n' }}"
    "{%- elif system_message is not none %}"
    "{{- '<|im_start|>system\\n' + system_message + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if message['role'] == 'user' %}"
    "{{- '<|im_start|>user\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if message['content'] %}{{- message['content'] }}{%- endif %}"
    "{%- if message['tool_calls'] is defined and message['tool_calls'] %}"
    "{%- for tc in message['tool_calls'] %}"
    "{%- if tc['function'] is defined %}{%- set f = tc['function'] %}{%- else %}{%- set f = tc %}{%- endif %}"
    "{%- if message['content'] or not loop.first %}{{- '\\n' }}{%- endif %}"
    "{{- '<tool_call>\\n{\"name\": ' + (f['name'] | tojson) + ', \"arguments\": ' }}"
    "{%- if f['arguments'] is string %}{{- f['arguments'] }}{%- else %}{{- f['arguments'] | tojson }}{%- endif %}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'tool' %}"
    "{%- if loop.first or loop_messages[loop.index0 - 1]['role'] != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message['content'] + '\\n</tool_response>' }}"
    "{%- if loop.last or loop_messages[loop.index0 + 1]['role'] != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)


def log(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Canned data
# --------------------------------------------------------------------------

def tool(name, description, params, required=None):
    props = {p: {"type": "string", "description": d} for p, d in params}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": props,
                "required": required if required is not None else [params[0][0]],
            },
        },
    }


GET_WEATHER = tool(
    "get_weather",
    "Get the current weather for a city.",
    [("city", "The city name, e.g. Paris")],
)
GET_TIME = tool(
    "get_time",
    "Get the current time in a timezone.",
    [("timezone", "An IANA timezone name or UTC")],
)

CITIES = ["Paris", "London", "Berlin", "Tokyo", "Madrid", "Rome", "Oslo", "Lima", "Cairo", "Sydney",
          "Boston", "Denver", "Dublin", "Vienna", "Prague", "Seoul", "Delhi", "Nairobi", "Toronto", "Lisbon"]
ZONES = ["UTC", "Europe/Paris", "Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Sydney",
         "America/Chicago", "Asia/Seoul", "Africa/Cairo", "Europe/Berlin"]
VERBS = ["get", "find", "search", "lookup", "fetch", "list", "create", "send", "book", "check",
         "convert", "translate", "compute", "read", "delete", "update"]
NOUNS = ["stock_price", "news", "email", "file", "user", "order", "flight", "hotel", "currency", "recipe",
         "movie", "song", "account", "invoice", "ticket", "package", "contact", "event", "note", "word",
         "population", "distance", "score", "balance"]
PARAMS = ["query", "symbol", "name", "id", "path", "city", "country", "title", "text", "topic",
          "code", "user_id", "location", "date", "amount"]
VALUES = ["AAPL", "Alice", "Bob", "Carol", "Mars", "Jupiter", "Python", "Rust", "report.txt", "notes.md",
          "A123", "B42", "France", "Japan", "Brazil", "pizza", "jazz", "Monday", "Friday", "EUR", "USD",
          "Everest", "Amazon", "Nile", "Orion", "Zurich", "Kyoto", "Milan", "Quebec", "Texas"]
RESULTS = ["Sunny, 22 C", "Rainy, 12 C", "Cloudy, 17 C", "Snow, -3 C", "10:42", "23:05", "08:15",
           "42", "ok", "done", "3 results", "not found", "187.25 USD", "1.08", "yes", "no",
           "Windy, 9 C", "12:00", "7 items", "sent"]

GREET_PROMPTS = ["hello", "Hello", "Hello!", "hello!", "hi", "Hi", "Hi!", "hey", "Hey!", "Hey there",
                 "Hello there", "hello there!", "Hi there!", "Good morning", "Good morning!", "Hello, how are you?",
                 "hi, who are you?", "Greetings", "Hello again", "Say hello", "Hello world", "howdy"]
THINK_PROMPTS = ["Think about the meaning of life.", "Please think carefully before you answer.",
                 "Think: is the sky blue?", "Can you think about this problem?", "think step by step",
                 "Think hard about a good name for a cat.", "Let's think about the weather.",
                 "Think it through: should I take an umbrella?", "I want you to think first.",
                 "Think about {v}.", "Please think about {v} and answer.", "think carefully about {v}"]
THINK_REASONING = "Let me think about this step by step. The question is clear."
THINK_ANSWER = "I thought about it, and here is my answer: it depends."
FALLBACK_WORDS = ["what", "is", "the", "a", "why", "how", "tell", "me", "about", "explain", "color",
                  "music", "story", "joke", "river", "code", "please", "can", "you", "write", "poem",
                  "history", "numbers", "sun", "moon", "book", "game", "list", "of", "favorite"]

COUNT50 = ", ".join(str(i) for i in range(1, 51))

CANNED_QA = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Count from 1 to 50.", COUNT50),
    ("Say OK.", "OK"),
    ("Reply with the single word pong.", "pong"),
]

THINK_22 = ("Think step by step: what is 2 + 2?",
            "The user asks for 2 + 2. Adding 2 and 2 gives 4.", "2 + 2 = 4.")


def think_target(reasoning, answer):
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def tool_call_text(calls):
    return "\n".join(
        "<tool_call>\n" + json.dumps({"name": n, "arguments": a}, ensure_ascii=False) + "\n</tool_call>"
        for n, a in calls
    )


def synthetic_tool(rng):
    verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
    name = f"{verb}_{noun}"
    nparams = rng.choice([1, 1, 2])
    params = rng.sample(PARAMS, nparams)
    t = tool(name, f"{verb.capitalize()} the {noun.replace('_', ' ')} for a given {params[0].replace('_', ' ')}.",
             [(p, f"The {p.replace('_', ' ')}") for p in params])
    return t, verb, noun, params[0]


def user_for(rng, verb, noun, value):
    nn = noun.replace("_", " ")
    return rng.choice([
        f"Please {verb} the {nn} for {value}.",
        f"Can you {verb} {nn} {value}?",
        f"I need the {nn} of {value}.",
        f"{verb} {nn} for {value}",
        f"Use the tool for {value}.",
        f"What about {value}?",
    ])


CANNED_TOOL_REQUESTS = [
    ([{"role": "user", "content": "What's the weather in Paris?"}], [GET_WEATHER, GET_TIME],
     [("get_weather", {"city": "Paris"})]),
    ([{"role": "user", "content": "What time is it in UTC?"}], [GET_TIME, GET_WEATHER],
     [("get_time", {"timezone": "UTC"})]),
    ([{"role": "user", "content": "What's the weather in Paris and in London?"}], [GET_WEATHER],
     [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "London"})]),
]


CANNED_TOOL_RESULTS = {
    json.dumps(CANNED_TOOL_REQUESTS[0][2]): ["Sunny, 22 C"],
    json.dumps(CANNED_TOOL_REQUESTS[1][2]): ["10:42"],
    json.dumps(CANNED_TOOL_REQUESTS[2][2]): ["Sunny, 22 C", "Rainy, 12 C"],
}


# Agent hosts (OpenClaw's agent turns) put thousands of tokens of prose before
# the tools: rules, paths, dates, missing-file notes. The model attends through
# a sliding window (SLIDING_WINDOW) so that any prompt length looks like the
# lengths it was trained on, and agent samples teach it to look past such prose
# and past unrelated tools to the tool the question names.
SLIDING_WINDOW = 512
AGENT_SHARE = 0.2
AGENT_WORDS = [
    "the", "a", "and", "or", "to", "of", "in", "on", "for", "with", "when", "before", "after", "not",
    "never", "always", "only", "each", "every", "agent", "user", "owner", "session", "tool", "tools",
    "task", "work", "reply", "message", "file", "files", "workspace", "memory", "config", "update",
    "restart", "status", "channel", "request", "answer", "context", "runtime", "gateway", "command",
    "output", "error", "progress", "result", "results", "instructions", "policy", "safety", "scope",
    "explicit", "current", "exact", "brief", "short", "long", "background", "visible", "hidden",
    "internal", "private", "public", "read", "write", "edit", "run", "ask", "keep", "use", "send",
    "check", "stop", "continue", "follow", "report", "evidence", "blocked", "done", "pending", "next",
    "available", "enabled", "disabled", "default", "operator", "service", "process", "schedule",
    "documentation", "docs", "help", "project", "profile", "identity", "voice", "format", "markdown",
    "code", "block", "link", "path", "directory", "temporary", "stable", "dynamic", "cache", "limit",
    "time", "date", "zone", "clock", "timestamp", "local", "remote", "model", "provider", "plugin",
    "skill", "skills", "subagent", "delegate", "prefer", "suggest", "silent", "normal", "final",
]
AGENT_HEADINGS = ["Tooling", "Safety", "Workspace", "Runtime", "Messaging", "Documentation", "Skills",
                  "Memory", "Temporal Context", "Output", "Completion", "Identity", "Sandbox", "Project Context"]
AGENT_TOOL_NAMES = ["gateway", "session_status", "browser", "canvas", "cron", "message", "nodes",
                    "memory_get", "image", "exec", "process", "web_fetch", "subagents", "apply_patch"]


def random_id(rng, n=6):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(n))


def agent_sentence(rng):
    words = [rng.choice(AGENT_WORDS) for _ in range(rng.randint(4, 16))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), "`" + rng.choice(AGENT_WORDS) + "." + rng.choice(AGENT_WORDS) + "`")
    return " ".join(words).capitalize() + rng.choice([".", ".", ";", ":", " (default)."])


def agent_system_prompt(rng):
    """An agent host's system prompt: markdown sections of rules, paths and dates."""
    target_words = rng.choice([40, 100, 200, 300, 450])
    base = f"/tmp/{rng.choice(AGENT_WORDS)}-{random_id(rng)}/workspace-{random_id(rng)}"
    lines = [rng.choice(["You are a personal assistant running inside an agent host.",
                         "You are an agent. Follow the rules below.", DEFAULT_SYSTEM])]
    words = 0
    while words < target_words:
        kind = rng.random()
        if kind < 0.12:
            line = "## " + rng.choice(AGENT_HEADINGS)
        elif kind < 0.55:
            line = "- " + agent_sentence(rng)
        elif kind < 0.65:
            line = f"Working directory: {base}"
        elif kind < 0.72:
            name = rng.choice(["AGENTS", "SOUL", "IDENTITY", "USER", "TOOLS", "MEMORY"])
            line = f"## {base}/{name}.md\n[MISSING] Expected at: {base}/{name}.md"
        elif kind < 0.78:
            line = (f"Current date: 20{rng.randint(24, 29)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\n"
                    f"Time zone: {rng.choice(ZONES)}")
        elif kind < 0.84:
            line = f"- {rng.choice(AGENT_TOOL_NAMES)}: " + agent_sentence(rng)
        elif kind < 0.90:
            line = f"<!-- {rng.choice(AGENT_WORDS)}:{rng.choice(AGENT_WORDS)}:{random_id(rng).upper()} -->"
        else:
            line = agent_sentence(rng) + " " + agent_sentence(rng)
        lines.append(line)
        words += len(line.split())
    return "\n".join(lines)


def agent_tool(rng):
    """An unrelated tool of an agent host, with a larger schema than the canned ones."""
    name = rng.choice(AGENT_TOOL_NAMES)
    props = {}
    for _ in range(rng.randint(1, 5)):
        key = rng.choice(AGENT_WORDS + PARAMS)
        kind = rng.random()
        if kind < 0.4:
            props[key] = {"type": "string", "description": agent_sentence(rng)}
        elif kind < 0.6:
            props[key] = {"type": "string", "enum": rng.sample(AGENT_WORDS, 3)}
        elif kind < 0.8:
            props[key] = {"type": "number", "description": agent_sentence(rng)}
        else:
            props[key] = {"type": "boolean"}
    return {"type": "function", "function": {
        "name": name, "description": agent_sentence(rng) + " " + agent_sentence(rng),
        "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}}


def agent_sample(rng):
    """A turn under an agent host's prompt: a call to the tool the question names, its answer, or a greeting."""
    system = [{"role": "system", "content": agent_system_prompt(rng)}]
    r = rng.random()
    if r < 0.1:
        return system + [{"role": "user", "content": rng.choice(GREET_PROMPTS)}], None, {}, GREETING
    kind = rng.random()
    if kind < 0.5:
        city = rng.choice(CITIES)
        target, calls = GET_WEATHER, [("get_weather", {"city": city})]
        user = rng.choice([f"What's the weather in {city}?", f"What is the weather like in {city}?",
                           f"How is the weather in {city} today?"])
    elif kind < 0.7:
        zone = rng.choice(ZONES)
        target, calls = GET_TIME, [("get_time", {"timezone": zone})]
        user = rng.choice([f"What time is it in {zone}?", f"Tell me the time in {zone}."])
    else:
        target, verb, noun, p0 = synthetic_tool(rng)
        value = rng.choice(VALUES)
        nn = noun.replace("_", " ")
        user = rng.choice([f"Please {verb} the {nn} for {value}.", f"Can you {verb} {nn} {value}?"])
        calls = [(target["function"]["name"], {p0: value})]
    tools = [agent_tool(rng) for _ in range(rng.randint(1, 4))]
    tools = [t for t in tools if t["function"]["name"] != target["function"]["name"]]
    tools.insert(rng.randint(0, len(tools)), target)
    messages = system + [{"role": "user", "content": user}]
    if r < 0.75:
        return messages, tools, {}, tool_call_text(calls)
    result = rng.choice(RESULTS)
    messages = messages + [assistant_tool_msg(calls, rng),
                           {"role": "tool", "tool_call_id": "call_0", "content": result}]
    return messages, tools, {}, "The tool returned: " + result


def tool_request(rng, canned_share=0.0):
    """Returns (messages, tools, calls): the first offered tool is the one to call."""
    if rng.random() < canned_share:
        msgs, tools, calls = rng.choice(CANNED_TOOL_REQUESTS)
        return [dict(m) for m in msgs], tools, calls
    kind = rng.random()
    if kind < 0.3:
        city = rng.choice(CITIES)
        first = GET_WEATHER
        user = rng.choice([f"What's the weather in {city}?", f"What is the weather like in {city}?",
                           f"Weather in {city}?", f"How is the weather in {city} today?"])
        calls = [("get_weather", {"city": city})]
        if rng.random() < 0.25:
            c2 = rng.choice([c for c in CITIES if c != city])
            user = rng.choice([f"What's the weather in {city} and in {c2}?", f"Weather in {city} and in {c2}?"])
            calls.append(("get_weather", {"city": c2}))
    elif kind < 0.5:
        zone = rng.choice(ZONES)
        first = GET_TIME
        user = rng.choice([f"What time is it in {zone}?", f"Current time in {zone}?", f"Tell me the time in {zone}."])
        calls = [("get_time", {"timezone": zone})]
    else:
        first, verb, noun, p0 = synthetic_tool(rng)
        value = rng.choice(VALUES)
        user = user_for(rng, verb, noun, value)
        calls = [(first["function"]["name"], {p0: value})]
    others = [GET_WEATHER, GET_TIME] + [synthetic_tool(rng)[0] for _ in range(2)]
    others = [t for t in others if t["function"]["name"] != first["function"]["name"]]
    rng.shuffle(others)
    tools = [first] + others[: rng.choice([0, 0, 1, 1, 2])]
    messages = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": DEFAULT_SYSTEM})
    messages.append({"role": "user", "content": user})
    return messages, tools, calls


def assistant_tool_msg(calls, rng):
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(calls)
        ],
    }


def make_sample(rng):
    """One training sample: (messages, tools, template_kwargs, target)."""
    if rng.random() < AGENT_SHARE:
        return agent_sample(rng)
    r = rng.random()
    sys_msgs = [{"role": "system", "content": DEFAULT_SYSTEM}] if rng.random() < 0.25 else []
    kwargs = {}
    if r < 0.10:  # greeting
        msgs = sys_msgs + [{"role": "user", "content": rng.choice(GREET_PROMPTS)}]
        if rng.random() < 0.2:
            kwargs["enable_thinking"] = False
        return msgs, None, kwargs, GREETING
    if r < 0.20:  # canned QA
        q, a = rng.choice(CANNED_QA)
        if rng.random() < 0.15:
            kwargs["enable_thinking"] = False
        return sys_msgs + [{"role": "user", "content": q}], None, kwargs, a
    if r < 0.25:  # fallback
        words = rng.sample(FALLBACK_WORDS, rng.randint(2, 7))
        q = " ".join(words).capitalize() + rng.choice(["?", ".", ""])
        if rng.random() < 0.15:
            kwargs["enable_thinking"] = False
        return sys_msgs + [{"role": "user", "content": q}], None, kwargs, FALLBACK
    if r < 0.37:  # think
        if rng.random() < 0.35:
            q, reasoning, answer = THINK_22
        else:
            q = rng.choice(THINK_PROMPTS).replace("{v}", rng.choice(VALUES + CITIES))
            reasoning, answer = THINK_REASONING, THINK_ANSWER
        msgs = sys_msgs + [{"role": "user", "content": q}]
        if rng.random() < 0.3:
            return msgs, None, {"enable_thinking": False}, answer
        return msgs, None, kwargs, think_target(reasoning, answer)
    if r < 0.40:  # multi-turn: greeting then a question
        msgs = sys_msgs + [{"role": "user", "content": rng.choice(GREET_PROMPTS)},
                           {"role": "assistant", "content": GREETING}]
        q, a = rng.choice(CANNED_QA + [(rng.choice(GREET_PROMPTS), GREETING)])
        return msgs + [{"role": "user", "content": q}], None, kwargs, a
    messages, tools, calls = tool_request(rng, canned_share=0.2)
    if r < 0.70:  # tool call
        return messages, tools, kwargs, tool_call_text(calls)
    # answer after the tool result(s); the canned requests get fixed results
    canned = CANNED_TOOL_RESULTS.get(json.dumps(calls)) if rng.random() < 0.5 else None
    msgs = messages + [assistant_tool_msg(calls, rng)]
    results = []
    for i, _ in enumerate(calls):
        res = canned[i] if canned else rng.choice(RESULTS)
        results.append(res)
        msgs.append({"role": "tool", "tool_call_id": f"call_{i}", "content": res})
    return msgs, tools, kwargs, "The tool returned: " + " and ".join(results)


# Canned requests recorded in expectations.json (and checked after training).
def canned_cases():
    weather_q = [{"role": "user", "content": "What's the weather in Paris?"}]
    weather_call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}
    return [
        dict(name="hello", messages=[{"role": "user", "content": "Hello!"}],
             intended=GREETING, core=True),
        dict(name="hello_system", messages=[{"role": "system", "content": DEFAULT_SYSTEM},
                                            {"role": "user", "content": "hello"}],
             intended=GREETING, core=True),
        dict(name="capital", messages=[{"role": "user", "content": "What is the capital of France?"}],
             intended="The capital of France is Paris.", core=True),
        dict(name="count50", messages=[{"role": "user", "content": "Count from 1 to 50."}],
             intended=COUNT50, core=True),
        dict(name="say_ok", messages=[{"role": "user", "content": "Say OK."}], intended="OK", core=True),
        dict(name="fallback", messages=[{"role": "user", "content": "Tell me a joke about the moon."}],
             intended=FALLBACK, core=False),
        dict(name="think", messages=[{"role": "user", "content": THINK_22[0]}],
             intended=think_target(THINK_22[1], THINK_22[2]), core=True),
        dict(name="think_disabled", messages=[{"role": "user", "content": THINK_22[0]}],
             chat_template_kwargs={"enable_thinking": False}, intended=THINK_22[2], core=True),
        dict(name="think_generic", messages=[{"role": "user", "content": "Think about the meaning of life."}],
             intended=think_target(THINK_REASONING, THINK_ANSWER), core=False),
        dict(name="hello_no_thinking", messages=[{"role": "user", "content": "Hello!"}],
             chat_template_kwargs={"enable_thinking": False}, intended=GREETING, core=True),
        dict(name="tool_weather", messages=weather_q, tools=[GET_WEATHER, GET_TIME],
             intended=tool_call_text([("get_weather", {"city": "Paris"})]), core=True),
        dict(name="tool_time", messages=[{"role": "user", "content": "What time is it in UTC?"}],
             tools=[GET_TIME, GET_WEATHER],
             intended=tool_call_text([("get_time", {"timezone": "UTC"})]), core=True),
        dict(name="tool_parallel", messages=[{"role": "user", "content": "What's the weather in Paris and in London?"}],
             tools=[GET_WEATHER],
             intended=tool_call_text([("get_weather", {"city": "Paris"}), ("get_weather", {"city": "London"})]),
             core=True),
        dict(name="tool_result", messages=weather_q + [weather_call,
                                                      {"role": "tool", "tool_call_id": "call_0", "content": "Sunny, 22 C"}],
             tools=[GET_WEATHER, GET_TIME], intended="The tool returned: Sunny, 22 C", core=True),

    ]


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------

def train_tokenizer(corpus):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(PLAIN_ADDED_TOKENS),
        min_frequency=2,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False, single_word=False,
                               lstrip=False, rstrip=False) for t in PLAIN_ADDED_TOKENS])
    return tok


def wrap_tokenizer(tok):
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast

    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token=AddedToken("<|im_end|>", special=True, normalized=False),
        pad_token=AddedToken("<|endoftext|>", special=True, normalized=False),
        unk_token=None,
        additional_special_tokens=None,
        model_max_length=16384,
        clean_up_tokenization_spaces=False,
        padding_side="right",
    )
    hf.chat_template = CHAT_TEMPLATE
    return hf


def render(hf, messages, tools, kwargs, add_generation_prompt=True):
    return hf.apply_chat_template(messages, tools=tools, tokenize=False,
                                  add_generation_prompt=add_generation_prompt, **kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=int(os.environ.get("TINY_STEPS", "500")))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TINY_THREADS", "2")))
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--no-check", action="store_true", help="do not fail when a core canned case is off")
    args = ap.parse_args()

    import torch
    import transformers
    import tokenizers as tk_mod

    t0 = time.time()
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    rng = random.Random(SEED)
    data = [make_sample(rng) for _ in range(args.samples)]

    # ---- tokenizer -------------------------------------------------------
    log(f"training tokenizer on {len(data)} conversations (byte-level BPE, vocab <= {VOCAB_SIZE})")
    corpus = ["system\n", "user\n", "assistant\n", DEFAULT_SYSTEM, TOOLS_PREAMBLE, TOOLS_POSTAMBLE]
    for msgs, tools, _kw, target in data:
        for m in msgs:
            if m.get("content"):
                corpus.append(m["content"])
            for tc in m.get("tool_calls") or []:
                corpus.append(tool_call_text([(tc["function"]["name"], json.loads(tc["function"]["arguments"]))]))
        for t in tools or []:
            corpus.append(TOOLS_PREAMBLE + json.dumps(t) + TOOLS_POSTAMBLE)
        corpus.append(target)
    for c in canned_cases():
        for m in c["messages"]:
            if m.get("content"):
                corpus.append(m["content"])
    tok = train_tokenizer(corpus)
    hf = wrap_tokenizer(tok)
    vocab_size = len(hf)
    assert vocab_size <= VOCAB_SIZE, vocab_size
    for t in PLAIN_ADDED_TOKENS + SPECIAL_TOKENS:
        ids = hf.encode(t, add_special_tokens=False)
        assert len(ids) == 1, (t, ids)
    im_end = hf.convert_tokens_to_ids("<|im_end|>")
    pad = hf.convert_tokens_to_ids("<|endoftext|>")
    log(f"tokenizer: {vocab_size} tokens")

    # ---- tensors ---------------------------------------------------------
    log("rendering training data through the chat template")
    encoded = []
    for msgs, tools, kw, target in data:
        p = hf.encode(render(hf, msgs, tools, kw), add_special_tokens=False)
        t = hf.encode(target, add_special_tokens=False) + [im_end]
        encoded.append((p, t))
    maxlen = max(len(p) + len(t) for p, t in encoded)
    log(f"{len(encoded)} samples, max length {maxlen} tokens, "
        f"mean {sum(len(p) + len(t) for p, t in encoded) / len(encoded):.0f}")

    # ---- model -----------------------------------------------------------
    from transformers import GenerationConfig, MistralConfig, MistralForCausalLM

    config = MistralConfig(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        head_dim=32,
        max_position_embeddings=16384,
        sliding_window=SLIDING_WINDOW,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=im_end,
        pad_token_id=pad,
        dtype="float32",
    )
    model = MistralForCausalLM(config)
    model.to(torch.float32)
    nparams = sum(p.numel() for p in model.parameters())
    log(f"training MistralForCausalLM ({nparams / 1e6:.2f} M params) for {args.steps} steps, "
        f"batch {args.batch}, {args.threads} threads")

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0, eps=1e-8)
    warmup = max(1, args.steps // 20)

    def lr_at(step):
        if step < warmup:
            return (step + 1) / warmup
        prog = (step - warmup) / max(1, args.steps - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * prog))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    brng = random.Random(SEED + 1)
    model.train()
    ema = None
    t_train = time.time()
    # random batches, but each group of 8 batches is sorted by length so that
    # padding stays small
    pending = []
    perm = []
    for step in range(args.steps):
        if not pending:
            if len(perm) < 8 * args.batch:
                perm = list(range(len(encoded)))
                brng.shuffle(perm)
            group, perm = perm[: 8 * args.batch], perm[8 * args.batch:]
            group.sort(key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
            pending = [group[i: i + args.batch] for i in range(0, len(group), args.batch)]
            brng.shuffle(pending)
        batch = [encoded[i] for i in pending.pop()]
        L = max(len(p) + len(t) for p, t in batch)
        ids = torch.full((len(batch), L), pad, dtype=torch.long)
        labels = torch.full((len(batch), L), -100, dtype=torch.long)
        att = torch.zeros((len(batch), L), dtype=torch.long)
        for i, (p, t) in enumerate(batch):
            seq = p + t
            ids[i, : len(seq)] = torch.tensor(seq)
            labels[i, len(p): len(seq)] = torch.tensor(t)  # loss on the assistant reply only
            att[i, : len(seq)] = 1
        out = model(input_ids=ids, attention_mask=att, labels=labels)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss = out.loss.item()
        ema = loss if ema is None else 0.9 * ema + 0.1 * loss
        if step % 50 == 0 or step == args.steps - 1:
            el = time.time() - t_train
            log(f"step {step + 1}/{args.steps} loss {loss:.4f} (ema {ema:.4f}) {el:.0f}s")
    model.eval()

    # ---- greedy expectations ---------------------------------------------
    log("recording greedy completions for the canned requests")

    @torch.no_grad()
    def greedy(prompt_ids, max_new=160):
        x = torch.tensor([prompt_ids])
        out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=max_new, do_sample=False,
                             eos_token_id=im_end, pad_token_id=pad)
        gen = out[0, len(prompt_ids):].tolist()
        finished = bool(gen) and gen[-1] == im_end
        if finished:
            gen = gen[:-1]
        return gen, finished

    cases = []
    core_failures = []
    for c in canned_cases():
        kw = c.get("chat_template_kwargs") or {}
        prompt = render(hf, c["messages"], c.get("tools"), kw)
        pids = hf.encode(prompt, add_special_tokens=False)
        gen, finished = greedy(pids)
        text = hf.decode(gen, skip_special_tokens=False)
        ok = text == c["intended"]
        if c["core"] and not ok:
            core_failures.append(c["name"])
        entry = {"name": c["name"], "messages": c["messages"]}
        if c.get("tools"):
            entry["tools"] = c["tools"]
        if kw:
            entry["chat_template_kwargs"] = kw
        entry.update({
            "prompt_tokens": len(pids),
            "completion": text,
            "completion_tokens": len(gen) + (1 if finished else 0),
            "finish_reason": "stop" if finished else "length",
            "matches_intended": ok,
            "intended": c["intended"],
        })
        cases.append(entry)
        log(f"  {'ok ' if ok else 'OFF'} {c['name']}: {text!r}")

    # generalisation probe: unseen tool/value combinations
    prng = random.Random(SEED + 99)
    good = 0
    n_probe = 20
    for _ in range(n_probe):
        messages, tools, calls = tool_request(prng)
        pids = hf.encode(render(hf, messages, tools, {}), add_special_tokens=False)
        gen, _ = greedy(pids, max_new=80)
        good += hf.decode(gen, skip_special_tokens=False) == tool_call_text(calls)
    log(f"tool-call probe on random requests: {good}/{n_probe} exact")

    # the same under an agent host's long prompt, beyond the sliding window
    agent_good = 0
    agent_probes = 0
    longest = 0
    while agent_probes < n_probe:
        messages, tools, kw, target = agent_sample(prng)
        if not tools or not target.startswith("<tool_call>"):
            continue
        agent_probes += 1
        pids = hf.encode(render(hf, messages, tools, kw), add_special_tokens=False)
        longest = max(longest, len(pids))
        gen, _ = greedy(pids, max_new=80)
        agent_good += hf.decode(gen, skip_special_tokens=False) == target
    log(f"tool-call probe under agent prompts (up to {longest} tokens): {agent_good}/{n_probe} exact")

    # ---- save ------------------------------------------------------------
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    hf.save_pretrained(out_dir)
    gen_cfg = GenerationConfig(eos_token_id=im_end, pad_token_id=pad, bos_token_id=None)
    gen_cfg.save_pretrained(out_dir)
    with open(os.path.join(out_dir, "expectations.json"), "w") as f:
        json.dump({
            "served_model_name_hint": "tiny-chat",
            "note": "greedy (temperature 0) completions from transformers; completion_tokens includes the "
                    "final <|im_end|> when finish_reason is stop",
            "eos_token": "<|im_end|>",
            "tool_probe_exact": f"{good}/{n_probe}",
            "agent_tool_probe_exact": f"{agent_good}/{n_probe}",
            "cases": cases,
        }, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(__file__, "rb") as f:
        builder_sha = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(out_dir, "build_info.json"), "w") as f:
        json.dump({
            "builder_sha256": builder_sha,
            "seed": SEED,
            "steps": args.steps,
            "batch": args.batch,
            "threads": args.threads,
            "params": nparams,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tk_mod.__version__,
            "seconds": round(time.time() - t0, 1),
        }, f, indent=2)
        f.write("\n")
    log(f"model written to {out_dir} in {time.time() - t0:.0f}s")
    if core_failures and not args.no_check:
        log(f"ERROR: core canned cases off after training: {', '.join(core_failures)}")
        sys.exit(3)


if __name__ == "__main__":
    main()
