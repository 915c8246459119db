"""hibari (`hibari-tts`): a 6 M-parameter int8 ONNX voice distilled from Kokoro-82M af_heart.

Only the voice inside the wheel ("heart", American English, female, 24 kHz) is used: hibari
downloads its other voices (emma, fenrir, fable, kore) from the Hub on first use, and this
project runs offline, so check_voice refuses them and the model file is passed by path (hibari's
own voice lookup would fetch a missing one). hibari phonemizes by itself (misaki's lexicon and
rules, a small ONNX net for unknown words; no eSpeak NG), so its licence carries no GPL.

Prosody: rate -> hibari `speed` (0.5-2.0), pause_ms -> silence between sentences (hibari yields
one array per sentence). The model's only randomness is the noise component of its vocoder,
drawn from numpy's default_rng(seed): the same text, speed and seed give the same samples at the
same `threads` (onnxruntime's int8 kernels sum in another order on 2 threads: up to 0.012 apart,
as with Piper; the pipeline's voice workers use one thread).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...errors import UserError
from .base import TTSBackend, install_hint, needs

BUNDLED = "bundled:heart"  # the one voice in the wheel: `model` of every hibari registry entry


def _refusal(model: Any) -> str:
    return (f"hibari model '{model}' is not usable offline: only '{BUNDLED}' ships in the hibari-tts wheel "
            "(its other voices download from the Hub on first use)")


class HibariBackend(TTSBackend):
    name = "hibari"
    licence = "Apache-2.0 AND MIT"  # hibari and its weights; spaCy's tokenizer table (MIT) in the wheel
    native_controls = frozenset({"rate", "pause_ms"})
    options = {}

    @classmethod
    def check_voice(cls, voice: Any) -> None:
        if voice.model != BUNDLED:
            raise ValueError(_refusal(voice.model))
        if voice.speaker is not None:
            raise ValueError("hibari has one speaker per model: leave `speaker` out")
        if voice.language.split("-")[0] != "en":
            raise ValueError("hibari speaks English only: language en")

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._tts: Any = None

    def _load(self) -> Any:
        if self._tts is not None:
            return self._tts
        try:
            from hibari import Hibari
            from hibari.voices import ASSETS, VOICES
        except ImportError:
            raise needs("hibari", "hibari-tts") from None
        heart = VOICES.get("heart", {})
        path = os.path.join(ASSETS, heart.get("file", ""))
        if not heart.get("bundled") or not os.path.isfile(path):  # a later release could move it to the Hub
            raise UserError(f"this hibari-tts has no bundled 'heart' voice at {path}; {install_hint('hibari')}")
        self._tts = Hibari(voice="heart", model=path, threads=self.threads)
        return self._tts

    @staticmethod
    def speed(prosody: dict[str, float]) -> float:
        return round(min(2.0, max(0.5, float(prosody.get("rate", 1.0)))), 4)

    def native_prosody(self, voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        return {"speed": self.speed(prosody), "sentence_silence_ms": int(prosody.get("pause_ms", 0))}

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        if voice.get("model") != BUNDLED:  # a voice dict that did not come through the registry
            raise UserError(_refusal(voice.get("model")))
        tts = self._load()
        n = self.native_prosody(voice, prosody)
        chunks = list(tts.stream(text, speed=n["speed"], seed=seed))  # one rng for the whole text, as tts(text)
        gap = np.zeros(int(tts.sample_rate * n["sentence_silence_ms"] / 1000), np.float32)
        parts = [p for k, c in enumerate(chunks) for p in ((gap, c) if k else (c,))]
        audio = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        return audio, int(tts.sample_rate)
