"""Speech quality: DNSMOS P.835 (SIG, BAK, OVRL) and P.808, gated on SIG where the clip is meant
to be clean (in added noise DNSMOS measures the noise, not the voice)."""

from __future__ import annotations

import math
from typing import Any

from .base import ClipSignals, QACheck

NOISY_SNR_DB = 20.0  # below this a clip is meant to be noisy: DNSMOS then measures the noise, not the voice


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


class DNSMOS(QACheck):
    name = "dnsmos"
    label = "speech quality (DNSMOS)"
    thresholds = {"min_dnsmos_sig": {"low": 2.0, "medium": 2.5, "high": 2.8}}
    settings = {"gate_mos": (bool | None, None)}  # None: per clip, off where noise below NOISY_SNR_DB was added
    fields = ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808")
    columns = {"qa_dnsmos_ovrl": "dnsmos_ovrl", "qa_dnsmos_sig": "dnsmos_sig"}

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        mos = s.dnsmos
        return {f"dnsmos_{k}": _num(mos.get(k)) for k in ("ovrl", "sig", "bak", "p808")}

    def gate(self, r: Any, t: Any) -> list[str]:
        gate = t.gate_mos if t.gate_mos is not None else not (r.target_snr_db is not None
                                                              and r.target_snr_db < NOISY_SNR_DB)
        if gate and r.dnsmos_sig is not None and r.dnsmos_sig < t.min_dnsmos_sig:
            return [f"dnsmos sig {r.dnsmos_sig:.2f} < {t.min_dnsmos_sig:g}"]
        return []

    def report(self, results: list[Any], summary: dict[str, Any]) -> list[tuple[str, Any]]:
        return [("DNSMOS OVRL mean", summary["mos_proxy"]["dnsmos_ovrl"].get("mean"))]
