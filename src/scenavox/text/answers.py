"""Parsing an LLM's answer into a JSON object, with the repairs a small or unconstrained model needs.

Backends without constrained decoding (the openai backend with `structured_output: none`, the
transformers backend) get answers wrapped in code fences, preceded by a sentence or followed by
a second object. Every backend's answer goes through this one parser, so they are judged alike.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_CHARS = 110  # the schemas' maxLength for utterance and reply: without it constrained answers run into max_tokens
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def first_object_end(text: str, start: int = 0) -> int:
    """Index just past the balanced {...} that opens at text[start] ('{'), or -1 while it is open.
    Braces inside JSON strings do not count."""
    depth, in_str, esc = 0, False, False
    for k in range(start, len(text)):
        ch = text[k]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return -1


def parse_answer(raw: str) -> tuple[dict[str, Any] | None, str]:
    """(object, "") or (None, reason). Tries the text as it is, then inside a code fence, then the
    first balanced {...} in it; never invents content (a cut-off object stays a failure)."""
    text = (raw or "").strip()
    candidates = [text]
    fence = _FENCE.search(text)
    if fence:
        candidates.append(fence.group(1).strip())
    start = text.find("{")
    if start >= 0:
        end = first_object_end(text, start)
        if end > 0:
            candidates.append(text[start:end])
    parsed: Any = None
    for cand in candidates:
        try:
            parsed = json.loads(cand)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            return parsed, ""
    if parsed is not None:
        return None, "answer is not a JSON object"
    return None, "answer is not valid JSON"
