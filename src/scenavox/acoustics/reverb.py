"""Reverberation: convolution with measured RIRs (user folders) or simulated rooms and car cabins.

* ``ApplyRIR``: a random RIR from a folder / list of wav/flac files (or arrays).
* ``SimulatedRoom``: a shoebox room (or cabin) with an RT60 drawn from [min_rt60_s, max_rt60_s].
  Backend ``pyroomacoustics`` (image source method; absorption from Sabine, then corrected (up to 7 times) by the
  Schroeder-measured RT60 of the first simulation) or ``decay`` (a direct impulse plus Gaussian noise under
  an exponential envelope exp(-3 ln(10) t / RT60): the energy falls 60 dB in RT60 by construction, which
  Schroeder integration verifies). ``auto`` uses pyroomacoustics when it imports, else ``decay``.
  ``bank_size > 0`` precomputes that many RIRs once per process (deterministically, from ``bank_seed``)
  and picks one per clip: the cost of simulation is paid once, not per clip.

All reverbs align the direct path to t=0 (the transcript's timing is kept), keep the input length and
rescale the result to the input's RMS. Recorded: the RIR's identity and its measured ``rt60_s``.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.fft as sfft

from .core import EPS, Transform, check_range, power, uniform
from .io import AudioSource, load_audio

SPEED_OF_SOUND = 343.0


def schroeder_rt60(rir: np.ndarray, sample_rate: int, start_db: float = -5.0, end_db: float = -25.0) -> float:
    """RT60 from Schroeder backward integration: a line fitted to the energy decay curve between
    ``start_db`` and ``end_db`` (T20 by default), extrapolated to 60 dB. ``nan`` if the decay is too short."""
    h = np.asarray(rir, dtype=np.float64)
    edc = np.cumsum(h[::-1] ** 2)[::-1]
    if edc[0] <= 0:
        return float("nan")
    edc_db = 10 * np.log10(edc / edc[0] + 1e-300)
    i0 = int(np.argmax(edc_db <= start_db))
    i1 = int(np.argmax(edc_db <= end_db))
    if edc_db[i1] > end_db or i1 - i0 < 3:
        return float("nan")
    t = np.arange(i0, i1) / sample_rate
    slope = np.polyfit(t, edc_db[i0:i1], 1)[0]  # dB per second (negative)
    return float(-60.0 / slope) if slope < 0 else float("nan")


def fft_size(n: int) -> int:
    """Smallest size >= n on a coarse ladder of fast FFT sizes (2^k times 1, 9/8, 5/4, 3/2): clips of
    different lengths share sizes, so cached RIR spectra get reused."""
    n = max(int(n), 16)
    top = 1 << (n - 1).bit_length()  # the power of two >= n
    half = top // 2
    for m in (half * 9 // 8, half * 5 // 4, half * 3 // 2):
        if m >= n:
            return m
    return top


_UIDS = itertools.count()
_SPECTRA: OrderedDict[tuple, tuple[np.ndarray, int]] = OrderedDict()
_SPECTRA_MAX = 96
_SPECTRA_LOCK = threading.Lock()


def _rir_spectrum(rir: np.ndarray, nfft: int, key: Any) -> tuple[np.ndarray, int]:
    """rfft of the RIR at ``nfft`` and the index of its direct path, cached by (key, nfft) when key is given."""
    ck = (key, nfft)
    if key is not None:
        with _SPECTRA_LOCK:
            hit = _SPECTRA.get(ck)
            if hit is not None:
                _SPECTRA.move_to_end(ck)
                return hit
    h = np.asarray(rir, dtype=np.float32)
    out = (sfft.rfft(h, nfft), int(np.argmax(np.abs(h))))
    if key is not None:
        with _SPECTRA_LOCK:
            _SPECTRA[ck] = out
            while len(_SPECTRA) > _SPECTRA_MAX:
                _SPECTRA.popitem(last=False)
    return out


def convolve_keep(x: np.ndarray, rir: np.ndarray, key: Any = None) -> tuple[np.ndarray, int]:
    """Convolve (one FFT of the clip; the RIR's spectrum is cached under ``key``), align the RIR's direct path
    (its absolute peak) to t=0, keep len(x), keep the RMS. Returns (audio, direct-path index)."""
    nfft = fft_size(x.size + rir.size - 1)
    H, d = _rir_spectrum(rir, nfft, key)
    X = sfft.rfft(x, nfft)
    X *= H
    y = sfft.irfft(X, nfft)[d:d + x.size]  # a view into a fresh buffer: scaled in place
    p_in, p_out = power(x), power(y)
    if p_out > EPS:
        y *= np.float32(np.sqrt(p_in / p_out))
    return y.astype(np.float32, copy=False), d


# --- RIR models ------------------------------------------------------------------------------------
def decay_rir(rt60_s: float, sample_rate: int, rng: np.random.Generator, drr_db: float = 3.0,
              predelay_s: float = 0.002) -> np.ndarray:
    """Direct impulse + exponentially decaying Gaussian tail; energy decays 60 dB in ``rt60_s``.

    ``drr_db``: direct-to-reverberant energy ratio. The tail starts ``predelay_s`` after the direct path.
    """
    n = max(8, int(round(1.2 * rt60_s * sample_rate)))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / rt60_s)  # amplitude: -60 dB at rt60
    tail[: int(predelay_s * sample_rate) + 1] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(np.sum(tail**2), EPS))
    tail[0] = 1.0
    return tail.astype(np.float32)


def _pra():
    try:
        import pyroomacoustics as pra  # noqa: PLC0415 (optional, heavy import)
    except ImportError as e:
        raise ImportError("SimulatedRoom(backend='pyroomacoustics') needs pyroomacoustics: "
                          "pip install pyroomacoustics (or use backend='decay')") from e
    return pra


def pyroom_rir(room_m: Sequence[float], rt60_s: float, source_m: Sequence[float], mic_m: Sequence[float],
               sample_rate: int, max_order_cap: int = 60, calibrate: bool = True,
               max_simulations: int = 8) -> tuple[np.ndarray, dict]:
    """Shoebox RIR via the image source method; absorption from Sabine, then corrected by Schroeder measurement
    (at most ``max_simulations`` simulations, the closest kept)."""
    pra = _pra()
    dims = [float(v) for v in room_m]
    absorption, max_order = pra.inverse_sabine(rt60_s, dims)
    max_order = int(min(max_order, max_order_cap))

    volume = dims[0] * dims[1] * dims[2]
    surface = 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])

    def order_for(a: float) -> int:
        # enough image orders for the decay that this absorption gives (Sabine), capped for speed
        try:
            return int(min(pra.inverse_sabine(0.161 * volume / (surface * a), dims)[1], max_order_cap))
        except ValueError:
            return max_order

    def simulate(a: float) -> np.ndarray:
        nonlocal max_order
        max_order = order_for(a)
        room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(float(a)), max_order=max_order,
                           air_absorption=False, use_rand_ism=False)
        room.add_source(list(source_m))
        room.add_microphone(list(mic_m))
        room.compute_rir()
        return np.asarray(room.rir[0][0], dtype=np.float64)

    a = float(np.clip(absorption, 0.01, 0.99))
    h = simulate(a)
    measured = schroeder_rt60(h, sample_rate)
    iterations = 1
    best = (abs(measured - rt60_s) if np.isfinite(measured) else np.inf, h, measured, a)
    # Sabine says RT60 ~ 1/absorption; in small cabins with a strong direct path the measured decay departs
    # from it, so search: rescale by measured/target until the target is bracketed, then bisect (log scale).
    lo_a, hi_a = 0.0, 1.0  # measured RT60 is decreasing in the absorption
    while calibrate and iterations < max_simulations and np.isfinite(measured) \
            and abs(measured - rt60_s) / rt60_s > 0.05:
        if measured > rt60_s:
            lo_a = max(lo_a, a)
        else:
            hi_a = min(hi_a, a)
        if lo_a > 0.0 and hi_a < 1.0:
            a_new = float(np.sqrt(lo_a * hi_a))
        else:
            a_new = float(np.clip(a * measured / rt60_s, 0.01, 0.99))
        if a_new == a:
            break
        a = a_new
        h = simulate(a)
        measured = schroeder_rt60(h, sample_rate)
        iterations += 1
        if np.isfinite(measured) and abs(measured - rt60_s) < best[0]:
            best = (abs(measured - rt60_s), h, measured, a)
    _, h, measured, a = best
    h = h / max(np.max(np.abs(h)), EPS)
    return h.astype(np.float32), {"absorption": a, "max_order": max_order, "simulations": iterations,
                                  "measured_rt60_s": measured}


# --- transforms ------------------------------------------------------------------------------------
class ApplyRIR(Transform):
    """Convolve with a random RIR from a folder / list of wav/flac files, or a list of arrays.

    Recorded: ``rir`` (file path relative to the folder, or ``rir<i>``), ``rt60_s`` measured on that RIR
    (Schroeder, cached), ``rir_delay_s`` (direct-path delay removed).
    """

    name = "rir"

    def __init__(self, source: str | Path | Sequence[str | Path] | Sequence[np.ndarray],
                 rir_sample_rate: int | None = None, p: float = 1.0, name: str | None = None):
        super().__init__(p=p, name=name)
        seq = source if not isinstance(source, (str, Path)) else None
        if seq is not None and len(seq) and isinstance(seq[0], np.ndarray):
            if rir_sample_rate is None:
                raise ValueError("ApplyRIR: RIRs given as arrays need rir_sample_rate")
            self._arrays = [np.asarray(h, dtype=np.float32) for h in seq]
            self.source = None
        else:
            self._arrays = None
            self.source = AudioSource(source, what="impulse response")
        self.rir_sample_rate = rir_sample_rate
        self._uid = next(_UIDS)
        self._rt60: dict[tuple[int, int], float] = {}

    def __len__(self) -> int:
        return len(self._arrays) if self._arrays is not None else len(self.source)

    def _rir(self, i: int, sample_rate: int) -> tuple[str, np.ndarray]:
        if self._arrays is not None:
            from ..audio import resample
            return f"rir{i}", resample(self._arrays[i], self.rir_sample_rate, sample_rate)
        return self.source.relname(i), load_audio(self.source.paths[i], sample_rate)

    def apply(self, x, sample_rate, rng):
        i = int(rng.integers(0, len(self)))
        label, h = self._rir(i, sample_rate)
        key = (i, sample_rate)
        if key not in self._rt60:
            self._rt60[key] = schroeder_rt60(h, sample_rate)
        y, d = convolve_keep(x, h, key=("rir", self._uid, i, sample_rate))
        rt = self._rt60[key]
        return y, {"rir": label, "rt60_s": rt if np.isfinite(rt) else None, "rir_delay_s": d / sample_rate}


_BANKS: dict[tuple, list[tuple[np.ndarray, dict]]] = {}
_BANK_LOCK = threading.Lock()


class SimulatedRoom(Transform):
    """A simulated shoebox room or car cabin with RT60 in [min_rt60_s, max_rt60_s].

    Dimensions are drawn per axis in [min_room_m, max_room_m]; source and microphone at least
    ``wall_margin_m`` from the walls, their distance in [min_distance_m, max_distance_m] where the room allows.
    Recorded: ``backend``, ``rt60_target_s``, ``rt60_s`` (measured by Schroeder integration on the RIR),
    ``room_m``, ``source_m``, ``mic_m``, ``distance_m`` and, with a bank, ``bank_index``.
    """

    name = "room"
    BACKENDS = ("auto", "pyroomacoustics", "decay")

    def __init__(self, min_rt60_s: float = 0.2, max_rt60_s: float = 0.8,
                 min_room_m: Sequence[float] = (3.0, 3.0, 2.4), max_room_m: Sequence[float] = (8.0, 6.0, 3.2),
                 min_distance_m: float = 0.5, max_distance_m: float = 2.5, wall_margin_m: float = 0.3,
                 backend: str = "auto", bank_size: int = 0, bank_seed: int = 0, p: float = 1.0,
                 name: str | None = None):
        super().__init__(p=p, name=name)
        self.min_rt60_s, self.max_rt60_s = check_range("SimulatedRoom", "rt60_s", min_rt60_s, max_rt60_s,
                                                       low=0.01, high=5.0)
        if len(min_room_m) != 3 or len(max_room_m) != 3:
            raise ValueError("SimulatedRoom: min_room_m and max_room_m must be 3 lengths (x, y, z) in metres")
        for lo, hi, axis in zip(min_room_m, max_room_m, "xyz"):
            check_range("SimulatedRoom", f"room_m[{axis}]", lo, hi, low=0.5, high=100)
        self.min_room_m = tuple(float(v) for v in min_room_m)
        self.max_room_m = tuple(float(v) for v in max_room_m)
        self.min_distance_m, self.max_distance_m = check_range("SimulatedRoom", "distance_m", min_distance_m,
                                                               max_distance_m, low=0.05, high=100)
        self.wall_margin_m = float(wall_margin_m)
        if 2 * self.wall_margin_m >= min(self.min_room_m):
            raise ValueError(f"SimulatedRoom: wall_margin_m ({wall_margin_m}) leaves no space in the smallest room "
                             f"{self.min_room_m}; lower it")
        if backend not in self.BACKENDS:
            raise ValueError(f"SimulatedRoom: backend must be one of {self.BACKENDS}, got {backend!r}")
        if backend == "auto":
            try:
                _pra()
                backend = "pyroomacoustics"
            except ImportError:
                backend = "decay"
        elif backend == "pyroomacoustics":
            _pra()  # fail early with the install hint
        self.backend = backend
        if int(bank_size) < 0:
            raise ValueError(f"SimulatedRoom: bank_size must be >= 0, got {bank_size}")
        self.bank_size = int(bank_size)
        self.bank_seed = int(bank_seed)

    def _sample_geometry(self, rng: np.random.Generator) -> dict[str, Any]:
        room = np.array([uniform(rng, lo, hi) for lo, hi in zip(self.min_room_m, self.max_room_m)])
        m = self.wall_margin_m
        lo, hi = np.full(3, m), room - m
        mic = rng.uniform(lo, hi)
        target = uniform(rng, self.min_distance_m, self.max_distance_m)
        src = mic
        for _ in range(20):  # a direction that fits the room at the sampled distance
            v = rng.standard_normal(3)
            v[2] *= 0.3  # talkers are roughly level with the microphone
            cand = mic + target * v / np.linalg.norm(v)
            if np.all(cand >= lo) and np.all(cand <= hi):
                src = cand
                break
        else:
            src = rng.uniform(lo, hi)
        return {"room_m": room.round(3).tolist(), "mic_m": mic.round(3).tolist(), "source_m": src.round(3).tolist(),
                "distance_m": float(np.linalg.norm(src - mic))}

    def _make(self, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        rt60 = uniform(rng, self.min_rt60_s, self.max_rt60_s)
        geo = self._sample_geometry(rng)
        if self.backend == "pyroomacoustics":
            h, info = pyroom_rir(geo["room_m"], rt60, geo["source_m"], geo["mic_m"], sample_rate)
            measured = info.pop("measured_rt60_s")
            extra = {"absorption": info["absorption"], "max_order": info["max_order"]}
        else:
            # decay model: the direct-to-reverberant ratio falls with distance (critical distance ~ 0.5 m cabin,
            # ~1-2 m rooms); a simple 20*log10 law around 0 dB at 1 m
            drr = float(np.clip(-20 * np.log10(max(geo["distance_m"], 0.05)) + 2.0, -10.0, 15.0))
            h = decay_rir(rt60, sample_rate, rng, drr_db=drr)
            measured = schroeder_rt60(h, sample_rate)
            extra = {"drr_db": drr}
        return h, {"backend": self.backend, "rt60_target_s": rt60,
                   "rt60_s": measured if np.isfinite(measured) else None, **geo, **extra}

    def _bank_key(self, sample_rate: int) -> tuple:
        return (self.backend, sample_rate, self.bank_size, self.bank_seed, self.min_rt60_s, self.max_rt60_s,
                self.min_room_m, self.max_room_m, self.min_distance_m, self.max_distance_m, self.wall_margin_m)

    def _bank(self, sample_rate: int) -> list[tuple[np.ndarray, dict]]:
        key = self._bank_key(sample_rate)
        with _BANK_LOCK:
            bank = _BANKS.get(key)
            if bank is None:
                brng = np.random.default_rng(self.bank_seed)
                bank = [self._make(sample_rate, brng) for _ in range(self.bank_size)]
                _BANKS[key] = bank
        return bank

    def apply(self, x, sample_rate, rng):
        if self.bank_size:
            i = int(rng.integers(0, self.bank_size))
            h, info = self._bank(sample_rate)[i]
            info = {**info, "bank_index": i}
            key = ("bank", self._bank_key(sample_rate), i)
        else:
            h, info = self._make(sample_rate, rng)
            key = None
        y, _ = convolve_keep(x, h, key=key)
        return y, info
