"""The round trip on clean speech alone, for a check right after voicing (issue 16, "no wasted work"):
a clip whose clean speech already fails the recognition gates need not get acoustics, a voiced reply
or a dialogue scene. The same gates as the Recognition check's clean view, with the same recognizer.

    asr = make_transcriber(scenario.qa.recognizer, scenario.qa.recognizer_model, threads=2)
    verdict = clean_round_trip(asr, speech, sr, clip.text, triple.command.slots, clip.language,
                               thresholds_for(scenario))
    if not verdict.passed: ...   # set the item aside with verdict.reasons
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio import resample
from . import metrics
from .asr import WHISPER_SR, Transcriber, whisper_language


@dataclass
class RoundTrip:
    passed: bool
    transcript: str
    wer: float
    entity_recall: float | None
    reasons: list[str] = field(default_factory=list)


def clean_round_trip(transcriber: Transcriber, speech: np.ndarray, sr: int, text: str, slots: dict[str, str],
                     language: str | None, thresholds: Any) -> RoundTrip:
    """Transcribe clean speech and apply the WER and entity gates (thresholds.max_wer, min_entity_recall)."""
    x = resample(np.asarray(speech, dtype=np.float32), sr, WHISPER_SR)
    heard = transcriber.transcribe(x, whisper_language(language))
    wer = round(metrics.wer(text, heard), 4)
    ents = metrics.entity_stability(text, heard, slots)
    rec = metrics.recall(ents)
    reasons = []
    if wer > thresholds.max_wer:
        reasons.append(f"clean wer {wer:.2f} > {thresholds.max_wer:g}")
    if rec is not None and rec < thresholds.min_entity_recall:
        lost = ", ".join(k for k, ok in ents.items() if not ok)
        reasons.append(f"clean entity recall {rec:.2f} < {thresholds.min_entity_recall:g} (lost: {lost})")
    return RoundTrip(passed=not reasons, transcript=heard, wer=wer, entity_recall=rec, reasons=reasons)
