"""Exact and near-duplicate utterances, removed before voicing and counted.

Two utterances are compared only when they express the same command (intent + slot values):
"set it to 21 degrees" and "set it to 22 degrees" differ by one character but are different
training examples. Dialogue corrections are kept (see `_keep`). Within a command, an utterance equal to an earlier one after normalization
is an exact duplicate; one whose rapidfuzz ratio to an earlier one reaches the threshold is a
near duplicate. Optionally (`max_wording_share`), an utterance whose wording with the slot values
masked already makes up that share of its intent's kept items is dropped too ("wording").

An item may carry other candidates the judge accepted (provenance "alternatives", text/stage.py). The
deduper keeps whichever of them passes these checks and adds the largest share of word pairs its intent's
kept items do not have yet (slot values masked), the judge's first choice on a tie. So a second wording
replaces a repeated one, and an item whose first choice is a duplicate is not lost when another is not.

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


def _wording(t: Triple) -> str:
    """The utterance with the command's slot values masked ("take me to x please")."""
    from .dialogue import spoken_slots
    from .judge.features import mask

    values = list(t.command.slots.values()) + list(spoken_slots(t).values())
    return mask(t.utterance, [str(v) for v in values])


def _pairs(wording: str) -> set[tuple[str, str]]:
    w = normalize(wording).split()
    return set(zip(w, w[1:]))


def _without_alternatives(t: Triple) -> Triple:
    if "alternatives" not in t.provenance:
        return t
    return t.model_copy(update={"provenance": {k: v for k, v in t.provenance.items() if k != "alternatives"}})


def _as_alternative(t: Triple, alt: dict[str, Any]) -> Triple:
    """t worded as another candidate the judge accepted: its utterance, reply and seed."""
    prov = {k: v for k, v in t.provenance.items() if k != "alternatives"}
    prov.update(text_seed=alt["text_seed"], kept_for_variety={"candidate": alt["candidate"],
                                                              "instead_of": t.provenance.get("text_seed")})
    judge = prov.get("judge")
    if isinstance(judge, dict):  # the scores of the candidate kept
        mine = next((c for c in judge.get("candidates", []) if c.get("candidate") == alt["candidate"]), {})
        prov["judge"] = {**judge, "utterance_p": mine.get("utterance_p"), "reply_p": mine.get("reply_p")}
    return t.model_copy(update={"utterance": alt["utterance"], "reply": alt["reply"], "provenance": prov})


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
        self.pairs: dict[str, set[tuple[str, str]]] = {}  # intent -> word pairs of its kept wordings

    def extend(self, indices: list[int]) -> None:
        """Further indices, decided after every earlier one (a top-up pass)."""
        self.order.extend(indices)

    def add(self, index: int, triple: Triple | None) -> list[Triple]:
        self.pending[index] = triple
        out: list[Triple] = []
        while self.pos < len(self.order) and self.order[self.pos] in self.pending:
            t = self.pending.pop(self.order[self.pos])
            self.pos += 1
            kept = self._keep(t) if t is not None else None
            if kept is not None:
                out.append(kept)
        return out

    def _keep(self, t: Triple) -> Triple | None:
        """The triple to keep for this item (t, or t worded as one of its alternatives), or None."""
        if t.dialogue is not None and t.dialogue.kind == "correction":
            # "No, make it 22 degrees" is short and repeats across dialogues by nature; it only means
            # something after its own previous turn, and dropping it would break that dialogue
            return _without_alternatives(t)
        options = [_without_alternatives(t)] + [_as_alternative(t, a) for a in t.provenance.get("alternatives") or []]
        first_reason: Duplicate | None = None
        best, best_wording, best_new = None, "", -1.0
        for o in options:
            wording = _wording(o)
            why = self._duplicate_of(o, wording)
            if why is not None:
                first_reason = first_reason or why
                continue
            new = self._new_pairs(o.command.intent, wording)
            if new > best_new:
                best, best_wording, best_new = o, wording, new
        if best is None:
            assert first_reason is not None
            self.duplicates.append(first_reason)
            return None
        self.seen.setdefault(_command_key(best), []).append((normalize(best.utterance), best.id))
        if self.max_wording_share is not None and self.max_wording_share < 1.0:
            self.wordings.setdefault(best.command.intent, {}).setdefault(best_wording, []).append(best.id)
        self.pairs.setdefault(best.command.intent, set()).update(_pairs(best_wording))
        return best

    def _duplicate_of(self, t: Triple, wording: str) -> Duplicate | None:
        """Why t (its wording: slot values masked) may not join the kept items (an exact, near or wording
        duplicate), or None."""
        from rapidfuzz import fuzz, process

        text = normalize(t.utterance)
        group = self.seen.get(_command_key(t), [])
        for prev, pid in group:
            if prev == text:
                return Duplicate(t.id, t.index, pid, "exact", 100.0)
        if self.threshold < 1.0 and group:
            best = process.extractOne(text, [g[0] for g in group], scorer=fuzz.ratio,
                                      score_cutoff=self.threshold * 100)
            if best is not None:
                _, score, k = best
                return Duplicate(t.id, t.index, group[k][1], "near", float(score))
        if self.max_wording_share is None or self.max_wording_share >= 1.0:
            return None
        by = self.wordings.get(t.command.intent, {})
        kept = sum(len(ids) for ids in by.values())
        same = by.get(wording, [])
        # MIN_WORDING_ITEMS always allowed: a share means nothing for an intent's first few items; past
        # them, the wording's share with this item must stay within the cap (not one item over it)
        if len(same) + 1 > max(MIN_WORDING_ITEMS, self.max_wording_share * (kept + 1)):
            return Duplicate(t.id, t.index, same[0], "wording", 100.0)
        return None

    def _new_pairs(self, intent: str, wording: str) -> float:
        """The share of a wording's word pairs that the intent's kept items do not have."""
        pairs = _pairs(wording)
        if not pairs:
            return 0.0
        return len(pairs - self.pairs.get(intent, set())) / len(pairs)

    def counts(self) -> dict[str, int]:
        kinds = [d.kind for d in self.duplicates]
        return {"exact": kinds.count("exact"), "near": kinds.count("near"), "wording": kinds.count("wording")}

    def write(self, store: Any) -> None:
        """duplicates.jsonl: every removed item with the kept item it repeats."""
        store.put_bytes("duplicates.jsonl", "".join(json.dumps(d.to_dict()) + "\n" for d in self.duplicates).encode())
