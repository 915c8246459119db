"""eSpeak NG backend: real synthesis, byte reproducibility, prosody, Chinese voices."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from scenavox.errors import UserError
from scenavox.voice.backends.espeak import EspeakBackend

TEXT = "Take me to the nearest gas station, please."
BASE = {"rate": 1.0, "pitch_semitones": 0.0, "pause_ms": 0}


def voice(**options):
    return {"id": "t", "backend": "espeak", "model": "espeak-ng", "options": {"espeak_voice": "en-us", **options}}


@pytest.fixture(scope="module")
def es():
    return EspeakBackend()


def sha(x):
    return hashlib.sha256(np.asarray(x).tobytes()).hexdigest()


@pytest.mark.parametrize("name,variant", [("en-us", None), ("en-gb-x-rp", "m3"), ("en-gb-scotland", "f2"),
                                          ("en-029", "klatt3"), ("en-us-nyc", "Andy")])
def test_english_accents_speak(es, speechlike, name, variant):
    x, sr = es.synthesize(TEXT, voice(espeak_voice=name, variant=variant), BASE, seed=1)
    assert sr == 22050 and x.dtype == np.float32
    dur = len(x) / sr
    assert 1.5 < dur < 5.0, dur  # 8 words at ~175 wpm
    assert speechlike(x, sr)


@pytest.mark.parametrize("name,text", [("cmn", "帮我叫车去白云机场。"), ("yue", "帮我叫车去尖沙咀。")])
def test_chinese_voices_speak(es, speechlike, name, text):
    x, sr = es.synthesize(text, voice(espeak_voice=name), BASE, seed=1)
    assert 1.0 < len(x) / sr < 5.0
    assert speechlike(x, sr)


def test_same_seed_same_bytes_in_any_order(es):
    v = voice(espeak_voice="en-gb-scotland", variant="f3")  # f3 adds breath noise: uses the seed
    a, _ = es.synthesize(TEXT, v, BASE, seed=3)
    es.synthesize("Something else first, in another voice.", voice(variant="m7"), {**BASE, "rate": 1.4}, seed=9)
    b, _ = es.synthesize(TEXT, v, BASE, seed=3)
    c, _ = es.synthesize(TEXT, v, BASE, seed=4)
    assert sha(a) == sha(b)
    assert sha(a) != sha(c)  # breath noise follows the seed


def test_same_bytes_in_a_fresh_process(es, tmp_path):
    v = voice(espeak_voice="en-029", variant="m3")
    here, _ = es.synthesize(TEXT, v, BASE, seed=5)
    code = (
        "import sys, hashlib, numpy as np\n"
        "from scenavox.voice.backends.espeak import EspeakBackend\n"
        f"x, _ = EspeakBackend().synthesize({TEXT!r}, {v!r}, {BASE!r}, seed=5)\n"
        "print(hashlib.sha256(np.asarray(x).tobytes()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == sha(here)


def test_rate_pitch_pause_are_respected(es, pitch):
    v = voice(variant="m3")
    base, sr = es.synthesize(TEXT, v, BASE, seed=1)
    fast, _ = es.synthesize(TEXT, v, {**BASE, "rate": 1.5}, seed=1)
    assert len(fast) < 0.8 * len(base)
    up, _ = es.synthesize(TEXT, v, {**BASE, "pitch_semitones": 4.0}, seed=1)
    down, _ = es.synthesize(TEXT, v, {**BASE, "pitch_semitones": -4.0}, seed=1)
    assert pitch(up, sr) > pitch(base, sr) * 1.08 > pitch(down, sr) * 1.16
    paused, _ = es.synthesize("Call Sarah, then call Mom. Now.", v, {**BASE, "pause_ms": 500}, seed=1)
    plain, _ = es.synthesize("Call Sarah, then call Mom. Now.", v, BASE, seed=1)
    assert len(paused) - len(plain) > 0.6 * sr  # two marks inside the text, 0.5 s each (minus the natural pause)
    native = es.native_prosody(v, {**BASE, "rate": 1.5, "pitch_semitones": 4.0})
    assert native["rate_wpm"] == round(175 * 1.5) and native["pitch"] > 50 and native["espeak_voice"] == "en-us+m3"


def test_unknown_voice_is_a_clear_error(es):
    with pytest.raises(UserError, match="no voice 'en-gb'"):
        es.synthesize(TEXT, voice(espeak_voice="en-gb"), BASE, seed=1)
