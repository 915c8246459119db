"""QA checks by registry: a check defined here, registered with one line, measures real clips and
shows up in the results, the gate, the dataset columns and the report; the built-in checks keep
their reasons, columns and thresholds."""

import json

import pytest

from scenavox.executors import LocalExecutor
from scenavox.qa import QACheck, QAStage, format_qa_summary, qa_columns, register, run_qa, thresholds_for, unregister
from scenavox.qa.stage import QAResult, judge
from scenavox.store import Store

from .conftest import add_clip, scenario, speak


class ClipLength(QACheck):
    name = "clip_length"
    label = "clip length"
    thresholds = {"max_clip_s": {"low": 30.0, "medium": 20.0, "high": 0.5}}
    fields = ("clip_s",)
    columns = {"qa_clip_s": "clip_s"}

    def measure(self, s):
        return {"clip_s": round(len(s.audio) / s.sr, 3)}

    def gate(self, r, t):
        return [f"clip {r.clip_s:.2f}s > {t.max_clip_s:g}s"] if r.clip_s > t.max_clip_s else []

    def report(self, results, summary):
        return [("longest clip (s)", max(r.clip_s for r in results))]


class Parrot:
    """A transcriber that hears one fixed sentence: these tests are about the checks, not the recognizer."""

    name = "parrot"

    def transcribe(self, audio_16k, language):
        return "Call Sarah now"


@pytest.fixture
def clip_length():
    register(ClipLength)  # the one registry line a new check needs
    yield ClipLength
    unregister("clip_length")


@pytest.fixture
def corpus(tmp_path, piper):
    store = Store(tmp_path / "corpus")
    clip, triple = add_clip(store, "Call Sarah now", speak(piper, "Call Sarah now"), "call_contact",
                            {"contact": "Sarah"})
    return store, [clip], {triple.id: triple}


def _qa(store, clips, triples, cost, **kw):
    stage = QAStage(thresholds_for(scenario(cost)), transcriber=Parrot(), mos=False, threads=1)
    return run_qa(store, scenario(cost), clips, triples, executor=LocalExecutor(), stage=stage, extras=False, **kw)


def test_a_check_registered_from_a_test_module_measures_gates_fills_its_column_and_reports(clip_length, corpus):
    store, clips, triples = corpus
    results, summary = _qa(store, clips, triples, "high")
    r = results[0]
    assert 0.5 < r.clip_s < 3.0 and r.clip_s == pytest.approx(clips[0].duration_s, abs=1e-3)
    assert json.loads((store.root / "qa" / "clips" / f"{r.id}.json").read_text())["clip_s"] == r.clip_s
    # its gate: the preset of the failure cost (high: 0.5 s), after the built-in checks' reasons
    assert not r.passed and r.reasons[-1] == f"clip {r.clip_s:.2f}s > 0.5s"
    assert summary["thresholds"]["max_clip_s"] == 0.5 and summary["fail_reasons"].get("clip") == 1
    # its column, after the built-in ones
    cols = qa_columns(r)
    assert list(cols)[-1] == "qa_clip_s" and cols["qa_clip_s"] == r.clip_s
    assert qa_columns(None)["qa_clip_s"] is None
    # its report line, in the HTML summary and in what `scenavox qa` prints
    page = (store.root / "report" / "index.html").read_text()
    assert f"<td>longest clip (s)</td><td>{r.clip_s}</td>" in page
    assert f"longest clip (s) {r.clip_s}" in format_qa_summary(summary, results)
    # a rerun at another failure cost re-judges the stored result without measuring
    again, s2 = _qa(store, clips, triples, "low", report=False)
    assert s2["reused"] == 1 and s2["measured"] == 0 and not any(x.startswith("clip ") for x in again[0].reasons)
    assert thresholds_for(scenario("low"), max_clip_s=0.5).max_clip_s == 0.5


def test_results_stored_before_a_check_was_added_are_measured_again(corpus):
    store, clips, triples = corpus
    assert _qa(store, clips, triples, "low", report=False)[1]["measured"] == 1
    assert _qa(store, clips, triples, "low", report=False)[1]["reused"] == 1
    register(ClipLength)
    try:
        results, summary = _qa(store, clips, triples, "low", report=False)
        assert summary["measured"] == 1 and results[0].clip_s > 0.5
    finally:
        unregister("clip_length")
    # without the check, the richer stored result is reused as it is
    assert _qa(store, clips, triples, "low", report=False)[1]["reused"] == 1


def test_an_unknown_threshold_or_a_missing_preset_is_refused():
    with pytest.raises(ValueError, match="unknown QA threshold"):
        thresholds_for(scenario("low"), max_wre=0.3)

    class Half(ClipLength):
        name = "half"
        thresholds = {"max_clip_s": {"low": 30.0, "high": 0.5}}

    with pytest.raises(ValueError, match="need a value for each of low, medium, high"):
        register(Half)


# --- the built-in checks, as they were before they became classes -----------------------------
BUILTIN_COLUMNS = ["qa_passed", "qa_reasons", "qa_transcript", "qa_wer", "qa_cer", "qa_clean_wer", "qa_entity_recall",
                   "qa_clean_entity_recall", "qa_dnsmos_ovrl", "qa_dnsmos_sig", "qa_clean_dnsmos_ovrl", "qa_clean_dnsmos_sig",
                   "qa_words_per_s", "qa_snr_db"]
BUILTIN_THRESHOLDS = ["max_wer", "min_entity_recall", "min_dnsmos_sig", "min_words_per_s", "max_words_per_s",
                      "max_leading_silence_s", "max_trailing_silence_s", "max_pause_s", "min_speech_ratio",
                      "max_clipped_fraction", "min_rms_dbfs", "max_rms_dbfs", "gate_mos", "recognition_on"]


def _result(**kw):
    base = dict(id="x", triple_id="t", key="k", recognizer="r", voice_id="v", accent="en-US", language="en",
                intent="call", reference="Call Doctor Patel now", transcript="Call the cat now", wer=0.5, cer=0.3,
                slots={"contact": "Doctor Patel"}, entities={"contact": False}, entity_recall=0.0, duration_s=2,
                words=4, words_per_s=2.0, leading_silence_s=0.1, trailing_silence_s=0.1, longest_pause_s=0.2,
                speech_ratio=0.9, peak_dbfs=-3, rms_dbfs=-22, clipped_fraction=0, snr_db=12.5, target_snr_db=None,
                f0_median_hz=None, f0_spread_st=None, jitter_proxy=None, dnsmos_ovrl=2.0, dnsmos_sig=2.1,
                dnsmos_bak=2.0, dnsmos_p808=2.0, clean_transcript="Call Doctor Pat now", clean_wer=0.25,
                clean_entity_recall=0.0)
    return QAResult(**{**base, **kw})


@pytest.mark.parametrize("cost,extra,update,reasons", [
    # every gate fails, in the order the checks are registered (expected: the reasons before the refactor)
    ("high", "qa: {recognition_on: both}\n",
     dict(speech_ratio=0.3, leading_silence_s=2.0, trailing_silence_s=2.0, longest_pause_s=3.0,
          clipped_fraction=0.02, rms_dbfs=-5.0),
     ["clean wer 0.25 > 0.1", "clean entity recall 0.00 < 1 (lost: contact)", "wer 0.50 > 0.1",
      "entity recall 0.00 < 1 (lost: contact)", "dnsmos sig 2.10 < 2.8", "speech ratio 0.30 < 0.45",
      "leading silence 2.00s > 0.75s", "trailing silence 2.00s > 0.75s", "pause 3.00s > 1s",
      "clipping 0.0200 > 0.0005", "level -5.0 dBFS outside [-40, -10]"]),
    ("medium", "", dict(words_per_s=9.0, rms_dbfs=-60.0),
     ["clean entity recall 0.00 < 1 (lost: contact)", "dnsmos sig 2.10 < 2.5",
      "speaking rate 9.00 words/s outside [1, 6]", "level -60.0 dBFS outside [-45, -8]"]),
    ("low", "qa: {gate_mos: false, recognition_on: noisy}\n", dict(speech_ratio=0.0),
     ["wer 0.50 > 0.4", "entity recall 0.00 < 0.5 (lost: contact)", "speech ratio 0.00 < 0.25"]),
    ("low", "", dict(target_snr_db=5.0, clean_transcript=None, clean_wer=None, wer=0.1, entities={}),
     []),
])
def test_builtin_gates_keep_their_reasons_and_order(cost, extra, update, reasons):
    r = judge(_result(**update), thresholds_for(scenario(cost, extra)))
    assert r.reasons == reasons and r.passed == (not reasons)


def test_builtin_columns_and_thresholds_keep_their_names_and_order():
    r = judge(_result(), thresholds_for(scenario("medium")))
    cols = qa_columns(r)
    assert list(cols) == BUILTIN_COLUMNS
    assert cols["qa_reasons"] == "; ".join(r.reasons) and cols["qa_snr_db"] == 12.5 and cols["qa_cer"] == 0.3
    assert list(thresholds_for(scenario("medium")).model_dump()) == BUILTIN_THRESHOLDS


def test_the_dnsmos_gate_reads_the_voice_not_the_scene():
    """A phone line's band limit took DNSMOS SIG from about 3.6 (clean copy) to 1.1-1.3 on the service_line
    scenario, and the gate on the corpus copy dropped voices that were fine: with a clean copy, the gate
    reads its SIG; qa.gate_mos: true gates the corpus copy as it is; false, nothing."""
    ok = dict(clean_transcript="Call Doctor Patel now", clean_wer=0.0, clean_entity_recall=1.0, target_snr_db=25.0)
    phone = _result(**ok, dnsmos_sig=1.2, clean_dnsmos_sig=3.6)
    assert judge(phone, thresholds_for(scenario("high"))).reasons == []
    bad_voice = _result(**ok, dnsmos_sig=3.0, clean_dnsmos_sig=2.1)
    assert judge(bad_voice, thresholds_for(scenario("high"))).reasons == ["clean dnsmos sig 2.10 < 2.8"]
    assert judge(phone, thresholds_for(scenario("high", "qa: {gate_mos: true}\n"))).reasons == ["dnsmos sig 1.20 < 2.8"]
    assert judge(bad_voice, thresholds_for(scenario("high", "qa: {gate_mos: false}\n"))).reasons == []
