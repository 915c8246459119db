"""How sure the judge must be before it accepts an item: presets by the scenario's failure_cost.

A threshold is a minimum of the judge's probability that the utterance (or the reply) is faithful.
Stricter presets reject more good items to let fewer bad ones through: the measured trade-off on the
audit set is in tests/data/audit/README.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JudgeThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_utterance: float = Field(ge=0, le=1)  # probability that the utterance asks for its command
    min_reply: float = Field(ge=0, le=1)  # probability that the reply acknowledges or answers it
    # judge replies at all: None = only where the scenario voices them (output_form voiced_replies or both)
    check_reply: bool | None = None


# Measured on the audit set (in sample; tests/data/audit/README.md has the held-out numbers too).
# Utterances: low rejects 5% of good ones and finds 84% of bad ones, medium 9% / 89%, high 12% / 90%.
# Replies (scenarios that voice them): low 7% / 81%, medium 7% / 87%, high 14% / 91%; held out (leave one
# scenario out) low 7% / 73%, medium 11% / 82%, high 21% / 86%. The reply model's probabilities sit
# lower (two thirds of the audit replies are bad), hence its lower thresholds.
PRESETS: dict[str, dict[str, float]] = {
    "low": dict(min_utterance=0.4, min_reply=0.2),
    "medium": dict(min_utterance=0.5, min_reply=0.3),
    "high": dict(min_utterance=0.6, min_reply=0.4),
}

# The text stage's gate (text/stage.py) keeps the best of several candidates, and the best of k scores is
# biased upward (a bad candidate that scores high is the one kept): its utterance thresholds are stricter.
# On the audit set, utterances (minilm-rules-6): 0.65 finds 96% of bad ones at 14% of good ones rejected,
# 0.70 99% / 18%, 0.75 100% / 28%; with 3 candidates per attempt a rejected good one mostly costs a retry.
# Measured on car builds (3 candidates): at medium 0.5, 6 of 22 accepted utterances were bad. At 0.75 the
# gate turned away 72% of candidates; of the set-aside candidates scored in [0.70, 0.75) about 1 in 8 read
# as bad, in [0.65, 0.70) about 1 in 4, hence 0.70 for medium.
GATE_PRESETS: dict[str, dict[str, float]] = {
    "low": dict(min_utterance=0.65, min_reply=0.2),
    "medium": dict(min_utterance=0.70, min_reply=0.3),
    "high": dict(min_utterance=0.8, min_reply=0.4),
}


def thresholds_for(scenario: Any, presets: dict[str, dict[str, float]] | None = None,
                   **overrides: Any) -> JudgeThresholds:
    """The preset (PRESETS, or the given table) for scenario.failure_cost, then the scenario's
    `text.judge` overrides (when that optional field exists), then **overrides."""
    cost = getattr(scenario.failure_cost, "value", scenario.failure_cost)
    values: dict[str, Any] = dict((presets or PRESETS)[str(cost)])
    cfg = getattr(getattr(scenario, "text", None), "judge", None)
    if cfg is not None:
        data = cfg.model_dump(exclude_none=True) if hasattr(cfg, "model_dump") else dict(cfg)
        values.update({k: v for k, v in data.items() if k in JudgeThresholds.model_fields})
    values.update({k: v for k, v in overrides.items() if v is not None})
    return JudgeThresholds(**values)
