"""Tiny generated test signals."""

import numpy as np

SR = 16000


def tone(seconds: float = 1.0, sr: int = SR, f: float = 220.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)  # syllable-like modulation
    return (amp * env * np.sin(2 * np.pi * f * t)).astype(np.float32)
