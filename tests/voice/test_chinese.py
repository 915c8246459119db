"""A Mandarin + Cantonese scenario produces audio through the whole pipeline (Kokoro Mandarin, eSpeak yue)."""

from collections import Counter

import pytest

pytest.importorskip("espeakng_loader")

from scenavox.audio import read_mono
from scenavox.api import build
from scenavox.scenario import load_scenario


def test_taxi_zh_builds_with_mandarin_and_cantonese_voices(repo_cwd, tmp_path, speechlike):
    sc = load_scenario("prompts/taxi_zh.yaml")
    # this test is about voicing Chinese; Whisper base on robotic eSpeak yue is no fair judge
    sc.qa.enabled = False
    # the fake text backend writes English around the Chinese slot value; the language check is tested in tests/text
    sc.text.check_language = False
    res = build(sc, n=6, out=tmp_path / "zh", workers=0, text_backend="fake", progress=False)
    assert len(res.clips) == 6
    langs = Counter(c.language for c in res.clips)
    assert set(langs) == {"zh", "yue"}
    for c in res.clips:
        if c.language == "zh":  # Mandarin: Kokoro v1.0's Mandarin voices through misaki's G2P
            assert c.provenance["tts_backend"] == "kokoro" and c.provenance["native_prosody"]["g2p"] == "misaki-zh"
        else:
            assert c.provenance["tts_backend"] == "espeak"
            assert c.provenance["native_prosody"]["espeak_voice"].split("+")[0] == "yue"
        assert set(c.prosody) >= {"rate", "pitch_semitones", "pause_ms", "level_dbfs"}
        x, sr = read_mono(res.out / c.clean_audio_path if c.clean_audio_path else res.out / c.audio_path)
        assert sr == 16000 and speechlike(x, sr)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in c.text)  # the Chinese slot value is in the text
