"""Signal helpers of the voice stage: trim synthesized speech, set its level (reading, resampling and
encoding are in `scenavox.audio`)."""

from __future__ import annotations

import numpy as np


def trim_silence(x: np.ndarray, sr: int, threshold_db: float = -40.0, margin_s: float = 0.05) -> np.ndarray:
    """Cut leading and trailing audio quieter than threshold_db below the peak, keeping a margin."""
    if x.size == 0:
        return x
    frame = max(1, int(sr * 0.01))
    n = len(x) // frame
    if n == 0:
        return x
    env = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    peak = env.max()
    if peak <= 1e-6:
        return x[:0]
    loud = np.nonzero(20 * np.log10(env / peak) > threshold_db)[0]
    margin = int(sr * margin_s)
    start = max(0, loud[0] * frame - margin)
    end = min(len(x), (loud[-1] + 1) * frame + margin)
    return x[start:end]


def set_level(x: np.ndarray, level_dbfs: float, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale to an RMS level, then lower it if the peak would pass peak_dbfs (no clipping)."""
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0
    if rms <= 1e-9:
        return x
    y = x * (10 ** (level_dbfs / 20) / rms)
    peak = float(np.max(np.abs(y)))
    limit = 10 ** (peak_dbfs / 20)
    if peak > limit:
        y = y * (limit / peak)
    return y.astype(np.float32)
