"""Channel effects: telephone band (band-pass, 8 kHz, mu-law), band-pass, microphone gain, clipping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import sosfilt, sosfiltfilt

from ..audio import resample
from .core import Transform, butter_sos, check_range, db, power, uniform


def mulaw_encode(x: np.ndarray, mu: int = 255) -> np.ndarray:
    """G.711-style mu-law companding to ``log2(mu+1)``-bit integer codes (0..mu)."""
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.round((y + 1.0) / 2.0 * mu).astype(np.int32)


def mulaw_decode(codes: np.ndarray, mu: int = 255) -> np.ndarray:
    y = codes.astype(np.float64) / mu * 2.0 - 1.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


class TelephoneChannel(Transform):
    """Narrow-band telephone: band-pass [low_hz, high_hz] (Butterworth, both before and after the codec, as
    the line cards do), resample to 8 kHz, mu-law 8-bit, back to the clip rate (the length is kept).

    The level going into the codec is drawn from [min_level_dbfs, max_level_dbfs] (RMS, dBFS); the output is
    rescaled back to the input's level. Recorded: ``band_hz``, ``codec_sample_rate_hz``, ``codec``,
    ``level_dbfs``, ``clipped_fraction`` (share of samples at full scale in the codec).
    """

    name = "telephone"

    def __init__(self, low_hz: float = 300.0, high_hz: float = 3400.0, codec_sample_rate: int = 8000,
                 min_level_dbfs: float = -26.0, max_level_dbfs: float = -16.0, order: int = 8, p: float = 1.0,
                 name: str | None = None):
        super().__init__(p=p, name=name)
        self.low_hz, self.high_hz = check_range("TelephoneChannel", "hz (low_hz/high_hz)", low_hz, high_hz, low=1)
        if self.high_hz >= codec_sample_rate / 2:
            raise ValueError(f"TelephoneChannel: high_hz ({high_hz}) must be below half the codec rate "
                             f"({codec_sample_rate / 2})")
        self.codec_sample_rate = int(codec_sample_rate)
        self.min_level_dbfs, self.max_level_dbfs = check_range("TelephoneChannel", "level_dbfs", min_level_dbfs,
                                                               max_level_dbfs, high=0)
        self.order = int(order)

    def apply(self, x, sample_rate, rng):
        level = uniform(rng, self.min_level_dbfs, self.max_level_dbfs)
        p_in = power(x)
        band = (self.low_hz, self.high_hz)
        # zero-phase in the clip's rate, so the transcript's timing is kept
        y = x
        if sample_rate > 2 * self.high_hz:
            y = sosfiltfilt(butter_sos(self.order // 2, band, "bandpass", sample_rate), x)
        y = resample(y, sample_rate, self.codec_sample_rate)
        y = y * np.float32(10 ** (level / 20) / np.sqrt(max(power(y), 1e-20)))
        clipped = float(np.mean(np.abs(y) >= 1.0))
        y = mulaw_decode(mulaw_encode(y))
        y = sosfiltfilt(butter_sos(self.order // 2, band, "bandpass", self.codec_sample_rate), y)
        y = resample(y.astype(np.float32), self.codec_sample_rate, sample_rate)
        y = _fit(y, x.size)
        y = y * np.float32(np.sqrt(p_in / max(power(y), 1e-20)))
        return y, {"band_hz": [self.low_hz, self.high_hz], "codec_sample_rate_hz": self.codec_sample_rate,
                   "codec": "mu-law-8bit", "level_dbfs": level, "clipped_fraction": clipped}


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    if y.size >= n:
        return y[:n]
    return np.pad(y, (0, n - y.size))


class BandPass(Transform):
    """Butterworth band-pass with corners drawn from [min_low_hz, max_low_hz] and [min_high_hz, max_high_hz]
    (a cheap microphone / loudspeaker response). Causal ``sosfilt`` (fast)."""

    name = "band_pass"

    def __init__(self, min_low_hz: float = 80.0, max_low_hz: float = 200.0, min_high_hz: float = 3500.0,
                 max_high_hz: float = 7000.0, order: int = 4, p: float = 1.0, name: str | None = None):
        super().__init__(p=p, name=name)
        self.min_low_hz, self.max_low_hz = check_range("BandPass", "low_hz", min_low_hz, max_low_hz, low=1)
        self.min_high_hz, self.max_high_hz = check_range("BandPass", "high_hz", min_high_hz, max_high_hz, low=1)
        if self.max_low_hz >= self.min_high_hz:
            raise ValueError(f"BandPass: max_low_hz ({max_low_hz}) must be below min_high_hz ({min_high_hz})")
        self.order = int(order)

    def apply(self, x, sample_rate, rng):
        # corners on a 10 Hz grid so the cached filter designs are reused
        lo = int(round(uniform(rng, self.min_low_hz, self.max_low_hz), -1))
        hi = int(round(min(uniform(rng, self.min_high_hz, self.max_high_hz), 0.45 * sample_rate), -1))
        y = sosfilt(butter_sos(self.order, (float(lo), float(hi)), "bandpass", sample_rate), x)
        return y.astype(np.float32), {"low_hz": lo, "high_hz": hi}


@dataclass(frozen=True)
class MicModel:
    """A microphone's frequency response: first-order (6 dB/octave) high-pass and low-pass corners."""

    name: str
    low_hz: float
    high_hz: float

    def sos(self, sample_rate: int) -> np.ndarray:
        return butter_sos(1, (float(self.low_hz), float(min(self.high_hz, 0.45 * sample_rate))), "bandpass",
                          sample_rate)

    def magnitude(self, freqs_hz: np.ndarray, sample_rate: int) -> np.ndarray:
        """|H(f)| of the digital filter (so folding it into a spectrum equals filtering)."""
        z1 = np.exp(-2j * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate)  # z^-1 on the unit circle
        h = np.ones_like(z1)
        for b0, b1, b2, a0, a1, a2 in self.sos(sample_rate):
            h *= (b0 + b1 * z1 + b2 * z1 * z1) / (a0 + a1 * z1 + a2 * z1 * z1)
        return np.abs(h)

    def filter(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        return sosfilt(self.sos(sample_rate), x).astype(np.float32)


# hands-free car microphones (first-order corners, Hz)
CAR_MICS = (MicModel("roof_console", 100.0, 7000.0), MicModel("mirror", 150.0, 5500.0),
            MicModel("a_pillar", 200.0, 4500.0), MicModel("phone_holder", 120.0, 3800.0))


class MicGain(Transform):
    """Microphone/pre-amp gain in dB drawn from [min_gain_db, max_gain_db] (no clipping here)."""

    name = "mic_gain"

    def __init__(self, min_gain_db: float = -6.0, max_gain_db: float = 6.0, p: float = 1.0, name: str | None = None):
        super().__init__(p=p, name=name)
        self.min_gain_db, self.max_gain_db = check_range("MicGain", "gain_db", min_gain_db, max_gain_db,
                                                         low=-120, high=60)

    def apply(self, x, sample_rate, rng):
        g = uniform(rng, self.min_gain_db, self.max_gain_db)
        return x * np.float32(10 ** (g / 20)), {"gain_db": g}


class Clipping(Transform):
    """Hard clipping (an overdriven mic or ADC): the signal is clipped at a threshold set so that a share of
    samples in [min_clipped_percent, max_clipped_percent] clip. Recorded: ``target_clipped_percent``,
    ``clipped_percent`` (measured), ``clip_threshold_db`` (threshold relative to the input's peak) and
    ``distortion_db`` (energy removed by clipping relative to the input's energy)."""

    name = "clipping"

    def __init__(self, min_clipped_percent: float = 0.0, max_clipped_percent: float = 2.0, p: float = 1.0,
                 name: str | None = None):
        super().__init__(p=p, name=name)
        self.min_clipped_percent, self.max_clipped_percent = check_range(
            "Clipping", "clipped_percent", min_clipped_percent, max_clipped_percent, low=0, high=50)

    def apply(self, x, sample_rate, rng):
        target = uniform(rng, self.min_clipped_percent, self.max_clipped_percent)
        a = np.abs(x)
        peak = float(a.max())
        if peak <= 0 or target <= 0:
            return x, {"clipped_percent": 0.0, "clip_threshold_db": 0.0, "target_clipped_percent": target}
        thr = float(np.percentile(a, 100.0 - target))
        thr = max(thr, 1e-6)
        y = np.clip(x, -thr, thr)
        removed = power(x - y)
        return y.astype(np.float32), {
            "target_clipped_percent": target,
            "clipped_percent": float(np.mean(a > thr) * 100),
            "clip_threshold_db": db(thr**2 / peak**2),
            "distortion_db": db(removed / max(power(x), 1e-20)),
        }
