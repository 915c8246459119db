"""Sine-wave 'speech' for orchestration tests only: one tone burst per word, no model."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TTSBackend


class FakeBackend(TTSBackend):
    name = "fake"
    licence = "CC0-1.0"
    native_controls = frozenset({"rate"})
    options = None  # any: the options only change the voice's id

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        sr = 16000
        words = text.split()
        seg = int(sr * 0.3 / prosody.get("rate", 1.0))
        t = np.arange(seg) / sr
        parts = [np.sin(2 * np.pi * (150 + 10 * (len(w) % 7)) * t) * 0.3 for w in words]
        gap = np.zeros(int(sr * 0.05), np.float32)
        out = [np.concatenate([p, gap]) for p in parts]
        return np.concatenate(out).astype(np.float32), sr
