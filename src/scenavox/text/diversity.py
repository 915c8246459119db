"""How varied the accepted utterances are: distinct-1 and distinct-2 (unique n-grams over all n-grams,
after normalization) and the share of the most common wording once slot values are masked ("take me
to x please"), per intent and over all items. Read by the run summary, the QA report and the card."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .normalize import normalize


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct n-grams over all n-grams (Li et al. 2016), on normalized words."""
    grams: list[tuple[str, ...]] = []
    for t in texts:
        w = normalize(t).split()
        grams += [tuple(w[k : k + n]) for k in range(len(w) - n + 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def _view(item: Any) -> tuple[str, str, list[str]]:
    """(intent, utterance, slot values) of a Triple or of a dataset row (text, intent, slots as JSON)."""
    if hasattr(item, "command"):
        return item.command.intent, item.utterance, list(item.command.slots.values())
    slots = item.get("slots") or {}
    if isinstance(slots, str):
        slots = json.loads(slots) if slots else {}
    return str(item.get("intent", "")), str(item.get("utterance", item.get("text", ""))), list(slots.values())


def pattern(utterance: str, values: list[str]) -> str:
    """The utterance's wording with the command's slot values masked (the judge's masking)."""
    from .judge.features import mask

    return mask(utterance, values)


def diversity(items: list[Any]) -> dict[str, Any]:
    """Triples or dataset rows -> {"all": {...}, "intents": {name: {...}}}; each: items, distinct_1,
    distinct_2, top_pattern, top_pattern_share."""

    def one(ts: list[tuple[str, str, list[str]]]) -> dict[str, Any]:
        pats = Counter(pattern(u, v) for _, u, v in ts)
        top, count = pats.most_common(1)[0] if pats else ("", 0)
        utts = [u for _, u, _ in ts]
        return {"items": len(ts), "distinct_1": distinct_n(utts, 1), "distinct_2": distinct_n(utts, 2),
                "top_pattern": top, "top_pattern_share": round(count / max(1, len(ts)), 4)}

    triples = [_view(x) for x in items]
    by: dict[str, list[Any]] = {}
    for t in triples:
        by.setdefault(t[0], []).append(t)
    intents = {k: one(v) for k, v in sorted(by.items())}
    worst = max(intents.values(), key=lambda d: d["top_pattern_share"], default=None)
    out = {"all": one(list(triples)), "intents": intents}
    out["all"]["max_intent_pattern_share"] = worst["top_pattern_share"] if worst else 0.0
    return out


def judge_rates(usage: dict[str, float], text_done: int) -> dict[str, Any] | None:
    """The judge's counts of this run (the text stage's per-item metrics, summed): None when nothing
    was judged (judge off, or every item reused)."""
    judged = int(usage.get("judged", 0))
    if not judged:
        return None
    ru, rr, sa = (int(usage.get(k, 0)) for k in ("judge_rejected_utterances", "judge_rejected_replies",
                                                  "judge_set_aside"))
    return {"candidates_judged": judged, "utterances_rejected": ru, "replies_rejected": rr,
            "utterance_reject_rate": round(ru / judged, 4), "reply_reject_rate": round(rr / judged, 4),
            "items_set_aside": sa, "set_aside_rate": round(sa / max(1, text_done), 4)}
