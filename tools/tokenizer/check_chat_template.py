#!/usr/bin/env python3
"""Checks tpserve's native chat template against a model's own chat_template.jinja.

Renders random conversations (system / user / assistant / tool turns, reasoning in content or in
reasoning_content, tool calls with every kind of argument value, image / video parts, tools,
thinking on / off / unset, add_vision_id, generation prompt on / off, and the template's error
cases) with transformers' Jinja environment and with `tpserve_render_chat_cases`, and counts the
differences. The template file is not part of this repository: pass the one shipped with a
Qwen3.5 checkpoint (chat_template.jinja, or the "chat_template" of tokenizer_config.json).

Usage (reference venv):
  /root/.cache/tpserve/ref-venv/bin/python tools/tokenizer/check_chat_template.py \
      --template /models/Qwen3.5-9B/chat_template.jinja [--renderer build/tools/tpserve_render_chat_cases]
      [--cases 3000] [--small-model]
--small-model: the template is a 0.8B / 2B one (thinking off unless enable_thinking is true).
"""
import argparse
import json
import pathlib
import random
import subprocess
import sys

from transformers.utils.chat_template_utils import _compile_jinja_template

REPO = pathlib.Path(__file__).resolve().parents[2]
TEXTS = ["Hello", "  spaced  \n", "", "\u00a0nbsp\u3000", "<think>\nr1\n</think>\n\nans",
         "a</think>b</think>\n\nc", "<think>x<think>y\n</think>z", "<tool_response>\nres\n</tool_response>",
         " <tool_response>x</tool_response> ", "naïve 中文 😀", "multi\nline\n\n", "\t"]
TOOLS = [{"type": "function", "function": {
             "name": "get_weather", "description": "Wetter für Orte",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                             "n": {"type": "integer", "minimum": 1.5}},
                            "required": ["city"]}}},
         {"type": "function", "function": {"name": "now"}}]
ARG_VALUES = ["Paris", 3, 2.5, 1e16, 1e-5, True, False, None, {"k": [1, "x\"y", None]}, [1, 2],
              "multi\nline", "ünï", 0.1, -0.0]


def random_content(rng, role):
    r = rng.random()
    if role in ("user", "tool") and r < 0.25:
        parts = []
        for _ in range(rng.randint(1, 4)):
            k = rng.random()
            parts.append({"type": "image"} if k < 0.3 else {"type": "video"} if k < 0.45 else
                         {"type": "image_url", "image_url": {"url": "x"}} if k < 0.5 else
                         {"type": "text", "text": rng.choice(TEXTS)})
        return parts
    if r < 0.3 and role == "assistant":
        return None
    return rng.choice(TEXTS)


def random_case(rng):
    messages = []
    if rng.random() < 0.5:
        content = rng.choice(TEXTS) if rng.random() < 0.9 else [{"type": "image"}]
        messages.append({"role": "system", "content": content})
    for _ in range(rng.randint(1, 7)):
        role = rng.choice(["user", "user", "assistant", "tool", "tool"])
        m = {"role": role, "content": random_content(rng, role)}
        if role == "assistant":
            if rng.random() < 0.3:
                m["reasoning_content"] = rng.choice(TEXTS)
            if rng.random() < 0.5:
                m["tool_calls"] = [{"type": "function", "function": {
                    "name": rng.choice(["f", "get_weather"]),
                    "arguments": {f"p{i}": rng.choice(ARG_VALUES) for i in range(rng.randint(0, 3))}}}
                    for _ in range(rng.randint(1, 3))]
        messages.append(m)
    if rng.random() < 0.05:
        messages.insert(rng.randint(1, len(messages)), {"role": rng.choice(["system", "developer"]), "content": "x"})
    case = {"messages": messages, "add_vision_id": rng.random() < 0.3,
            "add_generation_prompt": rng.random() < 0.7}
    if rng.random() < 0.4:
        case["tools"] = TOOLS[: rng.randint(1, 2)]
    if rng.random() < 0.6:
        case["enable_thinking"] = rng.random() < 0.5
    return case


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--template", required=True)
    ap.add_argument("--renderer", default=str(REPO / "build/tools/tpserve_render_chat_cases"))
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--small-model", action="store_true")
    args = ap.parse_args()
    template = _compile_jinja_template(pathlib.Path(args.template).read_text(encoding="utf-8"))
    rng = random.Random(7)
    cases = [random_case(rng) for _ in range(args.cases)]
    for c in cases:
        c["default_thinking"] = not args.small_model
    got = json.loads(subprocess.run([args.renderer], input=json.dumps(cases), capture_output=True,
                                    text=True, check=True).stdout)
    mismatches = errors = 0
    for case, ours in zip(cases, got):
        kwargs = {k: v for k, v in case.items() if k not in ("messages", "default_thinking")}
        try:
            want = template.render(messages=case["messages"], **kwargs)
        except Exception:  # the template's raise_exception and Jinja errors
            want = "ERROR"
        errors += want == "ERROR"
        if want != ours:
            mismatches += 1
            if mismatches <= 3:
                print("MISMATCH", json.dumps(case, ensure_ascii=False)[:800])
                print("  template:", repr(want)[:1000])
                print("  tpserve: ", repr(ours)[:1000])
    print(f"{len(cases)} cases ({errors} are template errors): {mismatches} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
