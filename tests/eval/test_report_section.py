"""The probe's section in report/index.html: inserted once, replaced (not repeated) by a later eval."""

from __future__ import annotations

from scenavox.qa.report import EVAL_END, EVAL_START, insert_eval_section
from scenavox.store import Store


def _results(err: float) -> dict:
    v = {"description": "scenario corpus (full build)", "n": 10, "accuracy": 1 - err, "error": err,
         "error_ci95": [0.0, 0.3], "error_by_intent": {"call_contact": {"n": 10, "error": err}},
         "error_by_accent": {"en-US": {"n": 10, "error": err}}}
    return {"features": "f", "head": "h", "train_rows": 40, "test_rows": 10, "held_out_voices": ["v1"],
            "held_out_from": "scenario voices.held_out", "variants": {"d": v}, "real": {},
            "relative_error_reduction_d_over_b": {"value": 0.5, "low": 0.1, "high": 0.8}}


def test_eval_section_is_inserted_then_replaced(tmp_path):
    store = Store(tmp_path)
    insert_eval_section(store, _results(0.1))  # no report yet: nothing to do, no error
    assert not (store.report_dir / "index.html").exists()
    store.report_dir.mkdir(parents=True)
    page = store.report_dir / "index.html"
    page.write_text("<!doctype html><html><body><h1>QA</h1>\n</body></html>")
    insert_eval_section(store, _results(0.1))
    insert_eval_section(store, _results(0.25))
    html = page.read_text()
    assert html.count(EVAL_START) == 1 and html.count(EVAL_END) == 1
    assert "<td>0.25</td>" in html and "<td>0.1</td>" not in html.split(EVAL_START)[1]
    assert "Relative error reduction of (d) over (b): 0.5" in html and html.rstrip().endswith("</body></html>")


def test_probe_never_holds_out_the_generic_speaker_and_groups_piper_accents():
    from scenavox.eval.run import GENERIC_SPEAKER, held_out_voices, speaker_of
    from scenavox.scenario import parse_scenario

    sc = parse_scenario("name: x\ndescription: d\nlanguages: [{language: en, weight: 1, accents: [{accent: en-US, weight: 1}]}]\n"
                        "intents: [{name: a}, {name: b}]\n")
    rows = []
    for v, backend, model, accent in [("piper-joe-en-us", "piper", "bundled:joe", "en-US"),
                                      ("piper-joe-en-gb-rp", "piper", "bundled:joe", "en-GB"),
                                      ("kokoro-af-heart", "kokoro", "k", "en-US"), ("kokoro-bf-emma", "kokoro", "k", "en-GB"),
                                      ("espeak-a", "espeak", "e", "en-US"), ("espeak-b", "espeak", "e", "en-GB")]:
        for i in range(10):
            r = {"voice_id": v, "tts_backend": backend, "tts_model": model, "accent": accent, "source": "synthetic"}
            r["speaker"] = speaker_of(r)
            rows.append(r)
    assert speaker_of(rows[0]) == speaker_of(rows[10]) == GENERIC_SPEAKER
    for seed in range(20):
        held, where = held_out_voices(sc, rows, seed)
        assert held and not any(v.startswith("piper-joe") for v in held), (seed, held)


def test_one_timbre_in_two_accents_is_one_speaker():
    """A Kokoro style reading New York phonemes is the same person as that style reading American ones
    (and Piper joe in any accent is joe): holding out one of those voice ids must hold out the other."""
    import json

    from scenavox.eval.run import GENERIC_SPEAKER, speaker_of

    def row(voice_id, backend, model, options, speaker=None):
        prov = {"clip": {"voice_options": options, "speaker": speaker}}
        return {"voice_id": voice_id, "tts_backend": backend, "tts_model": model, "source": "synthetic",
                "provenance": json.dumps(prov)}

    sarah_us = row("kokoro-af-sarah", "kokoro", "kokoro-82m-v1.0-int8", {"style": "af_sarah"})
    sarah_nyc = row("kokoro-af-sarah-en-us-nyc", "kokoro", "kokoro-82m-v1.0-int8",
                    {"style": "af_sarah", "lang": "en-us-nyc"})
    heart = row("kokoro-af-heart", "kokoro", "kokoro-82m-v1.0-int8", {"style": "af_heart"})
    blend = row("kokoro-us-blend", "kokoro", "kokoro-82m-v1.0-int8", {"blend": {"af_heart": 0.45, "am_michael": 0.55}})
    assert speaker_of(sarah_us) == speaker_of(sarah_nyc)
    assert len({speaker_of(sarah_us), speaker_of(heart), speaker_of(blend)}) == 3
    joe_gb = row("piper-joe-en-gb-rp", "piper", "bundled:joe", {"espeak_voice": "en-gb-x-rp"})
    assert speaker_of(joe_gb) == GENERIC_SPEAKER
    vctk = [row(f"coqui-vctk-{i}", "coqui", "vctk", {}, speaker=f"p{i}") for i in (225, 226)]
    assert speaker_of(vctk[0]) != speaker_of(vctk[1])
