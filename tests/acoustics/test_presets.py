import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scenavox.acoustics import presets
from scenavox.acoustics import AcousticSources, apply_acoustics, available_presets, build_preset
from scenavox.scenario import Noise

from .signals import SR, tone

@pytest.fixture(autouse=True, scope="module")
def small_room_banks():
    """Keep the simulated-room banks small in tests (the bank build is a per-process one-off cost)."""
    old = presets.ROOM_BANK_SIZE
    presets.ROOM_BANK_SIZE = 2
    presets._CACHE.clear()
    yield
    presets.ROOM_BANK_SIZE = old
    presets._CACHE.clear()


ENVIRONMENTS = ["quiet_indoor", "vehicle_cabin", "outdoor_street", "cafe", "stall", "factory"]


def test_every_environment_has_a_preset():
    assert set(ENVIRONMENTS) <= set(available_presets())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_preset_from_environment_snr_from_scenario(env):
    x = tone(0.5)
    noise = Noise(environment=env, min_snr_db=3, max_snr_db=7)
    y, p = apply_acoustics(x, SR, noise, None, 11)
    assert y.dtype == np.float32 and y.shape == x.shape and np.all(np.isfinite(y))
    assert np.max(np.abs(y)) <= 0.99 + 1e-6
    assert p["acoustics_preset"] == env and p["acoustics_seed"] == 11
    assert 3 <= p["noise.snr_db"] <= 7 and abs(p["noise.measured_snr_db"] - p["noise.snr_db"]) < 0.5
    json.dumps(p)  # JSON-serializable, ready for the row
    y2, p2 = apply_acoustics(x, SR, noise, None, 11)
    assert y.tobytes() == y2.tobytes() and p == p2  # same seed, byte-identical
    y3, _ = apply_acoustics(x, SR, noise, None, 12)
    assert y.tobytes() != y3.tobytes()


def test_vehicle_cabin_records_the_drive():
    _, p = apply_acoustics(tone(0.5), SR, Noise(environment="vehicle_cabin", min_snr_db=0, max_snr_db=15), None, 1)
    for key in ("snr_db", "measured_snr_db", "noise.snr_db", "noise.measured_snr_db", "noise.speed_kmh",
                "noise.rpm", "noise.gear", "noise.firing_hz", "cabin.rt60_s", "cabin.rt60_target_s", "cabin.room_m",
                "mic_response.model", "mic_response.low_hz", "mic_gain.gain_db"):
        assert key in p, key
    assert abs(p["cabin.rt60_s"] - p["cabin.rt60_target_s"]) <= 0.15 * p["cabin.rt60_target_s"]


def test_preset_name_overrides_environment():
    _, p = apply_acoustics(tone(0.5), SR, Noise(environment="cafe"), "telephone", 0)
    assert p["acoustics_preset"] == "telephone" and p["telephone.applied"]


def test_no_noise_config_uses_defaults_and_generator_is_accepted():
    y, p = apply_acoustics(tone(0.5), SR, None, None, np.random.default_rng(0))
    assert p["acoustics_preset"] == "quiet_indoor" and "acoustics_seed" not in p
    assert 20 <= p["noise.snr_db"] <= 30


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown acoustics preset 'submarine'.*vehicle_cabin"):
        apply_acoustics(tone(0.1), SR, None, "submarine", 0)


def test_user_noise_and_rir_folders(noise_dir, rir_dir):
    src = AcousticSources(noise_dirs=[noise_dir], rir_dirs=[rir_dir], user_noise_weight=1.0)
    for env, rir_key in (("vehicle_cabin", "cabin.rir"), ("cafe", "rir.rir")):
        _, p = apply_acoustics(tone(0.5), SR, Noise(environment=env), None, 2, sources=src)
        assert p[rir_key] in {"room0.wav", "room1.wav"}
        assert p["noise.noise_file"] in {"hum.wav", "sub/hiss.flac", "other_rate.wav"}
        assert abs(p["measured_snr_db"] - p["snr_db"]) < 0.5


def test_babble_from_corpus_clips():
    clips = [tone(0.4, f=f) for f in (150, 210, 260)]
    src = AcousticSources(babble_clips=clips, babble_sample_rate=SR)
    _, p = apply_acoustics(tone(0.5), SR, Noise(environment="cafe"), None, 3, sources=src)
    assert p["noise.babble.babble_source"] == "clips"


def test_compose_is_cached_per_config():
    n = Noise(environment="stall", min_snr_db=1, max_snr_db=2)
    assert build_preset(None, n) is build_preset("stall", n)


def test_same_seed_same_bytes_in_a_fresh_process():
    """Banks, noise beds and caches are rebuilt from fixed seeds: another process gives the same bytes."""
    code = (
        "import hashlib, json, numpy as np\n"
        "from scenavox.acoustics import presets, apply_acoustics\n"
        "from scenavox.scenario import Noise\n"
        "presets.ROOM_BANK_SIZE = 2\n"
        "t = np.arange(8000) / 16000\n"
        "x = (0.3 * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)\n"
        "for env in ('vehicle_cabin', 'stall'):\n"
        "    y, p = apply_acoustics(x, 16000, Noise(environment=env, min_snr_db=0, max_snr_db=9), None, 5)\n"
        "    print(hashlib.sha256(y.tobytes() + json.dumps(p, sort_keys=True).encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env).stdout.split()
    here = []
    for name in ("vehicle_cabin", "stall"):
        y, p = apply_acoustics(tone(0.5), SR, Noise(environment=name, min_snr_db=0, max_snr_db=9), None, 5)
        here.append(hashlib.sha256(y.tobytes() + json.dumps(p, sort_keys=True).encode()).hexdigest())
    assert out == here
