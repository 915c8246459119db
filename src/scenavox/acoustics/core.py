"""Transform protocol, Compose and small DSP helpers shared by the acoustic transforms.

Every transform is a small class in the style of audiomentations:

    audio, params = transform(samples, sample_rate, rng)

* ``samples``: mono float32 numpy array; ``sample_rate`` in Hz; ``rng``: a ``numpy.random.Generator``
  that the caller owns (never the global one), so that the same input + seed gives byte-identical output.
* ``params``: the sampled parameters, JSON-serializable, units in the key names (``snr_db``, ``rt60_s``).
  ``params["applied"]`` says whether the transform ran (it runs with probability ``p``).
* Ranges are given as ``min_*`` / ``max_*`` and validated in the constructor (``ValueError`` with the
  transform, the field and the fix).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
from scipy.signal import butter

EPS = 1e-12


# --- validation ------------------------------------------------------------------------------------
def check_range(owner: str, name: str, lo: float, hi: float, *, low: float | None = None,
                high: float | None = None) -> tuple[float, float]:
    """Validate a ``min_<name>``/``max_<name>`` pair; returns it as floats."""
    try:
        lo_f, hi_f = float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: min_{name} and max_{name} must be numbers, got {lo!r} and {hi!r}") from None
    if not (np.isfinite(lo_f) and np.isfinite(hi_f)):
        raise ValueError(f"{owner}: min_{name} and max_{name} must be finite, got {lo!r} and {hi!r}")
    if lo_f > hi_f:
        raise ValueError(f"{owner}: min_{name} ({lo_f}) must be <= max_{name} ({hi_f}); swap them or widen the range")
    if low is not None and lo_f < low:
        raise ValueError(f"{owner}: min_{name} ({lo_f}) must be >= {low}")
    if high is not None and hi_f > high:
        raise ValueError(f"{owner}: max_{name} ({hi_f}) must be <= {high}")
    return lo_f, hi_f


def check_p(owner: str, p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{owner}: p (probability of applying) must be in [0, 1], got {p}")
    return p


def check_samples(owner: str, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"{owner}: expected mono audio (1-D array), got shape {x.shape}; mix down to mono first")
    if int(sample_rate) <= 0:
        raise ValueError(f"{owner}: sample_rate must be a positive integer, got {sample_rate!r}")
    return x.astype(np.float32, copy=False)


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --- levels ----------------------------------------------------------------------------------------
def power(x: np.ndarray) -> float:
    """Mean square (BLAS dot product: blocked partial sums, ~1e-6 relative error on float32 clips)."""
    if x.size == 0:
        return 0.0
    return float(np.dot(x, x)) / x.size


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(power(x)))


def db(ratio: float) -> float:
    return float(10.0 * np.log10(max(ratio, EPS)))


def normalize_rms(x: np.ndarray, target_rms: float = 0.1) -> np.ndarray:
    r = rms(x)
    if r < EPS:
        return x.astype(np.float32, copy=False)
    return (x * (target_rms / r)).astype(np.float32)


PEAK_CEILING = 0.99  # headroom below full scale for 16-bit encoding


def limit_peak(x: np.ndarray, ceiling: float = PEAK_CEILING) -> tuple[np.ndarray, float | None]:
    """Scale ``x`` down when its peak passes ``ceiling`` (scaling keeps every SNR, clipping would not).
    Returns (audio, the gain in dB, or None when nothing was scaled)."""
    peak = max(float(x.max()), -float(x.min())) if x.size else 0.0
    if peak <= ceiling:
        return x, None
    g = ceiling / peak
    return (x * np.float32(g)).astype(np.float32), round(db(g**2), 6)


@lru_cache(maxsize=256)
def butter_sos(order: int, cutoff_hz: tuple[float, ...] | float, btype: str, sample_rate: int) -> np.ndarray:
    """Cached Butterworth design (second-order sections)."""
    return butter(order, cutoff_hz, btype=btype, fs=sample_rate, output="sos")


def fit_length(x: np.ndarray, n: int, rng: np.random.Generator | None = None) -> tuple[np.ndarray, int]:
    """Loop or crop ``x`` to ``n`` samples; a random start when ``rng`` is given. Returns (audio, start)."""
    if x.size == 0:
        return np.zeros(n, dtype=np.float32), 0
    if x.size < n:
        reps = int(np.ceil(n / x.size)) + 1
        x = np.tile(x, reps)
    start = int(rng.integers(0, x.size - n + 1)) if rng is not None and x.size > n else 0
    return x[start:start + n].astype(np.float32, copy=False), start


def jsonable(v: Any) -> Any:
    """Turn numpy scalars/arrays into plain Python for the row's parameters (floats rounded to 6 decimals)."""
    t = type(v)
    if t is float:
        return round(v, 6)
    if t is str or t is int or t is bool or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, float):
        return round(v, 6)
    return v


# --- transforms ------------------------------------------------------------------------------------
class Transform:
    """Base class: probability ``p``, a ``name`` used as the key prefix in Compose, and ``apply``.

    Subclasses implement ``apply(x, sample_rate, rng) -> (audio, params)``; ``__call__`` draws the
    probability, validates the input and adds ``applied``.
    """

    name: str = ""

    def __init__(self, p: float = 1.0, name: str | None = None):
        self.p = check_p(type(self).__name__, p)
        self.name = name or self.name or snake(type(self).__name__)
        self.parameters: dict[str, Any] = {}

    def apply(self, x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        raise NotImplementedError

    def __call__(self, samples: np.ndarray, sample_rate: int,
                 rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, dict]:
        rng = as_rng(rng)
        x = check_samples(type(self).__name__, samples, sample_rate)
        # The probability draw always happens, so skipping a transform does not shift later draws.
        go = self.p >= 1.0 or (self.p > 0.0 and float(rng.random()) < self.p)
        if not go or x.size == 0:
            self.parameters = {"applied": False}
            return x, dict(self.parameters)
        y, params = self.apply(x, int(sample_rate), rng)
        self.parameters = jsonable({"applied": True, **params})
        return np.ascontiguousarray(y, dtype=np.float32), dict(self.parameters)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, p={self.p})"


def as_rng(seed_or_rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if seed_or_rng is None:
        raise ValueError("a seed or numpy.random.Generator is required (the global RNG is never used)")
    return np.random.default_rng(seed_or_rng)


class Compose(Transform):
    """Run transforms in order; parameters are merged into one flat dict ``{"<name>.<key>": value}``.

    Each child gets its own generator derived from ``rng`` (one draw per child, always), so a child's
    randomness does not depend on whether earlier children were applied or how many numbers they drew.
    Duplicate names get a numeric suffix (``noise``, ``noise_2``).
    """

    name = "compose"

    def __init__(self, transforms: Iterable[Transform], p: float = 1.0, name: str | None = None):
        super().__init__(p=p, name=name)
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise ValueError(f"Compose: {t!r} is not a transform (callable(samples, sample_rate, rng))")
        self._keys = []
        seen: dict[str, int] = {}
        for t in self.transforms:
            base = getattr(t, "name", None) or snake(type(t).__name__)
            seen[base] = seen.get(base, 0) + 1
            self._keys.append(base if seen[base] == 1 else f"{base}_{seen[base]}")

    def apply(self, x, sample_rate, rng):
        seeds = rng.integers(0, 2**63 - 1, size=len(self.transforms))
        params: dict[str, Any] = {}
        for key, t, s in zip(self._keys, self.transforms, seeds):
            x, p = t(x, sample_rate, np.random.default_rng(int(s)))
            if getattr(t, "flat_params", False):  # a fused transform that names its own keys ("noise.snr_db")
                params[f"{key}.applied"] = p.pop("applied", False)
                params.update(p)
                continue
            for k, v in p.items():
                params[f"{key}.{k}"] = v
        return x, params

    def __call__(self, samples, sample_rate, rng=None):
        x, params = super().__call__(samples, sample_rate, rng)
        params.pop("applied", None)
        return x, params

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"
