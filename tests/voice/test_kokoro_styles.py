"""Kokoro style arithmetic without the model: blends, prosody swaps, accent-phoneme languages."""

import numpy as np
import pytest

from scenavox.errors import UserError
from scenavox.voice.backends.kokoro import KokoroBackend, check_options


def test_prosody_blend_takes_the_predictor_half_from_other_voices():
    ko = KokoroBackend()
    heart, michael = ko.style({"style": "af_heart"}), ko.style({"style": "am_michael"})
    swap = ko.style({"style": "af_heart", "prosody_blend": {"am_michael": 1}})
    assert np.array_equal(swap[..., :128], heart[..., :128])  # the decoder's half: timbre
    assert np.array_equal(swap[..., 128:], michael[..., 128:])  # the duration / pitch predictor's half
    assert np.array_equal(heart, KokoroBackend().style({"style": "af_heart"}))  # the cached style is untouched
    rec = ko.native_prosody({"options": {"style": "af_heart", "prosody_blend": {"am_michael": 2, "bm_lewis": 2}}}, {})
    assert rec["prosody_blend"] == {"am_michael": 0.5, "bm_lewis": 0.5}
    assert "prosody_blend" not in ko.native_prosody({"options": {"style": "af_heart"}}, {})


def test_accent_phoneme_languages_are_accepted_and_others_are_not():
    for lang in ("en-us", "en-gb", "en-us-nyc", "en-029", "cmn"):
        check_options({"style": "af_heart", "lang": lang})
    with pytest.raises(UserError, match="lang 'en-sc'"):
        check_options({"style": "af_heart", "lang": "en-sc"})
    with pytest.raises(UserError, match="unknown style"):
        check_options({"style": "af_heart", "prosody_blend": {"am_nobody": 1}})


def test_a_prosody_swap_must_say_blended(tmp_path):
    from scenavox.voice.registry import load_registry

    p = tmp_path / "r.yaml"
    p.write_text("voices:\n  - {id: k, backend: kokoro, model: m, language: en, accent: en-US, licence: Apache-2.0, "
                 "options: {style: af_heart, prosody_blend: {am_michael: 1}}}\n")
    with pytest.raises(UserError, match="origin: blended"):
        load_registry(str(p))
