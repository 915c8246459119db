"""Signal helpers shared by the voice backends: trim, resample, level, encode."""

from __future__ import annotations

import io
from math import gcd

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly


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


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return x
    g = gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


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


def encode(x: np.ndarray, sr: int, fmt: str = "flac") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), sr, format=fmt.upper(), subtype="PCM_16")
    return buf.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, int]:
    x, sr = sf.read(io.BytesIO(data), dtype="float32")
    return x, sr
