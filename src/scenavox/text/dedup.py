"""Exact and near-duplicate utterances, removed before voicing and counted.

Two utterances are compared only when they express the same command (intent + slot values):
"set it to 21 degrees" and "set it to 22 degrees" differ by one character but are different
training examples. Dialogue corrections are kept (see `_keep`). Within a command, an utterance equal to an earlier one after normalization
is an exact duplicate; one whose rapidfuzz ratio to an earlier one reaches the threshold is a
near duplicate. Optionally (`max_wording_share`), an utterance whose wording with the slot values
masked already makes up that share of its intent's kept items is dropped too ("wording").

The decision for item i depends only on items with a smaller index, and items are released in
index order, so the kept set is the same whatever order the text stage finished them in (threads,
processes, a resumed run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..records import Triple
from .normalize import normalize


@dataclass
class Duplicate:
    id: str
    index: int
    duplicate_of: str
    kind: str  # "exact", "near" or "wording"
    score: float  # rapidfuzz ratio, 0-100

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "index": self.index, "duplicate_of": self.duplicate_of, "kind": self.kind,
                "score": round(self.score, 2)}


MIN_WORDING_ITEMS = 3


def _command_key(t: Triple) -> tuple[str, tuple[tuple[str, str], ...]]:
    return t.command.intent, tuple(sorted(t.command.slots.items()))


class InOrderDeduper:
    """Feed every planned index once (a Triple, or None for an item that produced none); get back,
    in index order, the triples to keep. `threshold` is a ratio in 0..1; 1.0 removes exact copies only."""

    def __init__(self, indices: list[int], threshold: float = 0.95, max_wording_share: float | None = None):
        self.order = sorted(indices)
        self.max_wording_share = max_wording_share
        self.wordings: dict[str, dict[str, list[str]]] = {}  # intent -> masked wording -> kept ids
        self.pos = 0
        self.threshold = threshold
        self.pending: dict[int, Triple | None] = {}
        self.seen: dict[tuple[Any, ...], list[tuple[str, str]]] = {}  # command -> [(normalized text, id)]
        self.duplicates: list[Duplicate] = []

    def extend(self, indices: list[int]) -> None:
        """Further indices, decided after every earlier one (a top-up pass)."""
        self.order.extend(indices)

    def add(self, index: int, triple: Triple | None) -> list[Triple]:
        self.pending[index] = triple
        out: list[Triple] = []
        while self.pos < len(self.order) and self.order[self.pos] in self.pending:
            t = self.pending.pop(self.order[self.pos])
            self.pos += 1
            if t is not None and self._keep(t):
                out.append(t)
        return out

    def _keep(self, t: Triple) -> bool:
        from rapidfuzz import fuzz, process

        if t.dialogue is not None and t.dialogue.kind == "correction":
            # "No, make it 22 degrees" is short and repeats across dialogues by nature; it only means
            # something after its own previous turn, and dropping it would break that dialogue
            return True

        text = normalize(t.utterance)
        group = self.seen.setdefault(_command_key(t), [])
        for prev, pid in group:
            if prev == text:
                self.duplicates.append(Duplicate(t.id, t.index, pid, "exact", 100.0))
                return False
        if self.threshold < 1.0 and group:
            best = process.extractOne(text, [g[0] for g in group], scorer=fuzz.ratio,
                                      score_cutoff=self.threshold * 100)
            if best is not None:
                _, score, k = best
                self.duplicates.append(Duplicate(t.id, t.index, group[k][1], "near", float(score)))
                return False
        if not self._wording_ok(t):
            return False
        group.append((text, t.id))
        return True

    def _wording_ok(self, t: Triple) -> bool:
        """Whether t's wording may join its intent's kept items; records it if so."""
        if self.max_wording_share is None or self.max_wording_share >= 1.0:
            return True
        from .dialogue import spoken_slots
        from .judge.features import mask

        values = list(t.command.slots.values()) + list(spoken_slots(t).values())
        by = self.wordings.setdefault(t.command.intent, {})
        w = mask(t.utterance, [str(v) for v in values])
        kept = sum(len(ids) for ids in by.values())
        same = by.setdefault(w, [])
        # MIN_WORDING_ITEMS always allowed: a share means nothing for an intent's first few items
        if len(same) >= max(MIN_WORDING_ITEMS, self.max_wording_share * (kept + 1)):
            self.duplicates.append(Duplicate(t.id, t.index, same[0], "wording", 100.0))
            return False
        same.append(t.id)
        return True

    def counts(self) -> dict[str, int]:
        kinds = [d.kind for d in self.duplicates]
        return {"exact": kinds.count("exact"), "near": kinds.count("near"), "wording": kinds.count("wording")}

    def write(self, store: Any) -> None:
        """duplicates.jsonl: every removed item with the kept item it repeats."""
        store.put_bytes("duplicates.jsonl", "".join(json.dumps(d.to_dict()) + "\n" for d in self.duplicates).encode())
