"""Level: RMS loudness (dBFS) within the preset's range; the peak is recorded beside it."""

from __future__ import annotations

from typing import Any

from .. import metrics
from .base import ClipSignals, QACheck


class Level(QACheck):
    name = "level"
    label = "level (RMS dBFS)"
    thresholds = {"min_rms_dbfs": {"low": -50.0, "medium": -45.0, "high": -40.0},
                  "max_rms_dbfs": {"low": -6.0, "medium": -8.0, "high": -10.0}}
    fields = ("peak_dbfs", "rms_dbfs")

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        levels = metrics.level_stats(s.audio)
        return {"peak_dbfs": levels["peak_dbfs"], "rms_dbfs": levels["rms_dbfs"]}

    def gate(self, r: Any, t: Any) -> list[str]:
        if not (t.min_rms_dbfs <= r.rms_dbfs <= t.max_rms_dbfs):
            return [f"level {r.rms_dbfs:.1f} dBFS outside [{t.min_rms_dbfs:g}, {t.max_rms_dbfs:g}]"]
        return []
