"""``CarCabin``: talker in a car cabin, cabin noise, hands-free microphone, in one pass.

The same physics as ``[SimulatedRoom, AddNoise(CabinNoise), BandPass]`` but fused so that a clip costs one
FFT pair: the microphone's response is folded into the cached spectrum of the cabin RIR (speech path), and
the noise is rendered as that microphone hears it (noise beds filtered once per process and microphone,
engine harmonics weighted by the response). The SNR is set and measured after the microphone, i.e. on
what a recogniser gets: ``noise.snr_db`` (target) and ``noise.measured_snr_db`` = 10*log10(P(speech) /
P(result - speech)) computed on the float32 result.

Microphones are drawn per clip from ``mics`` (``CAR_MICS``: roof console, mirror, A-pillar, phone holder).
User noise (any ``NoiseSource``) is filtered by the microphone per clip (slower, same result); user RIRs
(``rir_source``: folder / files) replace the simulated cabins.

Parameters are recorded under the same keys as the unfused chain (``cabin.*``, ``noise.*``,
``mic_response.*``), so rows from every preset slice the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .channel import CAR_MICS, MicModel
from .core import EPS, Transform, check_range, db, power, uniform
from .io import AudioSource, load_audio
from .noise import CabinNoise, NoiseSource
from .reverb import SimulatedRoom, _UIDS, convolve_keep, schroeder_rt60


def _mic_rir(h: np.ndarray, mic: MicModel, sample_rate: int) -> np.ndarray:
    """The RIR followed by the microphone (time domain, once per RIR and microphone; cached by spectrum)."""
    pad = np.concatenate([h, np.zeros(int(0.02 * sample_rate), np.float32)])
    return mic.filter(pad, sample_rate)


class CarCabin(Transform):
    name = "cabin"
    flat_params = True  # Compose keeps this transform's "cabin.* / noise.* / mic_response.*" keys as they are

    def __init__(self, min_snr_db: float = 0.0, max_snr_db: float = 15.0, *, min_speed_kmh: float = 0.0,
                 max_speed_kmh: float = 140.0, min_rt60_s: float = 0.06, max_rt60_s: float = 0.15,
                 min_room_m: Sequence[float] = (1.8, 1.3, 1.0), max_room_m: Sequence[float] = (2.6, 1.6, 1.25),
                 min_distance_m: float = 0.3, max_distance_m: float = 0.9, mics: Sequence[MicModel] = CAR_MICS,
                 noise: NoiseSource | None = None, rir_source: str | Path | Sequence[str | Path] | None = None,
                 backend: str = "auto", bank_size: int = 12, bank_seed: int = 0, p: float = 1.0,
                 name: str | None = None):
        super().__init__(p=p, name=name)
        self.min_snr_db, self.max_snr_db = check_range("CarCabin", "snr_db", min_snr_db, max_snr_db,
                                                       low=-30, high=100)
        if not mics:
            raise ValueError("CarCabin: mics must list at least one MicModel")
        self.mics = tuple(mics)
        self.noise = noise if noise is not None else CabinNoise(min_speed_kmh, max_speed_kmh)
        if not hasattr(self.noise, "generate"):
            raise ValueError(f"CarCabin: noise must be a NoiseSource (with generate()), got {noise!r}")
        self.rirs = AudioSource(rir_source, what="impulse response") if rir_source is not None else None
        self.room = SimulatedRoom(min_rt60_s, max_rt60_s, min_room_m, max_room_m, min_distance_m, max_distance_m,
                                  wall_margin_m=0.12, backend=backend, bank_size=bank_size, bank_seed=bank_seed)
        self._uid = next(_UIDS)
        self._rt60: dict[tuple[int, int], float | None] = {}

    def _speech(self, x: np.ndarray, sr: int, rng: np.random.Generator, mic: MicModel) -> tuple[np.ndarray, dict]:
        if self.rirs is not None:
            i = int(rng.integers(0, len(self.rirs)))
            h = load_audio(self.rirs.paths[i], sr)
            if (i, sr) not in self._rt60:
                rt = schroeder_rt60(h, sr)
                self._rt60[(i, sr)] = rt if np.isfinite(rt) else None
            info = {"rir": self.rirs.relname(i), "rt60_s": self._rt60[(i, sr)]}
            key = ("car_rir", self._uid, i, sr, mic)
        elif self.room.bank_size:
            i = int(rng.integers(0, self.room.bank_size))
            h, info = self.room._bank(sr)[i]
            info = {**info, "bank_index": i}
            key = ("car_bank", self.room._bank_key(sr), i, mic)
        else:
            h, info = self.room._make(sr, rng)
            key = None
        hm = _mic_rir(h, mic, sr) if key is None else _cached_mic_rir(key, h, mic, sr)
        y, _ = convolve_keep(x, hm, key=key)
        return y, info

    def apply(self, x, sample_rate, rng):
        mic = self.mics[int(rng.integers(0, len(self.mics)))]
        snr_db = uniform(rng, self.min_snr_db, self.max_snr_db)
        s, room_info = self._speech(x, sample_rate, rng, mic)
        params: dict[str, Any] = {f"cabin.{k}": v for k, v in room_info.items()}
        params.update({"mic_response.applied": True, "mic_response.model": mic.name,
                       "mic_response.low_hz": mic.low_hz, "mic_response.high_hz": mic.high_hz})
        if isinstance(self.noise, CabinNoise):
            noise, sp = self.noise.generate(x.size, sample_rate, rng, mic=mic)
        else:
            noise, sp = self.noise.generate(x.size, sample_rate, rng)
            noise = mic.filter(noise, sample_rate)
        p_sig, p_noise = power(s), power(noise)
        params.update({"noise.applied": True, "noise.snr_db": snr_db, "noise.noise_type": self.noise.name})
        if p_sig < EPS or p_noise < EPS:
            params["noise.skipped"] = "silent input" if p_sig < EPS else "silent noise"
            return s, params
        y = s + noise * np.float32(np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10))))
        params["noise.measured_snr_db"] = db(p_sig / max(power(y - s), EPS))
        params.update({f"noise.{k}": v for k, v in sp.items()})
        return y, params


_MIC_RIRS: dict[tuple, np.ndarray] = {}


def _cached_mic_rir(key: tuple, h: np.ndarray, mic: MicModel, sr: int) -> np.ndarray:
    hm = _MIC_RIRS.get(key)
    if hm is None:
        if len(_MIC_RIRS) > 512:
            _MIC_RIRS.clear()
        hm = _MIC_RIRS[key] = _mic_rir(h, mic, sr)
    return hm
