"""Presets: one acoustic chain per scenario environment, and ``apply_acoustics`` for the pipeline.

    audio, params = apply_acoustics(samples, sample_rate, scenario.noise, scenario.acoustics.preset, seed)

The preset is ``preset_name`` when given (``AcousticsConfig.preset``), else ``noise.environment``.
The SNR range comes from ``noise.min_snr_db``/``max_snr_db``. A Compose is built once per
(preset, SNR range, sources) and cached; all randomness is drawn per call from the seed/generator, so
the same input + seed gives byte-identical audio and parameters.

User sources (``AcousticSources``): noise folders are mixed in with the preset's synthetic noise (half the
clips each, by default), RIR folders replace the simulated rooms, and babble clips (e.g. other utterances
of the corpus) replace the synthetic babble.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .cabin import CarCabin
from .channel import BandPass, Clipping, MicGain, TelephoneChannel
from .core import Compose, Transform, as_rng, limit_peak
from .noise import (AddNoise, BabbleNoise, CabinNoise, ChoiceNoise, ClatterNoise, ClipBabble, ColoredNoise,
                    FactoryNoise, FolderNoise, MixNoise, NoiseSource, TrafficNoise)
from .reverb import ApplyRIR, SimulatedRoom

# default SNR ranges when no scenario noise config is given
DEFAULT_SNR_DB = {
    "clean": (100.0, 100.0), "quiet_indoor": (20.0, 30.0), "vehicle_cabin": (0.0, 15.0),
    "outdoor_street": (0.0, 15.0), "cafe": (5.0, 15.0), "stall": (0.0, 10.0), "factory": (-5.0, 10.0),
    "telephone": (15.0, 30.0),
}
ROOM_BANK_SIZE = 12  # simulated RIRs precomputed per preset and process (deterministic)


@dataclass(frozen=True)
class AcousticSources:
    """User-provided audio. ``babble_clips``: arrays at ``babble_sample_rate``, wav/flac paths, or a
    zero-argument callable returning either (called per clip, so it may grow as the corpus grows)."""

    noise_dirs: tuple[str, ...] = ()
    rir_dirs: tuple[str, ...] = ()
    babble_clips: Any = None
    babble_sample_rate: int | None = None
    user_noise_weight: float = 0.5  # share of clips that get user noise instead of the synthetic one

    def __post_init__(self):
        object.__setattr__(self, "noise_dirs", tuple(str(p) for p in self.noise_dirs))
        object.__setattr__(self, "rir_dirs", tuple(str(p) for p in self.rir_dirs))
        if not 0.0 <= self.user_noise_weight <= 1.0:
            raise ValueError(f"AcousticSources: user_noise_weight must be in [0, 1], got {self.user_noise_weight}")


PresetBuilder = Callable[[float, float, AcousticSources], list[Transform]]
PRESETS: dict[str, PresetBuilder] = {}


def register_preset(name: str) -> Callable[[PresetBuilder], PresetBuilder]:
    """Register ``fn(min_snr_db, max_snr_db, sources) -> list[Transform]`` under ``name``."""
    def deco(fn: PresetBuilder) -> PresetBuilder:
        PRESETS[name] = fn
        return fn
    return deco


# --- helpers ---------------------------------------------------------------------------------------
def _noise(synthetic: NoiseSource, src: AcousticSources) -> NoiseSource:
    if not src.noise_dirs:
        return synthetic
    user = FolderNoise(list(src.noise_dirs), name="user_file")
    if src.user_noise_weight >= 1.0:
        return user
    return ChoiceNoise([(synthetic, 1.0 - src.user_noise_weight), (user, src.user_noise_weight)])


def _babble(src: AcousticSources, min_talkers: int = 3, max_talkers: int = 8) -> NoiseSource:
    if src.babble_clips is None:
        return BabbleNoise(min_talkers, max_talkers, name="babble")
    return ClipBabble(src.babble_clips, src.babble_sample_rate, min_talkers=min_talkers, max_talkers=max_talkers)


def _reverb(src: AcousticSources, room: SimulatedRoom | None) -> list[Transform]:
    if src.rir_dirs:
        return [ApplyRIR(list(src.rir_dirs), p=room.p if room is not None else 1.0)]
    return [room] if room is not None else []


# --- the presets -----------------------------------------------------------------------------------
@register_preset("clean")
def clean(lo, hi, src):
    return []


@register_preset("quiet_indoor")
def quiet_indoor(lo, hi, src):
    room = SimulatedRoom(0.2, 0.6, (3.0, 3.0, 2.4), (7.0, 5.0, 3.0), 0.5, 2.0, bank_size=ROOM_BANK_SIZE, p=0.8)
    return [
        *_reverb(src, room),
        AddNoise(_noise(MixNoise([(ColoredNoise("pink", name="hvac"), 0.0), (BabbleNoise(1, 2, name="babble"),
                                                                               -10.0)], name="room_tone"), src),
                 lo, hi),
        BandPass(60.0, 150.0, 6000.0, 7900.0, order=2, p=0.5, name="mic_response"),
        MicGain(-6.0, 6.0),
    ]


@register_preset("vehicle_cabin")
def vehicle_cabin(lo, hi, src):
    # car cabins ~2 x 1.4 x 1.1 m, RT60 60-150 ms; hands-free mic 0.3-0.9 m from the talker; 0-140 km/h.
    # CarCabin fuses cabin RIR + cabin noise + microphone response (one FFT pair per clip).
    noise = _noise(CabinNoise(0.0, 140.0), src) if src.noise_dirs else None
    return [
        CarCabin(lo, hi, min_speed_kmh=0.0, max_speed_kmh=140.0, noise=noise,
                 rir_source=list(src.rir_dirs) if src.rir_dirs else None, bank_size=ROOM_BANK_SIZE),
        MicGain(-6.0, 6.0),
        Clipping(0.0, 0.5, p=0.1),
    ]


@register_preset("outdoor_street")
def outdoor_street(lo, hi, src):
    street = SimulatedRoom(0.1, 0.3, (6.0, 8.0, 6.0), (15.0, 30.0, 15.0), 0.3, 1.0, backend="decay",
                           bank_size=ROOM_BANK_SIZE, p=0.3, name="street_echo")
    return [
        *_reverb(src, street),
        AddNoise(_noise(MixNoise([(TrafficNoise(), 0.0), (_babble(src, 2, 6), -4.0)], name="street"), src), lo, hi),
        BandPass(100.0, 300.0, 3500.0, 7000.0, order=2, p=0.5, name="mic_response"),
        MicGain(-6.0, 6.0),
        Clipping(0.0, 1.0, p=0.1),
    ]


@register_preset("cafe")
def cafe(lo, hi, src):
    room = SimulatedRoom(0.4, 0.9, (6.0, 5.0, 2.7), (12.0, 10.0, 3.5), 0.5, 2.0, bank_size=ROOM_BANK_SIZE)
    return [
        *_reverb(src, room),
        AddNoise(_noise(MixNoise([(_babble(src, 4, 10), 0.0), (ClatterNoise(0.5, 2.0), -6.0),
                                  (ColoredNoise("pink", name="hvac"), -15.0)], name="cafe"), src), lo, hi),
        MicGain(-6.0, 6.0),
    ]


@register_preset("stall")
def stall(lo, hi, src):
    street = SimulatedRoom(0.1, 0.3, (4.0, 4.0, 3.0), (10.0, 10.0, 6.0), 0.3, 1.5, backend="decay",
                           bank_size=ROOM_BANK_SIZE, p=0.3, name="stall_echo")
    return [
        *_reverb(src, street),
        AddNoise(_noise(MixNoise([(_babble(src, 3, 8), 0.0), (ClatterNoise(1.0, 4.0, 800.0, 5000.0), -3.0),
                                  (TrafficNoise(), -6.0)], name="stall"), src), lo, hi),
        BandPass(100.0, 300.0, 3500.0, 7000.0, order=2, p=0.5, name="mic_response"),
        MicGain(-6.0, 8.0),
        Clipping(0.0, 2.0, p=0.2),
    ]


@register_preset("factory")
def factory(lo, hi, src):
    hall = SimulatedRoom(0.8, 1.8, (15.0, 10.0, 5.0), (30.0, 20.0, 8.0), 0.5, 2.5, bank_size=ROOM_BANK_SIZE,
                         name="hall")
    return [
        *_reverb(src, hall),
        AddNoise(_noise(FactoryNoise(), src), lo, hi),
        MicGain(-6.0, 8.0),
        Clipping(0.0, 2.0, p=0.2),
    ]


@register_preset("telephone")
def telephone(lo, hi, src):
    room = SimulatedRoom(0.2, 0.5, (3.0, 3.0, 2.4), (6.0, 5.0, 3.0), 0.3, 1.0, bank_size=ROOM_BANK_SIZE, p=0.5)
    return [
        *_reverb(src, room),
        AddNoise(_noise(ColoredNoise("pink", name="line_noise"), src), lo, hi),
        TelephoneChannel(),
    ]


# --- entry points ----------------------------------------------------------------------------------
def resolve_preset_name(noise: Any = None, preset_name: str | None = None) -> str:
    """``preset_name`` if given, else the noise config's ``environment``, else ``quiet_indoor``."""
    name = preset_name
    if not name:
        env = getattr(noise, "environment", None)
        name = getattr(env, "value", env) or "quiet_indoor"
    if name not in PRESETS:
        raise ValueError(f"unknown acoustics preset {name!r}; choose one of {sorted(PRESETS)} "
                         f"(acoustics.preset or noise.environment in the scenario)")
    return name


def _snr_range(noise: Any, name: str) -> tuple[float, float]:
    if noise is not None and getattr(noise, "min_snr_db", None) is not None:
        lo, hi = float(noise.min_snr_db), float(noise.max_snr_db)
        if lo > hi:
            raise ValueError(f"noise.min_snr_db ({lo}) must be <= noise.max_snr_db ({hi})")
        return lo, hi
    return DEFAULT_SNR_DB.get(name, (10.0, 20.0))


_CACHE: dict[tuple, Compose] = {}


def build_preset(preset_name: str | None = None, noise: Any = None, *,
                 sources: AcousticSources | None = None) -> Compose:
    """The preset's Compose for this noise config (cached; the Compose holds no per-clip state that
    affects the output, randomness comes from the generator passed at call time)."""
    name = resolve_preset_name(noise, preset_name)
    lo, hi = _snr_range(noise, name)
    src = sources or AcousticSources()
    key = (name, lo, hi, src.noise_dirs, src.rir_dirs, id(src.babble_clips), src.babble_sample_rate,
           src.user_noise_weight)
    comp = _CACHE.get(key)
    if comp is None:
        comp = Compose(PRESETS[name](lo, hi, src), name=name)
        _CACHE[key] = comp
    return comp


def apply_acoustics(samples: np.ndarray, sample_rate: int, noise: Any = None, preset_name: str | None = None,
                    seed_or_rng: int | np.random.Generator = 0, *,
                    sources: AcousticSources | None = None) -> tuple[np.ndarray, dict]:
    """Apply the scenario's acoustic preset to one clip.

    ``noise``: the scenario's ``Noise`` (or anything with ``environment``, ``min_snr_db``, ``max_snr_db``; may be
    None). ``preset_name``: ``AcousticsConfig.preset`` (None = from ``noise.environment``).
    Returns float32 audio of the same length and a flat JSON-serializable dict of parameters:
    ``acoustics_preset``, ``acoustics_seed`` (when an int seed was given), ``snr_db``/``measured_snr_db`` (the
    noise step's, also under its own prefix; absent when no noise was added), ``<transform>.<param>`` for every
    step (``noise.snr_db``, ``noise.measured_snr_db``, ``cabin.rt60_s`` ...), ``output_gain_db`` when the
    result had to be scaled down to avoid clipping at full scale.
    """
    comp = build_preset(preset_name, noise, sources=sources)
    rng = as_rng(seed_or_rng)
    y, params = comp(samples, sample_rate, rng)
    out: dict[str, Any] = {"acoustics_preset": comp.name}
    if isinstance(seed_or_rng, (int, np.integer)):
        out["acoustics_seed"] = int(seed_or_rng)
    out.update(params)
    # the noise step's SNR at the top level too, whatever the preset calls its steps
    for k in list(params):
        if k.endswith(".measured_snr_db") and "measured_snr_db" not in out:
            out["snr_db"] = params[k[: -len("measured_snr_db")] + "snr_db"]
            out["measured_snr_db"] = params[k]
    y, gain_db = limit_peak(y)
    if gain_db is not None:
        out["output_gain_db"] = gain_db
    return y, out


def available_presets() -> list[str]:
    return sorted(PRESETS)
