"""Shared helpers: every benchmark prints RESULT lines that bench/run.py gathers into one table."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CAR_SENTENCES = [
    "Take me to Central Station, please.",
    "Set the temperature to twenty one degrees.",
    "Um, can you play some music by Miles Davis?",
    "Call Doctor Patel for me.",
    "How do I get to the nearest gas station from here?",
    "Could you make it a bit warmer, like twenty four degrees?",
    "Play Taylor Swift on the speakers.",
    "Start the route to Riverside Park and avoid the highway.",
    "Phone Sarah and tell her I am running late.",
    "Turn the cabin down to eighteen degrees please.",
]


def bench_corpus_dir(n: int, seed: int) -> Path:
    """Where bench_corpus.py leaves its default-size car corpus, so that bench_downstream.py (run after it
    by `make bench`) evaluates that build instead of building another (git-ignored under outputs/)."""
    return ROOT / "outputs" / f"bench-car-n{n}-seed{seed}"


def result(what: str, value: float, goal: str, ok: bool | None, unit: str = "x", **extra: object) -> None:
    """One line per measured figure; value is a ratio against a baseline measured in the same run."""
    print("RESULT " + json.dumps({"what": what, "value": round(value, 3), "unit": unit, "goal": goal, "ok": ok,
                                  **extra}), flush=True)


class Timer:
    def __enter__(self) -> "Timer":
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = time.perf_counter() - self.t0


def cores() -> int:
    return os.cpu_count() or 2
