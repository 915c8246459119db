"""Noise sources (synthetic generators, user folders, babble from clips) and ``AddNoise`` at a target SNR.

A noise source has ``name`` and ``generate(n, sample_rate, rng) -> (noise, params)``; it returns ``n``
float32 samples (any level: ``AddNoise`` scales it) and the parameters it sampled.

The synthetic generators are simple physical-ish models, cheap enough to run per clip:

* ``EngineNoise``: a four-stroke engine's firing harmonics. ``rpm`` comes from a sampled ``speed_kmh`` and
  the gear a driver would be in (or from an rpm range), firing frequency = rpm / 60 * cylinders / 2,
  harmonics with a slow rpm wobble, plus combustion roughness, low-passed by the cabin.
* ``RoadNoise``: tyre/road noise, brown (1/f^2) noise low-passed at a speed-dependent corner plus a tyre
  band around 1 kHz.
* ``WindNoise``: band-limited noise with slow gusts; level grows fast with speed.
* ``CabinNoise``: engine + road + wind for one sampled speed, balanced by speed (engine dominates slow,
  road in the middle, wind on the motorway).
* ``TrafficNoise``: distant rumble + vehicles passing by (Doppler-shifted engine tone under an envelope) +
  occasional horn.
* ``BabbleNoise``: several synthetic talkers (voiced harmonic excitation with intonation + syllabic
  envelope, speech-shaped). ``ClipBabble`` builds babble from real clips (other voices of the corpus).
* ``ClatterNoise``: dishes/cutlery: Poisson impacts of damped resonant modes.
* ``FactoryNoise``: mains hum harmonics, periodic machine impacts and broadband noise.
* ``ColoredNoise``: white / pink / brown.
* ``FolderNoise``: wav/flac files from a user folder (MUSAN-style), random file and offset, looped.
* ``MixNoise``: a sum of sources at relative levels in dB.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from scipy.signal import lfilter, sosfilt

from .core import (EPS, Transform, butter_sos, check_range, db, fit_length, normalize_rms, power, snake,
                   uniform)
from .io import AudioSource, load_audio

if TYPE_CHECKING:
    from .channel import MicModel

# Overall drive ratios (gearbox x final drive) of a typical 6-speed car and its tyre circumference in m.
GEAR_RATIOS = (13.8, 8.4, 5.7, 4.3, 3.5, 2.9)
TYRE_CIRCUMFERENCE_M = 1.95
IDLE_RPM = 800.0


class NoiseSource:
    """Base of the noise generators: ``generate(n, sample_rate, rng) -> (float32 noise, params)``."""

    name: str = ""

    def __init__(self, name: str | None = None):
        self.name = name or self.name or snake(type(self).__name__).removesuffix("_noise")

    def generate(self, n: int, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --- building blocks -------------------------------------------------------------------------------
def _white(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n, dtype=np.float32)


def _brown(n: int, rng: np.random.Generator, pole: float = 0.995) -> np.ndarray:
    """Leaky-integrated white noise: 1/f^2 above the leak corner, no DC drift."""
    return lfilter([1.0], [1.0, -pole], _white(n, rng)).astype(np.float32)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    # Paul Kellet's economy pink filter (3 poles), within 0.5 dB of 1/f over the audio band.
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return lfilter(b, a, _white(n, rng)).astype(np.float32)


def _lowpass(x: np.ndarray, cutoff_hz: float, sr: int, order: int = 2) -> np.ndarray:
    cutoff_hz = min(round(cutoff_hz, -1), 0.45 * sr)  # 10 Hz grid: cached filter designs get reused
    return sosfilt(butter_sos(order, float(cutoff_hz), "lowpass", sr), x).astype(np.float32)


def _bandpass(x: np.ndarray, lo_hz: float, hi_hz: float, sr: int, order: int = 2) -> np.ndarray:
    hi_hz = min(round(hi_hz, -1), 0.45 * sr)
    lo_hz = min(round(lo_hz, -1), hi_hz * 0.5)
    return sosfilt(butter_sos(order, (float(lo_hz), float(hi_hz)), "bandpass", sr), x).astype(np.float32)


def _slow_envelope(n: int, sr: int, rng: np.random.Generator, rate_hz: float, depth: float) -> np.ndarray:
    """A smooth random envelope around 1.0 (gusts, syllables): noise at control rate, interpolated."""
    k = max(2, int(n / sr * rate_hz) + 2)
    ctrl = rng.standard_normal(k)
    env = np.interp(np.linspace(0, k - 1, n), np.arange(k), ctrl)
    return (1.0 + depth * np.tanh(env)).astype(np.float32)


def rpm_for_speed(speed_kmh: float, rng: np.random.Generator) -> tuple[float, int]:
    """Engine rpm and gear for a speed: the driver is in the highest gear that keeps rpm >= ~1400."""
    if speed_kmh < 5.0:
        return IDLE_RPM * float(rng.uniform(0.95, 1.1)), 0
    wheel_rpm = speed_kmh * 1000.0 / 60.0 / TYRE_CIRCUMFERENCE_M
    shift_rpm = float(rng.uniform(1300.0, 1900.0))  # calm vs sporty driver
    gear = 1
    for g, ratio in enumerate(GEAR_RATIOS, start=1):
        if wheel_rpm * ratio >= shift_rpm:
            gear = g
    return wheel_rpm * GEAR_RATIOS[gear - 1], gear


ENGINE_TABLE_BITS = 12
ENGINE_TABLE_SIZE = 1 << ENGINE_TABLE_BITS  # one cycle of the half-order rate
ENGINE_ORDERS = 24  # multiples of the crank-cycle rate: half orders of the firing frequency up to order 12


@lru_cache(maxsize=1)
def _harmonic_basis() -> tuple[np.ndarray, np.ndarray]:
    grid = np.arange(ENGINE_TABLE_SIZE) / ENGINE_TABLE_SIZE * 2 * np.pi
    j = np.arange(1, ENGINE_ORDERS + 1)[:, None]
    return np.sin(j * grid).astype(np.float32), np.cos(j * grid).astype(np.float32)


def engine_tone(n: int, sr: int, rng: np.random.Generator, rpm: float, cylinders: int = 4,
                cabin_lowpass_hz: float = 1500.0,
                response: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, dict]:
    """A four-stroke engine's harmonics at the firing frequency rpm / 60 * cylinders / 2 and its half orders
    (1/k^0.8 roll-off, random phases, weighted by a 2nd-order low-pass for the cabin's insulation), with a slow
    sinusoidal rpm wobble of +-1 %. Read from a one-cycle wavetable by a phase accumulator: O(n) whatever
    the number of harmonics. Returned at unit RMS."""
    f0 = rpm / 60.0 * cylinders / 2.0
    base = 0.5 * f0  # the table holds one cycle of the half-order rate
    j = np.arange(1, ENGINE_ORDERS + 1)
    freqs = j * base
    amp = np.where(j % 2, 0.35, 1.0) / (j / 2.0) ** 0.8 / np.sqrt(1.0 + (freqs / cabin_lowpass_hz) ** 4)
    amp = amp * (freqs < 0.45 * sr)
    resp = None if response is None else np.asarray(response(freqs))  # e.g. a microphone's magnitude response
    if resp is not None:
        amp = amp * resp
    phi = rng.uniform(0.0, 2 * np.pi, ENGINE_ORDERS)
    S, C = _harmonic_basis()
    table = ((amp * np.cos(phi)).astype(np.float32) @ S + (amp * np.sin(phi)).astype(np.float32) @ C)
    if resp is None:
        table /= max(float(np.sqrt(np.mean(table.astype(np.float64) ** 2))), EPS)
    else:  # keep the response's level change: unit RMS before it
        table /= max(float(np.sqrt(0.5 * np.sum((amp / np.maximum(resp, EPS)) ** 2))), EPS)
    # Direct digital synthesis: a 32-bit phase accumulator (wraps by itself), the top 12 bits index the table.
    # The rpm wobble changes the phase step once per 256-sample block (the phase stays continuous).
    wobble_hz = float(rng.uniform(0.5, 2.0))
    depth = 0.01
    block = 256
    nb = n // block + 1
    tb = (np.arange(nb) * block + block / 2) / sr
    freq = base * (1.0 + depth * np.sin(2 * np.pi * wobble_hz * tb + rng.uniform(0, 2 * np.pi)))
    steps = np.round(freq / sr * 2.0**32).astype(np.uint64)
    # phase at each block's start (exact integer sums, wrapped), then start + i * step inside the block
    starts = (np.concatenate([[0], np.cumsum(steps[:-1] * block)]) + int(rng.integers(0, 2**32))) % 2**32
    phase = (starts.astype(np.uint32)[:, None]
             + np.arange(block, dtype=np.uint32)[None, :] * steps.astype(np.uint32)[:, None]).reshape(-1)[:n]
    tone = table.take(phase >> np.uint32(32 - ENGINE_TABLE_BITS))
    return tone, {"rpm": float(rpm), "firing_hz": float(f0), "harmonics": int(np.count_nonzero(amp)),
                  "rpm_wobble_hz": wobble_hz}


def engine_noise(n: int, sr: int, rng: np.random.Generator, rpm: float, cylinders: int = 4) -> tuple[np.ndarray, dict]:
    """Engine tone plus combustion roughness (low-passed noise, -6 dB), unit-ish RMS."""
    tone, p = engine_tone(n, sr, rng, rpm, cylinders)
    rough = _lowpass(_white(n, rng), max(2.5 * p["firing_hz"], 100.0), sr)
    return tone + 0.5 * normalize_rms(rough, 1.0), p


def road_noise(n: int, sr: int, rng: np.random.Generator, speed_kmh: float) -> np.ndarray:
    corner = 150.0 + 4.0 * speed_kmh  # faster -> brighter rumble
    rumble = _lowpass(_brown(n, rng), corner, sr)
    tyre = _bandpass(_white(n, rng), 700.0, 1300.0, sr)
    return normalize_rms(rumble) + 0.15 * normalize_rms(tyre)


def wind_noise(n: int, sr: int, rng: np.random.Generator, speed_kmh: float) -> np.ndarray:
    hi = 800.0 + 10.0 * speed_kmh
    w = _bandpass(_pink(n, rng), 60.0, hi, sr)
    return normalize_rms(w * _slow_envelope(n, sr, rng, rate_hz=0.8, depth=0.5))


# --- sources ---------------------------------------------------------------------------------------
class ColoredNoise(NoiseSource):
    COLORS = ("white", "pink", "brown")

    def __init__(self, color: str = "pink", name: str | None = None):
        if color not in self.COLORS:
            raise ValueError(f"ColoredNoise: color must be one of {self.COLORS}, got {color!r}")
        self.color = color
        super().__init__(name=name or f"{color}_noise")

    def generate(self, n, sample_rate, rng):
        fn = {"white": _white, "pink": _pink, "brown": _brown}[self.color]
        return fn(n, rng), {"color": self.color}


class EngineNoise(NoiseSource):
    """Engine harmonics. With a speed range, rpm follows the sampled speed and gear; else an rpm range."""

    def __init__(self, min_speed_kmh: float | None = 30.0, max_speed_kmh: float | None = 130.0,
                 min_rpm: float | None = None, max_rpm: float | None = None, cylinders: int = 4,
                 name: str | None = None):
        super().__init__(name=name)
        self.by_rpm = min_rpm is not None or max_rpm is not None
        if self.by_rpm:
            self.min_rpm, self.max_rpm = check_range("EngineNoise", "rpm", min_rpm if min_rpm is not None else 0,
                                                     max_rpm if max_rpm is not None else 0, low=300, high=9000)
        else:
            self.min_speed_kmh, self.max_speed_kmh = check_range("EngineNoise", "speed_kmh", min_speed_kmh,
                                                                 max_speed_kmh, low=0, high=300)
        if int(cylinders) not in (2, 3, 4, 5, 6, 8, 10, 12):
            raise ValueError(f"EngineNoise: cylinders must be one of 2,3,4,5,6,8,10,12, got {cylinders!r}")
        self.cylinders = int(cylinders)

    def generate(self, n, sample_rate, rng):
        params: dict[str, Any] = {}
        if self.by_rpm:
            rpm = uniform(rng, self.min_rpm, self.max_rpm)
        else:
            speed = uniform(rng, self.min_speed_kmh, self.max_speed_kmh)
            rpm, gear = rpm_for_speed(speed, rng)
            params.update(speed_kmh=speed, gear=gear)
        y, p = engine_noise(n, sample_rate, rng, rpm, self.cylinders)
        return y, {**params, **p, "cylinders": self.cylinders}


class RoadNoise(NoiseSource):
    def __init__(self, min_speed_kmh: float = 30.0, max_speed_kmh: float = 130.0, name: str | None = None):
        super().__init__(name=name)
        self.min_speed_kmh, self.max_speed_kmh = check_range("RoadNoise", "speed_kmh", min_speed_kmh,
                                                             max_speed_kmh, low=0, high=300)

    def generate(self, n, sample_rate, rng):
        speed = uniform(rng, self.min_speed_kmh, self.max_speed_kmh)
        return road_noise(n, sample_rate, rng, speed), {"speed_kmh": speed}


class WindNoise(NoiseSource):
    def __init__(self, min_speed_kmh: float = 60.0, max_speed_kmh: float = 130.0, name: str | None = None):
        super().__init__(name=name)
        self.min_speed_kmh, self.max_speed_kmh = check_range("WindNoise", "speed_kmh", min_speed_kmh,
                                                             max_speed_kmh, low=0, high=300)

    def generate(self, n, sample_rate, rng):
        speed = uniform(rng, self.min_speed_kmh, self.max_speed_kmh)
        return wind_noise(n, sample_rate, rng, speed), {"speed_kmh": speed}


def cabin_levels_db(speed_kmh: float, rpm: float) -> dict[str, float]:
    """Relative levels (dB) of the cabin's noise components: engine 20*log10(rpm/2000),
    road -3 + 30*log10(v/80), wind -8 + 55*log10(v/100) (v >= 1 km/h)."""
    v = max(float(speed_kmh), 1.0)
    return {"engine_level_db": 20 * math.log10(rpm / 2000.0),
            "road_level_db": -3 + 30 * math.log10(v / 80.0),
            "wind_level_db": -8 + 55 * math.log10(v / 100.0)}


CABIN_BED_SECONDS = 12.0
CABIN_SPEED_STEP_KMH = 20


@lru_cache(maxsize=64)
def _cabin_bed(sample_rate: int, speed_kmh: int, mic: "MicModel | None" = None) -> np.ndarray:
    """The stochastic part of cabin noise (road + wind + engine roughness) at one speed, 12 s, rendered once
    per process from a fixed seed (deterministic), read-only; through ``mic`` when given."""
    if mic is not None:
        y = mic.filter(_cabin_bed(sample_rate, speed_kmh, None), sample_rate)
        y.setflags(write=False)
        return y
    rng = np.random.default_rng([0x5CE7A, sample_rate, speed_kmh])
    n = int(CABIN_BED_SECONDS * sample_rate)
    nominal_rpm = (IDLE_RPM if speed_kmh < 5 else
                   speed_kmh * 1000.0 / 60.0 / TYRE_CIRCUMFERENCE_M
                   * min(GEAR_RATIOS, key=lambda r: abs(speed_kmh * 1000.0 / 60.0 / TYRE_CIRCUMFERENCE_M * r - 2000)))
    lv = cabin_levels_db(speed_kmh, nominal_rpm)
    v = max(speed_kmh, 1.0)
    rough = _lowpass(_pink(n, rng), 300.0, sample_rate)
    y = (normalize_rms(rough, 0.5 * 10 ** (lv["engine_level_db"] / 20))
         + road_noise(n, sample_rate, rng, v) * np.float32(10 ** (lv["road_level_db"] / 20))
         + wind_noise(n, sample_rate, rng, v) * np.float32(10 ** (lv["wind_level_db"] / 20)))
    y = y.astype(np.float32)
    y.setflags(write=False)
    return y


class CabinNoise(NoiseSource):
    """A car cabin at one sampled speed: engine harmonics for the rpm of that speed and gear
    (``engine_tone``, rendered per clip) + road, wind and engine roughness.

    Levels follow ``cabin_levels_db`` (engine dominates slow, road in the middle, wind on the motorway).
    The stochastic part comes from 12 s beds rendered once per process at 20 km/h steps (fixed seeds) and
    cropped at random offsets; a speed between two steps mixes the two beds with power weights, which
    interpolates their spectra linearly. This keeps the per-clip cost to a crop, a wavetable read and a sum.
    """

    name = "cabin"

    def __init__(self, min_speed_kmh: float = 0.0, max_speed_kmh: float = 130.0, cylinders: int = 4,
                 name: str | None = None):
        super().__init__(name=name)
        self.min_speed_kmh, self.max_speed_kmh = check_range("CabinNoise", "speed_kmh", min_speed_kmh,
                                                             max_speed_kmh, low=0, high=300)
        if int(cylinders) not in (2, 3, 4, 5, 6, 8, 10, 12):
            raise ValueError(f"CabinNoise: cylinders must be one of 2,3,4,5,6,8,10,12, got {cylinders!r}")
        self.cylinders = int(cylinders)

    def generate(self, n, sample_rate, rng, mic: "MicModel | None" = None):
        """``mic``: render the noise as that microphone hears it (beds filtered once, harmonics weighted)."""
        speed = uniform(rng, self.min_speed_kmh, self.max_speed_kmh)
        rpm, gear = rpm_for_speed(speed, rng)
        lv = cabin_levels_db(speed, rpm)
        tone, ep = engine_tone(n, sample_rate, rng, rpm, self.cylinders,
                               response=None if mic is None else (lambda f: mic.magnitude(f, sample_rate)))
        step = CABIN_SPEED_STEP_KMH
        lo = int(speed // step) * step
        w = (speed - lo) / step
        a, _ = fit_length(_cabin_bed(sample_rate, lo, mic), n, rng)
        b, _ = fit_length(_cabin_bed(sample_rate, lo + step, mic), n, rng)
        y = tone  # a fresh array: mix in place
        y *= np.float32(10 ** (lv["engine_level_db"] / 20))
        y += a * np.float32(np.sqrt(1.0 - w))
        y += b * np.float32(np.sqrt(w))
        return y, {"speed_kmh": speed, "gear": gear, **ep, "cylinders": self.cylinders, **lv}


class TrafficNoise(NoiseSource):
    def __init__(self, min_vehicles_per_min: float = 5.0, max_vehicles_per_min: float = 40.0,
                 horn_probability: float = 0.1, name: str | None = None):
        super().__init__(name=name)
        self.min_vehicles_per_min, self.max_vehicles_per_min = check_range(
            "TrafficNoise", "vehicles_per_min", min_vehicles_per_min, max_vehicles_per_min, low=0, high=600)
        if not 0 <= horn_probability <= 1:
            raise ValueError(f"TrafficNoise: horn_probability must be in [0, 1], got {horn_probability}")
        self.horn_probability = float(horn_probability)

    def generate(self, n, sample_rate, rng):
        sr = sample_rate
        dur = n / sr
        rate = uniform(rng, self.min_vehicles_per_min, self.max_vehicles_per_min)
        y = 0.5 * normalize_rms(_lowpass(_pink(n, rng), 400.0, sr))  # distant rumble
        n_pass = int(rng.poisson(rate / 60.0 * (dur + 4.0)))
        t = np.arange(n, dtype=np.float32) / sr
        hiss = _bandpass(_pink(n, rng), 80.0, 3000.0, sr)
        hiss = normalize_rms(hiss)
        for _ in range(n_pass):
            t0 = rng.uniform(-2.0, dur + 2.0)
            width = rng.uniform(0.6, 2.0)
            env = np.exp(-0.5 * ((t - t0) / width) ** 2).astype(np.float32)
            if env.max() < 1e-3:
                continue
            f = rng.uniform(25.0, 60.0)  # firing frequency, Doppler: +-5 % across the pass-by
            inst = f * (1.0 + 0.05 * np.tanh(-(t - t0) / (0.5 * width)))
            tone = np.sin(2 * np.pi * np.cumsum(inst) / sr).astype(np.float32)
            y += rng.uniform(0.5, 1.5) * env * (hiss + 0.3 * tone)
        horn = bool(rng.random() < self.horn_probability)
        if horn:
            t0 = rng.uniform(0, max(dur - 0.4, 0.0))
            seg = (t >= t0) & (t < t0 + rng.uniform(0.2, 0.6))
            f = rng.uniform(350.0, 500.0)
            y[seg] += 1.5 * np.sign(np.sin(2 * np.pi * f * t[seg])) * 0.5
        y = _bandpass(y, 50.0, 6000.0, sr)  # a microphone's view: no sub-bass, tyre/engine hiss kept
        return y, {"vehicles_per_min": rate, "vehicles": n_pass, "horn": horn}


def _synthetic_talker(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = rng.uniform(90.0, 240.0) * _slow_envelope(n, sr, rng, rate_hz=3.0, depth=0.15)  # intonation
    phase = 2 * np.pi * np.cumsum(f0, dtype=np.float64) / sr
    voiced = np.zeros(n)
    for k in range(1, 9):  # a gentle spectral tilt, like the long-term average speech spectrum
        voiced += np.sin(k * phase) / np.sqrt(k)
    syll_rate = rng.uniform(3.0, 5.5)  # syllables per second
    syll = np.maximum(np.sin(2 * np.pi * syll_rate * t + rng.uniform(0, 2 * np.pi)), 0.0) ** 0.7
    pauses = _slow_envelope(n, sr, rng, rate_hz=0.7, depth=1.0) > 0.6  # breaks between phrases
    return (voiced * syll * pauses).astype(np.float32)


class BabbleNoise(NoiseSource):
    """Synthetic multi-talker babble (no clips needed); see ``ClipBabble`` for babble from real voices."""

    def __init__(self, min_talkers: int = 3, max_talkers: int = 8, name: str | None = None):
        super().__init__(name=name)
        lo, hi = check_range("BabbleNoise", "talkers", min_talkers, max_talkers, low=1, high=64)
        self.min_talkers, self.max_talkers = int(lo), int(hi)

    def generate(self, n, sample_rate, rng):
        k = int(rng.integers(self.min_talkers, self.max_talkers + 1))
        y = np.zeros(n, dtype=np.float32)
        for _ in range(k):
            y += _synthetic_talker(n, sample_rate, rng) * np.float32(rng.uniform(0.5, 1.0))
        y += 0.05 * normalize_rms(_pink(n, rng), rms_of(y))
        # speech-shaped: formant region emphasis
        y = _bandpass(y, 100.0, 4000.0, sample_rate)
        return y, {"talkers": k, "babble_source": "synthetic"}


def rms_of(x: np.ndarray) -> float:
    return float(np.sqrt(power(x))) if x.size else 0.0


class ClipBabble(NoiseSource):
    """Babble made of real clips (e.g. other utterances of the corpus): ``min..max_talkers`` overlapped.

    ``clips``: sequence of mono float32 arrays at ``clips_sample_rate``, or of wav/flac paths, or a
    callable returning such a sequence (so the pipeline can hand the corpus's clips in lazily).
    Each talker is a random clip, RMS-normalised, looped/cropped at a random offset.
    """

    name = "babble"

    def __init__(self, clips: Sequence[np.ndarray | str | Path] | Callable[[], Sequence],
                 clips_sample_rate: int | None = None, min_talkers: int = 3, max_talkers: int = 6,
                 name: str | None = None):
        super().__init__(name=name)
        lo, hi = check_range("ClipBabble", "talkers", min_talkers, max_talkers, low=1, high=64)
        self.min_talkers, self.max_talkers = int(lo), int(hi)
        self._clips = clips
        self.clips_sample_rate = clips_sample_rate

    def _load(self, c: Any, i: int, sample_rate: int) -> tuple[str, np.ndarray]:
        if isinstance(c, (str, Path)):
            return Path(c).name, load_audio(str(c), sample_rate)
        if self.clips_sample_rate is None:
            raise ValueError("ClipBabble: clips given as arrays need clips_sample_rate")
        from ..audio import resample
        return f"clip{i}", resample(np.asarray(c, np.float32), self.clips_sample_rate, sample_rate)

    def generate(self, n, sample_rate, rng):
        clips = self._clips() if callable(self._clips) else self._clips
        if not len(clips):
            raise ValueError("ClipBabble: no clips to build babble from; pass at least one clip")
        k = int(rng.integers(self.min_talkers, self.max_talkers + 1))
        idx = rng.choice(len(clips), size=k, replace=len(clips) < k)
        y = np.zeros(n, dtype=np.float32)
        names = []
        for i in idx:  # only the chosen clips are decoded/resampled
            label, audio = self._load(clips[int(i)], int(i), sample_rate)
            names.append(label)
            seg, _ = fit_length(audio, n, rng)
            y += normalize_rms(seg) * np.float32(rng.uniform(0.6, 1.0))
        return y, {"talkers": k, "babble_source": "clips", "babble_clips": names}


class ClatterNoise(NoiseSource):
    """Dishes, cutlery, woks: Poisson impacts, each a few damped resonant modes plus a click."""

    def __init__(self, min_events_per_s: float = 0.5, max_events_per_s: float = 3.0,
                 min_freq_hz: float = 1200.0, max_freq_hz: float = 6000.0, name: str | None = None):
        super().__init__(name=name)
        self.min_events_per_s, self.max_events_per_s = check_range(
            "ClatterNoise", "events_per_s", min_events_per_s, max_events_per_s, low=0, high=100)
        self.min_freq_hz, self.max_freq_hz = check_range("ClatterNoise", "freq_hz", min_freq_hz, max_freq_hz,
                                                         low=20, high=20000)

    def generate(self, n, sample_rate, rng):
        sr = sample_rate
        rate = uniform(rng, self.min_events_per_s, self.max_events_per_s)
        k = int(rng.poisson(rate * n / sr))
        y = 0.02 * _pink(n, rng)
        ev_len = int(0.15 * sr)
        t = np.arange(ev_len) / sr
        for _ in range(k):
            start = int(rng.integers(0, n))
            m = min(ev_len, n - start)
            ev = np.zeros(ev_len)
            for _mode in range(3):
                f = min(rng.uniform(self.min_freq_hz, self.max_freq_hz), 0.45 * sr)
                tau = rng.uniform(0.01, 0.06)
                ev += rng.uniform(0.3, 1.0) * np.exp(-t / tau) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28))
            ev[: int(0.002 * sr)] += rng.standard_normal(int(0.002 * sr))  # the click of contact
            y[start:start + m] += (rng.uniform(0.3, 1.0) * ev[:m]).astype(np.float32)
        return y.astype(np.float32), {"events_per_s": rate, "events": k}


class FactoryNoise(NoiseSource):
    """Mains hum (50/60 Hz harmonics), periodic machine impacts and broadband pink noise."""

    def __init__(self, min_machine_rate_hz: float = 0.5, max_machine_rate_hz: float = 4.0, name: str | None = None):
        super().__init__(name=name)
        self.min_machine_rate_hz, self.max_machine_rate_hz = check_range(
            "FactoryNoise", "machine_rate_hz", min_machine_rate_hz, max_machine_rate_hz, low=0.01, high=50)

    def generate(self, n, sample_rate, rng):
        sr = sample_rate
        mains = 50.0 if rng.random() < 0.5 else 60.0
        t = np.arange(n) / sr
        hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 7))
        rate = uniform(rng, self.min_machine_rate_hz, self.max_machine_rate_hz)
        imp = np.zeros(n, dtype=np.float32)
        period = max(1, int(sr / rate))
        first = int(rng.integers(0, period))
        imp[first::period] = 1.0
        ring_t = np.arange(int(0.2 * sr)) / sr
        f_ring = rng.uniform(150.0, 900.0)
        ring = np.exp(-ring_t / 0.04) * np.sin(2 * np.pi * f_ring * ring_t)
        from scipy.signal import oaconvolve
        impacts = oaconvolve(imp, ring.astype(np.float32))[:n]
        broad = _lowpass(_pink(n, rng), 6000.0, sr)
        y = 0.6 * normalize_rms(hum.astype(np.float32)) + normalize_rms(impacts.astype(np.float32)) \
            + 0.8 * normalize_rms(broad)
        return y.astype(np.float32), {"mains_hz": mains, "machine_rate_hz": rate, "machine_ring_hz": f_ring}


class FolderNoise(NoiseSource):
    """Noise from user files: a folder (searched recursively) or a list of wav/flac paths.

    A random file, resampled to the clip rate, at a random offset, looped if shorter than the clip.
    Files are listed once (sorted, so the same seed picks the same file) and decoded lazily with a cache.
    """

    name = "file"

    def __init__(self, source: str | Path | Sequence[str | Path], name: str | None = None):
        super().__init__(name=name)
        self.source = AudioSource(source, what="noise")

    def generate(self, n, sample_rate, rng):
        i = int(rng.integers(0, len(self.source)))
        path = self.source.paths[i]
        x = load_audio(path, sample_rate)
        seg, start = fit_length(x, n, rng)
        return seg, {"noise_file": self.source.relname(i), "noise_offset_s": start / sample_rate}


class MixNoise(NoiseSource):
    """Sum of sources at relative levels: ``MixNoise([(BabbleNoise(), 0.0), (ClatterNoise(), -6.0)])``."""

    name = "mix"

    def __init__(self, parts: Sequence[tuple[NoiseSource, float]], name: str | None = None):
        super().__init__(name=name)
        if not parts:
            raise ValueError("MixNoise: give at least one (source, relative_db) pair")
        self.parts = [(s, float(g)) for s, g in parts]

    def generate(self, n, sample_rate, rng):
        y = np.zeros(n, dtype=np.float32)
        params: dict[str, Any] = {"components": [s.name for s, _ in self.parts]}
        for s, g in self.parts:
            part, p = s.generate(n, sample_rate, rng)
            y += normalize_rms(part) * np.float32(10 ** (g / 20))
            params.update({f"{s.name}.{k}": v for k, v in p.items()})
            params[f"{s.name}.relative_db"] = g
        return y, params


# --- the transform ---------------------------------------------------------------------------------
class AddNoise(Transform):
    """Add noise from ``source`` at an SNR drawn uniformly from [min_snr_db, max_snr_db].

    SNR is over the whole clip: 10*log10(mean(x^2) / mean(noise^2)). Recorded: ``snr_db`` (the target),
    ``measured_snr_db`` (recomputed on the float32 result as 10*log10(P(x) / P(result - x))), ``noise_type``
    and the source's own parameters. A silent input is returned unchanged (``skipped: "silent input"``).
    """

    name = "noise"

    def __init__(self, source: NoiseSource, min_snr_db: float = 5.0, max_snr_db: float = 20.0, p: float = 1.0,
                 name: str | None = None):
        super().__init__(p=p, name=name)
        if not hasattr(source, "generate"):
            raise ValueError(f"AddNoise: source must be a NoiseSource (with generate()), got {source!r}")
        self.source = source
        self.min_snr_db, self.max_snr_db = check_range("AddNoise", "snr_db", min_snr_db, max_snr_db,
                                                       low=-30, high=100)

    def apply(self, x, sample_rate, rng):
        snr_db = uniform(rng, self.min_snr_db, self.max_snr_db)
        p_sig = power(x)
        if p_sig < EPS:
            return x, {"snr_db": snr_db, "skipped": "silent input", "noise_type": self.source.name}
        noise, sp = self.source.generate(x.size, sample_rate, rng)
        p_noise = power(noise)
        if p_noise < EPS:
            return x, {"snr_db": snr_db, "skipped": "silent noise", "noise_type": self.source.name, **sp}
        gain = np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10)))
        y = (x + noise * np.float32(gain)).astype(np.float32)
        measured = db(p_sig / max(power(y - x), EPS))
        return y, {"snr_db": snr_db, "measured_snr_db": measured, "noise_type": self.source.name, **sp}


class ChoiceNoise(NoiseSource):
    """One of several sources per clip, by weight: ``ChoiceNoise([(CabinNoise(), 1), (FolderNoise(d), 1)])``."""

    name = "choice"

    def __init__(self, options: Sequence[tuple[NoiseSource, float]], name: str | None = None):
        super().__init__(name=name)
        if not options:
            raise ValueError("ChoiceNoise: give at least one (source, weight) pair")
        w = np.array([float(wt) for _, wt in options])
        if np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"ChoiceNoise: weights must be >= 0 with a positive sum, got {w.tolist()}")
        self.sources = [s for s, _ in options]
        self.weights = w / w.sum()

    def generate(self, n, sample_rate, rng):
        i = int(rng.choice(len(self.sources), p=self.weights))
        y, p = self.sources[i].generate(n, sample_rate, rng)
        return y, {"noise_source": self.sources[i].name, **p}
