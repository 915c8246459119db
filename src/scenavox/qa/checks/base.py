"""What a QA check provides, the signals it measures from, and the registry of checks.

A check measures a clip, gates it against thresholds that depend on the scenario's failure
cost, fills dataset columns and adds rows to the report. Adding one is one module plus one
`register(...)` line in qa/checks/__init__.py (or a `register` call from your own code):

    class Loudness(QACheck):
        name = "loudness"                                     # registry key
        label = "short-term loudness"                         # what it checks, for people
        thresholds = {"max_lufs": {"low": -5.0, "medium": -8.0, "high": -10.0}}  # per failure cost
        fields = ("lufs",)                                    # what measure() returns (QAResult fields)
        columns = {"qa_lufs": "lufs"}                         # dataset column -> result field

        def measure(self, s: ClipSignals) -> dict:            # from the clip, its triple, audio, transcripts
            return {"lufs": my_lufs(s.audio, s.sr)}
        def gate(self, r, t) -> list[str]:                    # one short reason per failed threshold
            return [f"loudness {r.lufs:.1f} > {t.max_lufs:g}"] if r.lufs > t.max_lufs else []
        def report(self, results, summary) -> list[tuple[str, Any]]:   # rows of the report's summary
            return [("loudness mean", mean(r.lufs for r in results))]

The contract, point by point:
- Order. Checks run, gate and fill columns in registration order: a clip's reasons and the
  dataset's qa_* columns come in that order (qa_passed and qa_reasons first).
- measure(signals) -> {field: value}: a pure function of the clip's signals (ClipSignals below:
  clip, triple, audio at its own rate and at 16 kHz, the clean copy, the transcripts of the noisy
  and the clean copy, VAD probabilities and silences, DNSMOS scores of both copies). JSON-serializable values; the result
  stores them under their field names (QAResult declares the built-in checks' fields; a new
  check's fields are kept as extra fields). A result stored without a registered check's fields
  is measured again on the next run.
- thresholds: {name: {"low": v, "medium": v, "high": v}}: the presets for the scenario's
  failure_cost (qa/thresholds.py assembles them); tests and the API can override any by name
  (thresholds_for(scenario, name=value)), and the scenario's `qa:` section can override the
  built-in ones it declares. settings: {name: (type, default)}: switches that are not per cost.
- gate(result, thresholds) -> reasons: cheap, from the stored measurements only (a rerun with
  other thresholds re-judges stored results without loading a model). Missing values (None)
  pass. rescore(result): recompute text measures from stored transcripts (optional).
- columns: {dataset column: result field}, None where the clip was not checked; column_types gives
  a column's type when it is not float64 (the dataset schema, row_schema.py, reads both).
- report(results, summary) -> [(label, value)]: rows of the report's summary table
  (report/index.html), also printed by `scenavox qa`.
- setup(threads): load a model of the check's own, once per worker (optional). The QA stage
  provides the recognizer, VAD and DNSMOS; a check that needs more loads it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generic, TypeVar

import numpy as np

from ...audio import resample
from .. import metrics

if TYPE_CHECKING:
    from ...records import Clip, Triple

COSTS = ("low", "medium", "high")  # the scenario's failure_cost values

T = TypeVar("T")


class cached_property(Generic[T]):  # noqa: N801 - used as functools.cached_property is
    """functools.cached_property without Python 3.11's lock. That lock is one per property, shared by
    every instance: clips measured at once on threads (QAStage clips_at_once) would wait on each
    other's DNSMOS. One ClipSignals is only ever read by the thread that measures its clip."""

    def __init__(self, fn: Callable[[Any], T]):
        self.fn, self.name, self.__doc__ = fn, fn.__name__, fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class ClipSignals:
    """What a check measures from: one clip, computed once and shared by the checks.

    The VAD and DNSMOS run on first use (`vad`, `dnsmos`), with the models the QA stage loaded.
    """

    def __init__(self, clip: Clip, triple: Triple, audio: np.ndarray, sr: int, transcript: str | None,
                 clean_transcript: str | None, vad: Callable[[np.ndarray], np.ndarray],
                 dnsmos: Callable[[list[np.ndarray]], list[dict[str, float]]] | None, *,
                 clean_audio_16k: np.ndarray | None = None, noisy_mos: bool = True):
        self.clip, self.triple = clip, triple
        self.audio, self.sr = audio, sr  # the file's samples (mono) at its own rate
        self.clean_audio_16k = clean_audio_16k  # the speech before acoustics, when the corpus kept it
        # transcript: None where the noisy copy was not transcribed (the QA stage's noisy sample)
        self.transcript, self.clean_transcript = transcript, clean_transcript
        self._vad, self._dnsmos = vad, dnsmos
        self.noisy_mos = noisy_mos  # False: DNSMOS of the clean copy only (the QA stage's noisy sample)

    @cached_property
    def audio_16k(self) -> np.ndarray:
        return resample(self.audio, self.sr, 16000)

    @cached_property
    def vad(self) -> np.ndarray:
        """Speech probability per 32 ms chunk of audio_16k (metrics.VAD_CHUNK)."""
        return self._vad(self.audio_16k)

    @cached_property
    def silence(self) -> dict[str, float]:
        """leading_silence_s, trailing_silence_s, longest_pause_s, speech_ratio (metrics.silence_stats)."""
        return metrics.silence_stats(self.vad)

    @cached_property
    def _mos(self) -> list[dict[str, float]]:
        # the clip and its clean copy in one batched DNSMOS call
        if not self._dnsmos:
            return [{}, {}]
        xs = ([self.audio_16k] if self.noisy_mos else []) + ([] if self.clean_audio_16k is None else
                                                              [self.clean_audio_16k])
        scores = self._dnsmos(xs) if xs else []
        noisy = scores.pop(0) if self.noisy_mos else {}
        return [noisy, scores[0] if scores else {}]

    @cached_property
    def dnsmos(self) -> dict[str, float]:
        """ovrl, sig, bak, p808 of the clip as it is in the corpus; empty when the stage runs without DNSMOS."""
        return self._mos[0]

    @cached_property
    def clean_dnsmos(self) -> dict[str, float]:
        """The same of the clean copy (the voice without the scene); empty without a clean copy."""
        return self._mos[1]


class QACheck:
    """The protocol (see the module docstring); subclass it for the defaults."""

    name: ClassVar[str]
    label: ClassVar[str]
    thresholds: ClassVar[dict[str, dict[str, float]]] = {}
    settings: ClassVar[dict[str, tuple[Any, Any]]] = {}
    fields: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[dict[str, str]] = {}
    column_types: ClassVar[dict[str, str]] = {}  # dataset column -> "string" | "bool" | "int64" (default float64)

    def setup(self, threads: int) -> None:
        return None

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        return {}

    def rescore(self, r: Any) -> None:
        return None

    def gate(self, r: Any, t: Any) -> list[str]:
        return []

    def report(self, results: list[Any], summary: dict[str, Any]) -> list[tuple[str, Any]]:
        return []


_REGISTRY: dict[str, type[QACheck]] = {}
_INSTANCES: dict[str, QACheck] = {}


def register(check: type[QACheck]) -> type[QACheck]:
    """Add a check (after the ones registered before it); usable as a class decorator."""
    missing = {k: v for k, v in check.thresholds.items() if set(v) != set(COSTS)}
    if missing:
        raise ValueError(f"QA check {check.name}: thresholds {', '.join(missing)} need a value for each of "
                         f"{', '.join(COSTS)}")
    _REGISTRY[check.name] = check
    _INSTANCES.pop(check.name, None)
    return check


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)
    _INSTANCES.pop(name, None)


def check_classes() -> list[type[QACheck]]:
    return list(_REGISTRY.values())


def checks() -> list[QACheck]:
    """One shared instance per registered check, in order (for gating, columns and reports; the
    QA stage makes its own, which load models in setup)."""
    return [_INSTANCES.setdefault(name, cls()) for name, cls in _REGISTRY.items()]
