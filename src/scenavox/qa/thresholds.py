"""QA thresholds: the registered checks' presets for the scenario's failure cost, overridable in
its `qa` section (the built-in thresholds) and by keyword (any)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from ..scenario import Scenario
from .checks import COSTS, NOISY_SNR_DB, check_classes

__all__ = ["COSTS", "NOISY_SNR_DB", "Thresholds", "presets", "thresholds_for"]


class Thresholds(BaseModel):
    """The thresholds and settings of the registered checks, by name (t.max_wer, t.recognition_on).

    Built by thresholds_for(), which checks names and types against the checks' declarations; the
    values are extra fields so that a check added later needs no change here.
    """

    model_config = ConfigDict(extra="allow")


def presets() -> dict[str, dict[str, float]]:
    """{failure cost: {threshold: value}} over the registered checks, in their order."""
    return {cost: {name: float(per_cost[cost]) for c in check_classes() for name, per_cost in c.thresholds.items()}
            for cost in COSTS}


def _settings() -> dict[str, tuple[Any, Any]]:
    # in name order: keeps the report's threshold table as it was before checks were classes
    return dict(sorted((k, v) for c in check_classes() for k, v in c.settings.items()))


def thresholds_for(scenario: Scenario, **overrides: Any) -> Thresholds:
    """The preset for scenario.failure_cost, then the scenario's `qa` overrides, then **overrides."""
    numbers = presets()[scenario.failure_cost.value]
    settings = _settings()
    qa = scenario.qa.model_dump(mode="json", exclude={"enabled", "recognizer", "recognizer_model"}, exclude_none=True)
    given = {k: v for k, v in qa.items() if k in numbers or k in settings}
    unknown = sorted(k for k, v in overrides.items() if v is not None and k not in numbers and k not in settings)
    if unknown:
        raise ValueError(f"unknown QA threshold(s) {', '.join(unknown)}; known: {', '.join([*numbers, *settings])}")
    given.update({k: v for k, v in overrides.items() if v is not None})
    values: dict[str, Any] = {k: float(given.get(k, v)) for k, v in numbers.items()}
    for k, (kind, default) in settings.items():
        values[k] = TypeAdapter(kind).validate_python(given.get(k, default))
    return Thresholds(**values)
