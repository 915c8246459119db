"""Reading, resampling and encoding sound: one place, used by every stage.

Everything inside scenavox is mono float32. Files and bytes are read with soundfile (never
through `datasets`, which needs torchcodec), mixed down to mono, and resampled with a
polyphase filter when a rate is asked for.
"""

from __future__ import annotations

import io
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

Source = str | Path | bytes


def read_mono(src: Source, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """(mono float32 samples, their rate) of a file path or encoded bytes; at `sample_rate` if given.

    Raises soundfile's errors for unreadable audio: callers name the file and the fix.
    """
    x, sr = sf.read(io.BytesIO(src) if isinstance(src, bytes) else str(src), dtype="float32", always_2d=True)
    y = np.ascontiguousarray(x.mean(axis=1), dtype=np.float32)
    if sample_rate is not None and int(sr) != int(sample_rate):
        return resample(y, int(sr), int(sample_rate)), int(sample_rate)
    return y, int(sr)


def probe(src: Source) -> tuple[int, int, int]:
    """(frames, sample rate, channels) from the header, without decoding the samples."""
    info = sf.info(io.BytesIO(src) if isinstance(src, bytes) else str(src))
    return int(info.frames), int(info.samplerate), int(info.channels)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (scipy's resample_poly) by the reduced ratio of the two rates; float32."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    from scipy.signal import resample_poly  # scipy costs a moment to import: only when resampling

    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(x, int(sr_out) // g, int(sr_in) // g).astype(np.float32)


def encode(x: np.ndarray, sr: int, fmt: str = "flac") -> bytes:
    """16-bit PCM in a FLAC/WAV/OGG container; samples beyond full scale are clipped."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), sr, format=fmt.upper(), subtype="PCM_16")
    return buf.getvalue()


def encode_lossless(x: np.ndarray, sr: int) -> bytes:
    """float32 samples that decode bit for bit (speech handed from one stage to the next), in an AU file:
    its bytes depend on the samples only (a float WAV carries a PEAK chunk stamped with the time of writing)."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(x, dtype=np.float32), sr, format="AU", subtype="FLOAT")
    return buf.getvalue()
