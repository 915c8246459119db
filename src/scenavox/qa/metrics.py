"""Per-clip measures: WER/CER after normalization, entity stability, audio checks.

All pure functions of arrays and strings, so they are unit-testable without models.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import jellyfish
from rapidfuzz.distance import Indel, Levenshtein

from ..text.normalize import POSSESSIVE, canonical, contains_canonical


# --- recognition -------------------------------------------------------------------
def _join_splits(words: list[str], vocabulary: set[str]) -> list[str]:
    """Merge adjacent words whose concatenation is a word of the other side ("cold play" -> "coldplay")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in vocabulary and words[i] not in vocabulary:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def _tokens(text: str) -> list[str]:
    """Words; in scripts written without spaces (Chinese, Japanese) every character is a token,
    as is usual for their error rates."""
    return _CJK.sub(r" \1 ", canonical(text)).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after canonical() (numbers as digit strings, no case or punctuation); a compound
    written as two words on one side and one on the other counts as a match."""
    ref, hyp = _tokens(reference), _tokens(hypothesis)
    hyp = _join_splits(hyp, set(ref))
    ref = _join_splits(ref, set(hyp))
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate after canonical(), spaces included."""
    ref, hyp = canonical(reference), canonical(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


def entity_stability(reference: str, transcript: str, slots: dict[str, str]) -> dict[str, bool]:
    """For each slot value the reference text says, whether the transcript still says it.

    Slot values that the reference text itself lacks (the LLM paraphrased them) are left
    out: recognition cannot be blamed for them.
    """
    # heard() on the reference too: a code written "E Q, nine zero five four" says "EQ-9054"
    return {name: heard(transcript, value) for name, value in slots.items() if heard(reference, value)}


def heard(transcript: str, value: str) -> bool:
    """contains_canonical(), also accepting a different split into words ("Coldplay" heard as "cold
    play", "AB-1234" heard as "A B 1234") and a name the recognizer spelled another way that sounds
    the same (sounds_alike: "Nina Simone" heard as "Nina Simmon")."""
    if contains_canonical(transcript, value) or sounds_alike(transcript, value):
        return True
    v = canonical(value).replace(" ", "")
    words = canonical(transcript).split()
    # any run of adjacent transcript words that joins to the value
    for i in range(len(words)):
        joined = ""
        for w in words[i:]:
            joined += w
            if joined == v:
                return True
            if len(joined) >= len(v):
                break
    return False


# A word heard in another spelling still counts when it sounds the same: equal Metaphone keys, the same
# closing vowel (Metaphone ignores vowels: "Maria" and "Marie" share a key but are two people) and
# spelled nearly the same (Indel similarity >= this). "Simone"/"Simmon", "Billie"/"Billy", "Aretha"/
# "Aratha", "Sarah"/"Sara" pass; "Maria"/"Marie", "Tom"/"Tim", "Mike"/"Mack", "Beatles"/"Byrls" do not.
# Only words of at least 4 letters: numbers and identifiers are compared digit for digit, always.
SOUNDS_ALIKE_MIN_SIMILARITY = 0.7


def _closing_vowel(word: str) -> str:
    """The vowel a word ends on ("i" for -i, -y, -ie), "" for a consonant; a silent final e or h dropped."""
    w = word.rstrip("eh") or word
    return "i" if w[-1] in "iy" else w[-1] if w[-1] in "aou" else ""


def _alike(said: str, heard_word: str) -> bool:
    if said == heard_word:
        return True
    if len(said) < 4 or not said.isalpha() or not heard_word.isalpha():
        return False
    return (jellyfish.metaphone(said) == jellyfish.metaphone(heard_word)
            and _closing_vowel(said) == _closing_vowel(heard_word)
            and Indel.normalized_similarity(said, heard_word) >= SOUNDS_ALIKE_MIN_SIMILARITY)


def sounds_alike(transcript: str, value: str) -> bool:
    """Whether the transcript says the value's words in order, each spelled the same or (a word of
    letters) sounding the same; never for a value with a digit in it."""
    v = canonical(value).split()
    if not v or any(any(c.isdigit() for c in w) for w in v):
        return False
    for text in {transcript, POSSESSIVE.sub(r"\1", transcript)}:  # "Billy Eilish's music" names Billie Eilish
        words = canonical(text).split()
        if any(all(_alike(a, b) for a, b in zip(v, words[i:i + len(v)])) for i in range(len(words) - len(v) + 1)):
            return True
    return False


def recall(found: dict[str, bool]) -> float | None:
    return sum(found.values()) / len(found) if found else None


# --- audio ---------------------------------------------------------------------------
VAD_CHUNK = 512  # samples at 16 kHz (32 ms), Silero's window


def vad_probs(audio_16k: np.ndarray, detector: Callable[[Sequence[float]], float] | None) -> np.ndarray:
    """Speech probability per 32 ms chunk (Silero VAD); an energy gate when no detector is given."""
    n = len(audio_16k) // VAD_CHUNK
    if n == 0:
        return np.zeros(0, np.float32)
    chunks = np.asarray(audio_16k[: n * VAD_CHUNK], dtype=np.float32).reshape(n, VAD_CHUNK)
    if detector is None:
        rms = np.sqrt(np.mean(chunks.astype(np.float64) ** 2, axis=1) + 1e-12)
        db = 20 * np.log10(rms / max(rms.max(), 1e-9))
        return (db > -35).astype(np.float32)
    return np.array([detector(c.tolist()) for c in chunks], dtype=np.float32)


def silence_stats(probs: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Leading, trailing and longest internal silence (s) and the speech share, from VAD chunks."""
    step = VAD_CHUNK / 16000
    speech = probs >= threshold
    n = len(speech)
    if n == 0 or not speech.any():
        total = n * step
        return {"leading_silence_s": round(total, 3), "trailing_silence_s": round(total, 3),
                "longest_pause_s": 0.0, "speech_ratio": 0.0}
    idx = np.nonzero(speech)[0]
    first, last = int(idx[0]), int(idx[-1])
    longest, run = 0, 0
    for s in speech[first: last + 1]:
        run = 0 if s else run + 1
        longest = max(longest, run)
    return {"leading_silence_s": round(first * step, 3), "trailing_silence_s": round((n - 1 - last) * step, 3),
            "longest_pause_s": round(longest * step, 3), "speech_ratio": round(float(speech.mean()), 3)}


def _db(x: float) -> float:
    return round(20 * math.log10(max(x, 1e-10)), 2)


def level_stats(audio: np.ndarray) -> dict[str, float]:
    """Peak and RMS level (dBFS) and the share of samples at full scale (clipping)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        return {"peak_dbfs": -200.0, "rms_dbfs": -200.0, "clipped_fraction": 0.0}
    peak = float(np.max(np.abs(x)))
    clipped = float(np.mean(np.abs(x) >= 0.999))
    return {"peak_dbfs": _db(peak), "rms_dbfs": _db(float(np.sqrt(np.mean(x**2)))),
            "clipped_fraction": round(clipped, 5)}


def snr_estimate(audio_16k: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> float | None:
    """Speech-chunk power over non-speech-chunk power (dB); None without both kinds of chunk."""
    n = len(probs)
    if n == 0:
        return None
    chunks = np.asarray(audio_16k[: n * VAD_CHUNK], dtype=np.float64).reshape(n, VAD_CHUNK)
    power = np.mean(chunks**2, axis=1)
    sp, ns = power[probs >= threshold], power[probs < 0.2]
    if len(sp) < 3 or len(ns) < 3:
        return None
    noise = max(float(np.median(ns)), 1e-12)
    return round(10 * math.log10(max(float(np.mean(sp)) - noise, 1e-12) / noise), 2)


def pitch_stats(audio_16k: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict[str, float | None]:
    """Median F0 (Hz), its spread (semitones) and a jitter proxy (mean relative F0 change
    between consecutive voiced frames), by autocorrelation on VAD speech chunks."""
    sr, lo, hi = 16000, 60, 400
    f0 = []
    n = len(probs)
    chunks = np.asarray(audio_16k[: n * VAD_CHUNK], dtype=np.float64).reshape(n, VAD_CHUNK) if n else []
    for p, c in zip(probs, chunks):
        if p < threshold:
            f0.append(np.nan)
            continue
        c = c - c.mean()
        ac = np.correlate(c, c, "full")[len(c) - 1:]
        if ac[0] <= 0:
            f0.append(np.nan)
            continue
        lag_lo, lag_hi = sr // hi, sr // lo
        seg = ac[lag_lo:lag_hi]
        k = int(np.argmax(seg))
        f0.append(sr / (lag_lo + k) if seg[k] / ac[0] > 0.3 else np.nan)
    f = np.array(f0, dtype=np.float64)
    voiced = f[~np.isnan(f)]
    if len(voiced) < 3:
        return {"f0_median_hz": None, "f0_spread_st": None, "jitter_proxy": None}
    st = 12 * np.log2(voiced / np.median(voiced))
    pairs = [(a, b) for a, b in zip(f[:-1], f[1:]) if not (np.isnan(a) or np.isnan(b))]
    jit = float(np.mean([abs(b - a) / a for a, b in pairs])) if pairs else None
    return {"f0_median_hz": round(float(np.median(voiced)), 1), "f0_spread_st": round(float(np.std(st)), 2),
            "jitter_proxy": None if jit is None else round(jit, 4)}


def speaking_rate(words: int, speech_s: float) -> float:
    return round(words / speech_s, 3) if speech_s > 0 else 0.0


# --- entity recall by slot type ---------------------------------------------------------
SLOT_TYPES = ("identifier", "number", "name", "date", "time")


def recall_by_slot_type(results: Sequence[object], kinds: dict[tuple[str, str], str]) -> dict[str, dict[str, float]]:
    """Entity recall per slot type (identifier, number, name, date, time): kinds maps (intent, slot) to
    its type (SlotSource.kind); results carry .intent and .entities (slot -> heard)."""
    found: dict[str, list[bool]] = {}
    for r in results:
        for slot, ok in (getattr(r, "entities", None) or {}).items():
            kind = kinds.get((getattr(r, "intent", ""), slot), "name")
            found.setdefault(kind, []).append(bool(ok))
    return {k: {"recall": round(sum(found[k]) / len(found[k]), 4), "n": len(found[k])}
            for k in SLOT_TYPES if found.get(k)}


def slot_kinds(scenario: object) -> dict[tuple[str, str], str]:
    return {(i.name, s): src.kind for i in scenario.intents for s, src in i.slots.items()}  # type: ignore[attr-defined]
