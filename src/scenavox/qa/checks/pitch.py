"""Pitch: median F0, its spread and a jitter proxy over the VAD speech (report only)."""

from __future__ import annotations

from typing import Any

from .. import metrics
from .base import ClipSignals, QACheck


class Pitch(QACheck):
    name = "pitch"
    label = "pitch (F0 median, spread, jitter proxy)"
    fields = ("f0_median_hz", "f0_spread_st", "jitter_proxy")

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        return metrics.pitch_stats(s.audio_16k, s.vad)
