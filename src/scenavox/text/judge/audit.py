"""A hand-labelled audit set (tests/data/audit/: items.jsonl + labels.jsonl) and how a judge does on it.

"Bad" is the positive class: recall = the share of bad items the judge rejects, precision = the share
of rejected items that are bad, good_rejected = the share of good items it rejects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_audit(folder: Path | str) -> list[dict[str, Any]]:
    """Items with their labels merged in (utterance_ok, reply_ok, note), in file order."""
    folder = Path(folder)
    labels = {}
    for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            labels[r["id"]] = r
    out = []
    for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            lab = labels.get(item["id"])
            if lab is not None:
                out.append({**item, "utterance_ok": lab["utterance_ok"], "reply_ok": lab["reply_ok"],
                            "note": lab.get("note", "")})
    return out


def rates(ok_true: list[bool], ok_pred: list[bool]) -> dict[str, float]:
    tp = sum(1 for t, p in zip(ok_true, ok_pred) if not t and not p)  # bad, rejected
    fn = sum(1 for t, p in zip(ok_true, ok_pred) if not t and p)
    fp = sum(1 for t, p in zip(ok_true, ok_pred) if t and not p)  # good, rejected
    tn = sum(1 for t, p in zip(ok_true, ok_pred) if t and p)
    return {"bad": tp + fn, "good": fp + tn, "recall": tp / max(1, tp + fn), "precision": tp / max(1, tp + fp),
            "good_rejected": fp / max(1, fp + tn), "tp": tp, "fn": fn, "fp": fp, "tn": tn}
