"""Speech timing from the VAD: the share of speech, the speaking rate over the speech span, and
the silences before, after and inside it."""

from __future__ import annotations

from typing import Any

from .. import metrics
from .base import ClipSignals, QACheck


class Timing(QACheck):
    name = "timing"
    label = "speech timing (speech ratio, speaking rate, silences)"
    thresholds = {
        "min_words_per_s": {"low": 0.8, "medium": 1.0, "high": 1.2},
        "max_words_per_s": {"low": 7.0, "medium": 6.0, "high": 5.5},
        "max_leading_silence_s": {"low": 1.5, "medium": 1.0, "high": 0.75},
        "max_trailing_silence_s": {"low": 1.5, "medium": 1.0, "high": 0.75},
        "max_pause_s": {"low": 2.0, "medium": 1.5, "high": 1.0},
        "min_speech_ratio": {"low": 0.25, "medium": 0.35, "high": 0.45},
    }
    fields = ("words_per_s", "leading_silence_s", "trailing_silence_s", "longest_pause_s", "speech_ratio")
    columns = {"qa_words_per_s": "words_per_s"}

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        sil = s.silence
        speech_s = max(0.0, len(s.audio_16k) / 16000 - sil["leading_silence_s"] - sil["trailing_silence_s"])
        return {"words_per_s": metrics.speaking_rate(len(s.clip.text.split()), speech_s), **sil}

    def gate(self, r: Any, t: Any) -> list[str]:
        reasons = []
        if r.speech_ratio < t.min_speech_ratio:
            reasons.append(f"speech ratio {r.speech_ratio:.2f} < {t.min_speech_ratio:g}")
        elif not (t.min_words_per_s <= r.words_per_s <= t.max_words_per_s):  # no rate without speech
            reasons.append(f"speaking rate {r.words_per_s:.2f} words/s outside [{t.min_words_per_s:g}, "
                           f"{t.max_words_per_s:g}]")
        if r.speech_ratio > 0:
            if r.leading_silence_s > t.max_leading_silence_s:
                reasons.append(f"leading silence {r.leading_silence_s:.2f}s > {t.max_leading_silence_s:g}s")
            if r.trailing_silence_s > t.max_trailing_silence_s:
                reasons.append(f"trailing silence {r.trailing_silence_s:.2f}s > {t.max_trailing_silence_s:g}s")
            if r.longest_pause_s > t.max_pause_s:
                reasons.append(f"pause {r.longest_pause_s:.2f}s > {t.max_pause_s:g}s")
        return reasons
