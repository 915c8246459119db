"""hibari backend: real synthesis of car replies, reproducibility, rate and pauses, offline-only voices."""

import hashlib

import numpy as np
import pytest

from scenavox.audio import resample
from scenavox.errors import UserError
from scenavox.qa.asr import FasterWhisperTranscriber
from scenavox.qa.metrics import wer
from scenavox.voice.backends.hibari import HibariBackend
from scenavox.voice.registry import load_registry
from scenavox.voice.replies import ASSISTANT_PROSODY

pytestmark = pytest.mark.slow  # ~30 ms per reply; Whisper base loads in a few seconds

VOICE = {"id": "hibari-heart", "backend": "hibari", "model": "bundled:heart", "language": "en", "options": {}}
BASE = {**ASSISTANT_PROSODY, "pause_ms": 0}
TEXT = "Starting route guidance to Union Square."


@pytest.fixture(scope="module")
def hb():
    return HibariBackend(threads=1)


def sha(x):
    return hashlib.sha256(np.asarray(x).tobytes()).hexdigest()


def test_speaks_a_car_reply_that_whisper_hears(hb, speechlike):
    asr = FasterWhisperTranscriber(threads=1)
    for text in (TEXT, "Calling Doctor Patel now."):
        x, sr = hb.synthesize(text, VOICE, BASE, seed=1)
        assert sr == 24000 and x.dtype == np.float32 and 1.0 < len(x) / sr < 5.0
        assert speechlike(x, sr) and 0.1 < np.abs(x).max() < 1.0  # audible, not clipped
        heard = asr.transcribe(resample(x, sr, 16000), "en", accept=lambda h, t=text: wer(t, h) == 0)
        assert wer(text, heard) == 0, heard


def test_same_seed_same_samples_in_a_fresh_backend(hb):
    a, _ = hb.synthesize(TEXT, VOICE, BASE, seed=3)
    hb.synthesize("Something else in between.", VOICE, BASE, seed=9)
    b, _ = HibariBackend(threads=1).synthesize(TEXT, VOICE, BASE, seed=3)
    assert sha(a) == sha(b)
    c, _ = hb.synthesize(TEXT, VOICE, BASE, seed=4)  # the vocoder's noise follows the seed
    assert len(c) == len(a) and sha(c) != sha(a)


def test_rate_and_pauses_are_honoured_and_recorded(hb):
    two = "Okay. Heading to Terminal 2."
    a, sr = hb.synthesize(two, VOICE, BASE, seed=1)
    fast, _ = hb.synthesize(two, VOICE, {**BASE, "rate": 1.5}, seed=1)
    slow, _ = hb.synthesize(two, VOICE, {**BASE, "rate": 0.8}, seed=1)
    assert len(fast) < 0.8 * len(a) < 0.8 * len(slow)
    paused, _ = hb.synthesize(two, VOICE, {**BASE, "pause_ms": 400}, seed=1)
    assert len(paused) - len(a) == int(0.4 * sr)  # two sentences: one gap
    assert hb.native_prosody(VOICE, {**BASE, "rate": 3.0, "pause_ms": 80}) == {"speed": 2.0, "sentence_silence_ms": 80}
    assert {"rate", "pause_ms"} == HibariBackend.native_controls


def test_only_the_bundled_voice_is_accepted(tmp_path, monkeypatch, repo_cwd):
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path / "cache"))  # where hibari would download to
    for model in ("emma", "bundled:emma", "heart"):
        with pytest.raises(UserError, match="only 'bundled:heart' ships in the hibari-tts wheel"):
            HibariBackend().synthesize(TEXT, {**VOICE, "model": model}, BASE, seed=0)
    p = tmp_path / "reg.yaml"
    for entry, message in (("model: fenrir, language: en", "hibari model 'fenrir' is not usable offline"),
                           ('model: "bundled:heart", language: zh', "English only"),
                           ('model: "bundled:heart", language: en, options: {voice: emma}', "unknown hibari option")):
        p.write_text(f"voices:\n  - {{id: h, backend: hibari, {entry}, accent: en-US, licence: Apache-2.0}}\n")
        with pytest.raises(UserError, match=message):
            load_registry(str(p))
    assert not (tmp_path / "cache").exists()  # nothing was fetched
    heart = next(v for v in load_registry("default") if v.backend == "hibari")
    assert (heart.id, heart.model, heart.role, heart.licence) == ("hibari-heart", "bundled:heart", "assistant",
                                                                   "Apache-2.0")
