"""Tiny generated signals for the acoustics tests (no fixtures on disk: files are written to tmp_path)."""

import numpy as np
import pytest
import soundfile as sf

from .signals import SR, tone


@pytest.fixture
def clip() -> np.ndarray:
    return tone()


@pytest.fixture
def noise_dir(tmp_path):
    d = tmp_path / "noise"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    sf.write(d / "hum.wav", 0.1 * np.sin(2 * np.pi * 50 * np.arange(SR) / SR), SR)
    sf.write(d / "sub" / "hiss.flac", 0.05 * rng.standard_normal(SR // 2), SR)
    sf.write(d / "other_rate.wav", 0.05 * rng.standard_normal(8000), 8000)  # resampled on load
    (d / "notes.txt").write_text("not audio")
    return d


@pytest.fixture
def rir_dir(tmp_path):
    from scenavox.acoustics import decay_rir

    d = tmp_path / "rirs"
    d.mkdir()
    for i, rt in enumerate((0.2, 0.5)):
        h = decay_rir(rt, SR, np.random.default_rng(i))
        sf.write(d / f"room{i}.wav", np.concatenate([np.zeros(40, np.float32), h]), SR, subtype="FLOAT")
    return d
