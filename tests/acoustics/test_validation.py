import numpy as np
import pytest

from scenavox.acoustics import (AcousticSources, AddNoise, ApplyRIR, BabbleNoise, BandPass, CabinNoise, Clipping,
                                ColoredNoise, Compose, FolderNoise, MicGain, SimulatedRoom, TelephoneChannel)

from .signals import SR


@pytest.mark.parametrize("make,message", [
    (lambda: AddNoise(ColoredNoise(), 10, 5), r"AddNoise: min_snr_db \(10.0\) must be <= max_snr_db \(5.0\)"),
    (lambda: AddNoise(ColoredNoise(), float("nan"), 5), "must be finite"),
    (lambda: AddNoise(ColoredNoise(), 0, 5, p=1.5), r"p \(probability of applying\) must be in \[0, 1\]"),
    (lambda: AddNoise("pink", 0, 5), "source must be a NoiseSource"),
    (lambda: CabinNoise(120, 60), r"CabinNoise: min_speed_kmh \(120.0\) must be <= max_speed_kmh"),
    (lambda: CabinNoise(0, 500), r"max_speed_kmh \(500.0\) must be <= 300"),
    (lambda: BabbleNoise(0, 3), r"min_talkers \(0.0\) must be >= 1"),
    (lambda: SimulatedRoom(0.9, 0.3), r"SimulatedRoom: min_rt60_s \(0.9\) must be <= max_rt60_s \(0.3\)"),
    (lambda: SimulatedRoom(0.1, 0.3, backend="gpu"), "backend must be one of"),
    (lambda: SimulatedRoom(0.1, 0.3, (1, 1, 1), (2, 2, 2), wall_margin_m=0.6), "wall_margin_m"),
    (lambda: BandPass(3000, 4000, 1000, 2000), "max_low_hz"),
    (lambda: MicGain(6, -6), r"min_gain_db \(6.0\) must be <= max_gain_db"),
    (lambda: Clipping(0, 80), r"max_clipped_percent \(80.0\) must be <= 50"),
    (lambda: TelephoneChannel(300, 5000), "must be below half the codec rate"),
    (lambda: ColoredNoise("purple"), "color must be one of"),
    (lambda: AcousticSources(user_noise_weight=2), "user_noise_weight"),
])
def test_bad_configuration_is_a_clear_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        FolderNoise(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no .wav/.flac impulse response files found"):
        ApplyRIR(tmp_path / "empty")


def test_stereo_input_is_rejected_with_the_fix():
    with pytest.raises(ValueError, match="mono"):
        MicGain()(np.zeros((2, 100), np.float32), SR, np.random.default_rng(0))


def test_global_rng_is_never_used():
    with pytest.raises(ValueError, match="seed or numpy.random.Generator is required"):
        MicGain()(np.zeros(100, np.float32), SR, None)


def test_compose_merges_parameters_with_unique_names():
    c = Compose([MicGain(1, 1), MicGain(2, 2), AddNoise(ColoredNoise(), 5, 5)])
    _, p = c(np.ones(1000, np.float32) * 0.1, SR, np.random.default_rng(0))
    assert p["mic_gain.gain_db"] == 1 and p["mic_gain_2.gain_db"] == 2 and p["noise.snr_db"] == 5
