"""A deterministic backend for orchestration tests: it fills a fixed pattern, no model."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from . import UsageMeter


TAILS = ["", "now", "please", "right away", "for me", "thanks", "if you can", "as soon as possible", "okay",
         "quickly", "when you get a chance", "straight away", "this time", "at once", "thank you very much"]


class FakeBackend(UsageMeter):
    name = "fake"

    def __init__(self, model: str | None = None, fail_every: int = 0, **_: Any):
        self.model = model or "fake-template"
        self.fail_every = fail_every  # every k-th call returns garbage, to exercise retries
        self.calls = 0

    def load(self) -> None:
        pass

    def complete(self, messages, *, schema, seed, temperature, max_tokens) -> str:  # noqa: ANN001
        self.calls += 1
        self.count(requests=1)
        if self.fail_every and self.calls % self.fail_every == 0:
            return "not json at all"
        last = messages[-1]["content"]
        slots = dict(re.findall(r"^- (\w+): (.+)$", last, flags=re.MULTILINE))
        intent = (re.search(r"Intent: (\w+)", last) or [None, "request"])[1]
        rng = random.Random(seed)
        opener = rng.choice(["Please", "Could you", "I want to", "Can you", "Would you", "I need to", "Let's"])
        tail = rng.choice(TAILS)
        words = " ".join(slots.values()) if slots else "it"
        # varied enough that a repeated command rarely repeats the words (the dedup step would drop it)
        lead = rng.choice(["", "Hey,", "Okay,", "Um,", "So,", "Excuse me,", "Hi,", "Right,", "Well,", "Uh,"])
        utterance = f"{lead} {opener} {intent.replace('_', ' ')} {words} {tail}".strip()
        return json.dumps({"utterance": utterance, "reply": f"Okay, done: {intent.replace('_', ' ')}."})
