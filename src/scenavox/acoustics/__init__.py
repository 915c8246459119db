"""Scenario acoustics: noise at a target SNR, reverberation, channel; small composable transforms.

Pipeline entry point::

    from scenavox.acoustics import apply_acoustics
    audio, params = apply_acoustics(samples, sr, scenario.noise, scenario.acoustics.preset, seed)
"""

from .cabin import CarCabin
from .channel import (CAR_MICS, BandPass, Clipping, MicGain, MicModel, TelephoneChannel, mulaw_decode,
                      mulaw_encode)
from .core import Compose, Transform, as_rng
from .noise import (AddNoise, BabbleNoise, CabinNoise, ChoiceNoise, ClatterNoise, ClipBabble, ColoredNoise,
                    EngineNoise, FactoryNoise, FolderNoise, MixNoise, NoiseSource, RoadNoise, TrafficNoise,
                    WindNoise, rpm_for_speed)
from .presets import (PRESETS, AcousticSources, apply_acoustics, available_presets, build_preset,
                      register_preset, resolve_preset_name)
from .io import AudioSource, extract_wheel_rirs, load_audio
from .reverb import ApplyRIR, SimulatedRoom, decay_rir, pyroom_rir, schroeder_rt60

__all__ = [
    "AcousticSources", "AddNoise", "ApplyRIR", "AudioSource", "BabbleNoise", "BandPass", "CAR_MICS", "CabinNoise",
    "CarCabin", "ChoiceNoise", "ClatterNoise", "ClipBabble", "Clipping", "ColoredNoise", "Compose", "EngineNoise",
    "FactoryNoise", "FolderNoise", "MicGain", "MicModel", "MixNoise", "NoiseSource", "PRESETS", "RoadNoise",
    "SimulatedRoom", "TelephoneChannel", "TrafficNoise", "Transform", "WindNoise", "apply_acoustics", "as_rng",
    "available_presets", "build_preset", "decay_rir", "extract_wheel_rirs", "load_audio", "mulaw_decode",
    "mulaw_encode", "pyroom_rir", "register_preset", "resolve_preset_name", "rpm_for_speed", "schroeder_rt60",
]
