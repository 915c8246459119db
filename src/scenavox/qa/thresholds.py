"""QA thresholds: presets by the scenario's failure cost, overridable in its `qa` section."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..scenario import Scenario


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_wer: float
    min_entity_recall: float
    min_dnsmos_sig: float  # DNSMOS SIG (speech quality); gated only where clips are meant to be clean
    min_words_per_s: float  # speaking rate over the VAD speech span
    max_words_per_s: float
    max_leading_silence_s: float
    max_trailing_silence_s: float
    max_pause_s: float
    min_speech_ratio: float
    max_clipped_fraction: float
    min_rms_dbfs: float
    max_rms_dbfs: float
    gate_mos: bool | None = None  # None: per clip, off where noise below NOISY_SNR_DB was added
    # Which transcript the WER and entity gates read. "clean" (the speech before acoustics): the
    # noise is added on purpose and does not change the label, so gating on the noisy copy would
    # drop exactly the hard, scenario-typical clips whenever the small recognizer struggles.
    # "noisy" or "both" where the words must survive the scenario's noise too.
    recognition_on: Literal["clean", "noisy", "both"] = "clean"


PRESETS: dict[str, dict[str, float]] = {
    # a wrong word costs little: keep most clips, drop only the broken ones
    "low": dict(max_wer=0.4, min_entity_recall=0.5, min_dnsmos_sig=2.0, min_words_per_s=0.8, max_words_per_s=7.0,
                max_leading_silence_s=1.5, max_trailing_silence_s=1.5, max_pause_s=2.0, min_speech_ratio=0.25,
                max_clipped_fraction=0.01, min_rms_dbfs=-50.0, max_rms_dbfs=-6.0),
    "medium": dict(max_wer=0.25, min_entity_recall=1.0, min_dnsmos_sig=2.5, min_words_per_s=1.0,
                   max_words_per_s=6.0, max_leading_silence_s=1.0, max_trailing_silence_s=1.0, max_pause_s=1.5,
                   min_speech_ratio=0.35, max_clipped_fraction=0.001, min_rms_dbfs=-45.0, max_rms_dbfs=-8.0),
    # a misheard dose is dangerous: every entity right, almost every word right
    "high": dict(max_wer=0.1, min_entity_recall=1.0, min_dnsmos_sig=2.8, min_words_per_s=1.2, max_words_per_s=5.5,
                 max_leading_silence_s=0.75, max_trailing_silence_s=0.75, max_pause_s=1.0, min_speech_ratio=0.45,
                 max_clipped_fraction=0.0005, min_rms_dbfs=-40.0, max_rms_dbfs=-10.0),
}

NOISY_SNR_DB = 20.0  # below this a clip is meant to be noisy: DNSMOS then measures the noise, not the voice


def thresholds_for(scenario: Scenario, **overrides: Any) -> Thresholds:
    """The preset for scenario.failure_cost, then the scenario's `qa` overrides, then **overrides."""
    values: dict[str, Any] = dict(PRESETS[scenario.failure_cost.value])
    qa = scenario.qa.model_dump(mode="json", exclude={"enabled", "recognizer", "recognizer_model"}, exclude_none=True)
    values.update({k: v for k, v in qa.items() if k in Thresholds.model_fields})
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Thresholds(**values)
