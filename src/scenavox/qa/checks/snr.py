"""Blind SNR estimate: VAD speech power over non-speech power (report and column only, no gate:
the acoustics stage adds noise on purpose)."""

from __future__ import annotations

from typing import Any

from .. import metrics
from .base import ClipSignals, QACheck


class SNR(QACheck):
    name = "snr"
    label = "signal-to-noise ratio (blind estimate)"
    fields = ("snr_db",)
    columns = {"qa_snr_db": "snr_db"}

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        return {"snr_db": metrics.snr_estimate(s.audio_16k, s.vad)}
