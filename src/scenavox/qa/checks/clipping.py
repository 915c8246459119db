"""Clipping: the share of samples at full scale."""

from __future__ import annotations

from typing import Any

from .. import metrics
from .base import ClipSignals, QACheck


class Clipping(QACheck):
    name = "clipping"
    label = "clipping"
    thresholds = {"max_clipped_fraction": {"low": 0.01, "medium": 0.001, "high": 0.0005}}
    fields = ("clipped_fraction",)

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        return {"clipped_fraction": metrics.level_stats(s.audio)["clipped_fraction"]}

    def gate(self, r: Any, t: Any) -> list[str]:
        if r.clipped_fraction > t.max_clipped_fraction:
            return [f"clipping {r.clipped_fraction:.4f} > {t.max_clipped_fraction:g}"]
        return []
