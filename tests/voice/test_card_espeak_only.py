"""The dataset card names the accents that only eSpeak NG (formant synthesis) speaks."""

from scenavox.publish.card import espeak_only_accents


def test_accents_spoken_by_espeak_only_are_named():
    voices = [{"accent": "en-US", "backend": "kokoro"}, {"accent": "en-US", "backend": "espeak"},
              {"accent": "en-GB-scotland", "backend": "espeak"}, {"accent": "yue-HK", "backend": "espeak"},
              {"accent": "en-029", "backend": "kokoro"}, {"accent": "", "backend": "espeak"}]
    assert espeak_only_accents(voices) == ["en-GB-scotland", "yue-HK"]
    assert espeak_only_accents([{"accent": "en-US", "backend": "piper"}]) == []


def test_card_says_which_accents_are_espeak_only(repo_cwd):
    from scenavox.publish.card import build_card
    from scenavox.scenario import load_scenario

    sc = load_scenario("prompts/car.yaml")
    rows = [{"id": f"r{i}", "text": "Call Mom.", "voice_id": vid, "tts_backend": backend, "tts_model": "m",
             "accent": accent, "gender": "male", "voice_licence": "GPL-3.0-or-later", "duration_s": 1.0}
            for i, (vid, backend, accent) in enumerate([("espeak-en-gb-scotland-m3", "espeak", "en-GB-scotland"),
                                                         ("kokoro-af-heart", "kokoro", "en-US"),
                                                         ("espeak-en-us-nyc-pablo", "espeak", "en-US-nyc"),
                                                         ("kokoro-nyc", "kokoro", "en-US-nyc")])]
    card = str(build_card(sc, {"train": rows}))
    line = next(x for x in card.splitlines() if x.startswith("Accents spoken only by eSpeak NG"))
    assert "en-GB-scotland" in line and "en-US-nyc" not in line and "en-US," not in line
