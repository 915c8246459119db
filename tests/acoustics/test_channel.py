import numpy as np
import pytest

from scenavox.acoustics import BandPass, Clipping, MicGain, TelephoneChannel, mulaw_decode, mulaw_encode

from .signals import SR


def band_db(y, lo, hi, sr=SR):
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / sr)
    sel = (f >= lo) & (f < hi)
    return 10 * np.log10(np.mean(spec[sel]) + 1e-30)


@pytest.mark.parametrize("sr", [16000, 22050])
def test_telephone_band_limits(sr):
    x = (0.1 * np.random.default_rng(0).standard_normal(sr)).astype(np.float32)  # white: flat in
    y, p = TelephoneChannel()(x, sr, np.random.default_rng(0))
    assert y.shape == x.shape
    inband = band_db(y, 500, 3000, sr)
    assert band_db(y, 20, 150, sr) < inband - 30  # below 300 Hz
    assert band_db(y, 4200, sr / 2, sr) < inband - 40  # above the 8 kHz codec's band
    assert band_db(y, 3800, 4000, sr) < inband - 20  # skirt above 3.4 kHz
    assert p["codec_sample_rate_hz"] == 8000 and p["band_hz"] == [300.0, 3400.0] and p["codec"] == "mu-law-8bit"


def test_mulaw_round_trip_is_8_bit_and_close():
    x = np.linspace(-1, 1, 1001).astype(np.float32)
    codes = mulaw_encode(x)
    assert codes.min() >= 0 and codes.max() <= 255
    err = np.abs(mulaw_decode(codes) - x)
    assert np.max(err) < 0.03  # coarse steps near full scale
    small = np.abs(x) < 0.01
    assert np.max(err[small]) < 0.0005  # fine steps for quiet samples: the point of companding


def test_mic_gain_is_exact(clip):
    y, p = MicGain(6.0, 6.0)(clip, SR, np.random.default_rng(0))
    assert p["gain_db"] == 6.0
    assert np.allclose(y, clip * 10 ** (6 / 20), rtol=1e-6)


def test_clipping_hits_the_requested_share(clip):
    y, p = Clipping(1.0, 1.0)(clip, SR, np.random.default_rng(0))
    assert p["clipped_percent"] == pytest.approx(1.0, abs=0.2)
    assert np.max(np.abs(y)) < np.max(np.abs(clip)) and p["clip_threshold_db"] < 0


def test_band_pass_records_corners(clip):
    y, p = BandPass(100, 100, 3000, 3000)(clip, SR, np.random.default_rng(0))
    assert p == {"applied": True, "low_hz": 100, "high_hz": 3000}
