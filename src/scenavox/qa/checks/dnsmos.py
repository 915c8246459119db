"""Speech quality: DNSMOS P.835 (SIG, BAK, OVRL) and P.808 of the clip as it is in the corpus and of its
clean copy (the speech before acoustics: the voice itself), reported apart. The gate reads the clean
copy's SIG where there is one: the scenario's noise, reverberation and channel are there on purpose, and
DNSMOS scores them, not the voice (a phone line's band limit took SIG from 3.6 to 1.1-1.3 on voices
whose clean copies were fine). Without a clean copy it reads the clip's SIG, where no noise under
NOISY_SNR_DB was added."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import ClipSignals, QACheck

NOISY_SNR_DB = 20.0  # below this a clip is meant to be noisy: DNSMOS then measures the noise, not the voice


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def mos_gated(target_snr_db: float | None, t: Any) -> bool:
    """Whether a clip's DNSMOS SIG is gated: qa.gate_mos, else only where no noise under NOISY_SNR_DB was added."""
    if getattr(t, "gate_mos", None) is not None:
        return bool(t.gate_mos)
    return not (target_snr_db is not None and target_snr_db < NOISY_SNR_DB)


class DNSMOS(QACheck):
    name = "dnsmos"
    label = "speech quality (DNSMOS)"
    thresholds = {"min_dnsmos_sig": {"low": 2.0, "medium": 2.5, "high": 2.8}}
    # None: the clean copy's SIG, else the clip's where no noise under NOISY_SNR_DB was added; True: the
    # clip's SIG (as it is in the corpus), whatever was added; False: no gate
    settings = {"gate_mos": (bool | None, None)}
    fields = ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808",
              "clean_dnsmos_ovrl", "clean_dnsmos_sig", "clean_dnsmos_bak", "clean_dnsmos_p808")
    columns = {"qa_dnsmos_ovrl": "dnsmos_ovrl", "qa_dnsmos_sig": "dnsmos_sig",
               "qa_clean_dnsmos_ovrl": "clean_dnsmos_ovrl", "qa_clean_dnsmos_sig": "clean_dnsmos_sig"}

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        noisy, clean = s.dnsmos, s.clean_dnsmos
        return {**{f"dnsmos_{k}": _num(noisy.get(k)) for k in ("ovrl", "sig", "bak", "p808")},
                **{f"clean_dnsmos_{k}": _num(clean.get(k)) for k in ("ovrl", "sig", "bak", "p808")}}

    def gate(self, r: Any, t: Any) -> list[str]:
        forced = getattr(t, "gate_mos", None)
        if forced is False:
            return []
        if forced is None and r.clean_dnsmos_sig is not None:
            if r.clean_dnsmos_sig < t.min_dnsmos_sig:
                return [f"clean dnsmos sig {r.clean_dnsmos_sig:.2f} < {t.min_dnsmos_sig:g}"]
            return []
        if mos_gated(r.target_snr_db, t) and r.dnsmos_sig is not None and r.dnsmos_sig < t.min_dnsmos_sig:
            return [f"dnsmos sig {r.dnsmos_sig:.2f} < {t.min_dnsmos_sig:g}"]
        return []

    def report(self, results: list[Any], summary: dict[str, Any]) -> list[tuple[str, Any]]:
        clean = summary.get("clean_mos") or {}
        return [("DNSMOS OVRL mean", summary["mos_proxy"]["dnsmos_ovrl"].get("mean")),
                ("DNSMOS OVRL median, clean / noisy clips", f"{clean.get('clean_ovrl_median', '-')} / "
                                                            f"{clean.get('noisy_ovrl_median', '-')}")]


def _median(values: list[float | None]) -> float | None:
    v = sorted(x for x in values if x is not None)
    return round(float(np.median(v)), 3) if v else None


def mos_summary(results: list[Any]) -> dict[str, Any]:
    """DNSMOS of the clean copies (the voices) and of the clips as they are (the scene), apart:
    medians overall and per voice. qa/summary.json and the report's "Speech quality" section."""
    clean = [r for r in results if getattr(r, "clean_dnsmos_ovrl", None) is not None]
    by_voice: dict[str, list[Any]] = {}
    for r in results:
        by_voice.setdefault(r.voice_id, []).append(r)
    return {
        "clips_with_clean": len(clean),
        "clean_ovrl_median": _median([r.clean_dnsmos_ovrl for r in clean]),
        "clean_sig_median": _median([r.clean_dnsmos_sig for r in clean]),
        "noisy_ovrl_median": _median([r.dnsmos_ovrl for r in results]),
        "noisy_sig_median": _median([r.dnsmos_sig for r in results]),
        "by_voice": {v: {"clips": len(rs), "clean_ovrl_median": _median([r.clean_dnsmos_ovrl for r in rs]),
                         "clean_sig_median": _median([r.clean_dnsmos_sig for r in rs]),
                         "noisy_ovrl_median": _median([r.dnsmos_ovrl for r in rs])}
                     for v, rs in sorted(by_voice.items())},
    }
