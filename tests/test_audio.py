"""scenavox.audio: every stage reads files and bytes the same way (mono float32, at a rate)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from scenavox.audio import encode, probe, read_mono, resample


def _tone(sr: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_stereo_file_and_bytes_read_as_the_same_mono(tmp_path):
    left, right = _tone(22050), _tone(22050, freq=220.0)
    p = tmp_path / "st.wav"
    sf.write(p, np.stack([left, right], axis=1), 22050, subtype="FLOAT")
    x, sr = read_mono(p)
    assert sr == 22050 and x.dtype == np.float32 and x.ndim == 1
    np.testing.assert_allclose(x, (left + right) / 2, atol=1e-6)
    y, _ = read_mono(p.read_bytes())
    np.testing.assert_array_equal(x, y)
    assert probe(p) == (len(left), 22050, 2) == probe(p.read_bytes())


def test_read_at_a_rate_resamples_and_keeps_the_duration(tmp_path):
    p = tmp_path / "a.flac"
    p.write_bytes(encode(_tone(22050), 22050, "flac"))
    x, sr = read_mono(p, 16000)
    assert sr == 16000 and len(x) == 8000
    np.testing.assert_array_equal(x, resample(read_mono(p)[0], 22050, 16000))
    same, _ = read_mono(p, 22050)
    assert len(same) == round(22050 * 0.5)


def test_resample_at_the_same_rate_is_float32_unchanged():
    x = _tone(16000).astype(np.float64)
    y = resample(x, 16000, 16000)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x.astype(np.float32))


def test_encode_clips_beyond_full_scale():
    data = encode(np.array([2.0, -2.0, 0.0], np.float32), 16000, "wav")
    x, _ = read_mono(data)
    assert x.max() == pytest.approx(1.0, abs=1e-4) and x.min() == pytest.approx(-1.0, abs=1e-4)
