import json

import numpy as np
import pytest

from scenavox.acoustics import (AddNoise, BabbleNoise, CabinNoise, ClatterNoise, ClipBabble, ColoredNoise,
                                EngineNoise, FactoryNoise, FolderNoise, MixNoise, RoadNoise, TrafficNoise,
                                WindNoise, rpm_for_speed)
from scenavox.acoustics.core import power

from .signals import SR, tone

SOURCES = [ColoredNoise("white"), ColoredNoise("pink"), ColoredNoise("brown"), EngineNoise(), RoadNoise(),
           WindNoise(), CabinNoise(0, 140), TrafficNoise(), BabbleNoise(), ClatterNoise(), FactoryNoise(),
           MixNoise([(BabbleNoise(), 0.0), (ClatterNoise(), -6.0)])]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 12.5, 40.0])
def test_measured_snr_within_half_db_of_target(source, snr_db, clip):
    y, p = AddNoise(source, snr_db, snr_db)(clip, SR, np.random.default_rng(3))
    assert p["applied"] and p["snr_db"] == snr_db
    assert abs(p["measured_snr_db"] - snr_db) < 0.5
    # independently recomputed from the output
    measured = 10 * np.log10(power(clip) / power(y - clip))
    assert abs(measured - snr_db) < 0.5
    assert y.dtype == np.float32 and y.shape == clip.shape and np.all(np.isfinite(y))
    json.dumps(p)


def test_snr_is_drawn_from_the_range_and_recorded(clip):
    t = AddNoise(ColoredNoise("pink"), 0.0, 15.0)
    snrs = [t(clip, SR, np.random.default_rng(s))[1]["snr_db"] for s in range(30)]
    assert min(snrs) >= 0.0 and max(snrs) <= 15.0 and np.std(snrs) > 2.0


def test_cabin_noise_parameters_follow_speed():
    n = SR // 2
    _, slow = CabinNoise(30, 30).generate(n, SR, np.random.default_rng(0))
    _, fast = CabinNoise(130, 130).generate(n, SR, np.random.default_rng(0))
    for p in (slow, fast):
        assert {"speed_kmh", "rpm", "gear", "firing_hz", "engine_level_db", "road_level_db",
                "wind_level_db"} <= set(p)
    assert fast["gear"] > slow["gear"]
    assert fast["wind_level_db"] > slow["wind_level_db"] + 20  # wind grows fast with speed
    assert abs(fast["firing_hz"] - fast["rpm"] / 30.0) < 1e-6  # 4 cylinders, four-stroke


def test_rpm_tracks_speed_in_a_gear():
    rng = np.random.default_rng(0)
    for speed in (10, 50, 100, 140):
        rpm, gear = rpm_for_speed(speed, rng)
        assert 1000 < rpm < 4500 and 1 <= gear <= 6
    assert rpm_for_speed(0.0, rng)[1] == 0  # idle


def test_engine_spectrum_peaks_at_firing_harmonics():
    y, p = EngineNoise(min_rpm=2400, max_rpm=2400).generate(SR * 2, SR, np.random.default_rng(0))
    assert p["firing_hz"] == pytest.approx(80.0)
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    freqs = np.fft.rfftfreq(y.size, 1 / SR)
    band = (freqs > 20) & (freqs < 1000)
    peak = freqs[band][np.argmax(spec[band])]
    assert min(abs(peak - k * 40.0) for k in range(1, 25)) < 3.0  # on the half-order grid of 80 Hz


def test_silent_input_is_left_alone():
    x = np.zeros(SR, np.float32)
    y, p = AddNoise(ColoredNoise(), 5, 5)(x, SR, np.random.default_rng(0))
    assert np.array_equal(x, y) and p["skipped"] == "silent input"


def test_folder_noise_uses_user_files(noise_dir, clip):
    src = FolderNoise(noise_dir)
    assert len(src.source) == 3  # wav + flac in a subfolder, the .txt ignored
    seen = set()
    for s in range(20):
        y, p = AddNoise(src, 10, 10)(clip, SR, np.random.default_rng(s))
        seen.add(p["noise_file"])
        assert abs(p["measured_snr_db"] - 10) < 0.5
        assert 0 <= p["noise_offset_s"] < 1.0
    assert seen == {"hum.wav", "sub/hiss.flac", "other_rate.wav"}


def test_clip_babble_from_other_clips(clip):
    clips = [tone(0.5, f=f) for f in (120, 180, 240, 300)]
    t = AddNoise(ClipBabble(clips, SR, min_talkers=2, max_talkers=3), 5, 5)
    y, p = t(clip, SR, np.random.default_rng(0))
    assert p["babble_source"] == "clips" and 2 <= p["talkers"] <= 3 and len(p["babble_clips"]) == p["talkers"]
    assert abs(p["measured_snr_db"] - 5) < 0.5
    lazy = ClipBabble(lambda: clips, SR)  # the pipeline can hand clips in lazily
    assert lazy.generate(100, SR, np.random.default_rng(0))[0].shape == (100,)


def test_probability_zero_never_applies(clip):
    y, p = AddNoise(ColoredNoise(), 0, 0, p=0.0)(clip, SR, np.random.default_rng(0))
    assert p == {"applied": False} and np.array_equal(y, clip)


def test_car_cabin_snr_is_measured_after_the_microphone(clip):
    from scenavox.acoustics import CarCabin

    t = CarCabin(2.0, 2.0, backend="decay", bank_size=2)
    y, p = t(clip, SR, np.random.default_rng(0))
    assert p["noise.snr_db"] == 2.0 and abs(p["noise.measured_snr_db"] - 2.0) < 0.5
    assert p["mic_response.model"] in {"roof_console", "mirror", "a_pillar", "phone_holder"}
    assert y.shape == clip.shape and y.dtype == np.float32
