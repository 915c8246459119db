"""Real audio (Piper) through the real recognizer (Whisper base), VAD and DNSMOS."""

import json

import numpy as np
import pytest

from scenavox.executors import LocalExecutor
from scenavox.qa import QAStage, qa_columns, run_qa, thresholds_for
from scenavox.qa.asr import whisper_base_dir
from scenavox.store import Store

from .conftest import add_clip, scenario, speak

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, piper):
    """Two clean clips, one whose audio says another number than its text, one of pure noise."""
    store = Store(tmp_path_factory.mktemp("qa_corpus"))
    said = "Set the temperature to 21 degrees please"
    clean1 = add_clip(store, said, speak(piper, said),
                      "set_temperature", {"temperature": "21"}, index=0)
    clean2 = add_clip(store, "Call Sarah on her mobile", speak(piper, "Call Sarah on her mobile"), "call_contact",
                      {"contact": "Sarah"}, accent="en-GB", voice_id="piper-joe-gb", index=1,
                      provenance={"source": "real"},
                      acoustics={"acoustics_preset": "cabin", "snr_db": 25.0, "measured_snr_db": 24.8},
                      clean=speak(piper, "Call Sarah on her mobile"))
    wrong = add_clip(store, "Set the temperature to 21 degrees please",
                     speak(piper, "Set the temperature to 25 degrees please"), "set_temperature",
                     {"temperature": "21"}, index=2)
    rng = np.random.default_rng(0)
    noise = add_clip(store, "Call David now", (rng.normal(0, 0.05, 32000)).astype(np.float32), "call_contact",
                     {"contact": "David"}, index=3)
    return store, {"clean1": clean1, "clean2": clean2, "wrong": wrong, "noise": noise}


@pytest.fixture(scope="module")
def stage(transcriber):
    # every noisy copy transcribed (not a sample): these tests read the noisy WER and entities of every clip
    return QAStage(thresholds_for(scenario()), transcriber=transcriber, threads=2, noisy_share=1.0)


@pytest.fixture(scope="module")
def run(corpus, stage):
    store, items = corpus
    clips = [c for c, _ in items.values()]
    triples = {t.id: t for _, t in items.values()}
    results, summary = run_qa(store, scenario(), clips, triples, executor=LocalExecutor(), stage=stage,
                              extras=False)
    return store, items, {r.id: r for r in results}, summary


def test_whisper_model_is_joined_once(tmp_path, monkeypatch):
    d = whisper_base_dir()
    assert (d / "model.bin").stat().st_size > 100_000_000 and (d / "tokenizer.json").is_file()
    mtime = (d / "model.bin").stat().st_mtime_ns
    assert whisper_base_dir() == d and (d / "model.bin").stat().st_mtime_ns == mtime
    assert not [p for p in d.parent.iterdir() if ".tmp-" in p.name]


def test_clean_piper_audio_passes(run):
    _, items, res, _ = run
    for key in ("clean1", "clean2"):
        r = res[items[key][0].id]
        assert r.wer <= 0.1, r.transcript
        assert r.entity_recall == 1.0
        assert r.passed, r.reasons
        assert r.dnsmos_ovrl and r.dnsmos_ovrl > 2.5
        assert 1.0 < r.words_per_s < 6.0 and r.leading_silence_s < 0.5 and r.speech_ratio > 0.5


def test_wrong_number_fails_entity_stability(run):
    _, items, res, _ = run
    r = res[items["wrong"][0].id]
    assert r.entities == {"temperature": False} and r.entity_recall == 0.0
    assert not r.passed and any(x.startswith("entity recall") for x in r.reasons)


def test_pure_noise_fails(run):
    _, items, res, _ = run
    r = res[items["noise"][0].id]
    assert not r.passed
    assert r.speech_ratio < 0.2 and r.wer >= 0.5
    assert len(r.reasons) >= 2, r.reasons


def test_outputs_written_and_resumable(run, stage):
    store, items, res, summary = run
    root = store.root
    lines = (root / "qa" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 and {json.loads(x)["id"] for x in lines} == set(res)
    saved = json.loads((root / "qa" / "summary.json").read_text())
    assert saved["clips"] == 4 and saved["passed"] == 2 and saved["failed"] == 2
    assert saved["entity_recall_by_slot"] == {"temperature": 0.5, "contact": 0.5}
    assert saved["clean_wer_mean"] is not None and saved["dnsmos_ovrl_mean"] > 1
    assert len(summary["failing"]) == 2 and summary["entity_recall"]["by_slot"]["temperature"]["n"] == 2
    assert summary["balance"]["accents"]["shares"]["en-GB"]["target"] == 0.5
    page = (root / "report" / "index.html").read_text()
    assert page.count("data:image/png;base64,") >= 6 and "<script" not in page and "src='http" not in page
    assert json.loads((root / "report" / "report.json").read_text())["summary"]["clips"] == 4
    c2 = res[items["clean2"][0].id]
    assert c2.clean_wer is not None and c2.clean_wer <= 0.1 and c2.mixed_snr_db == 24.8
    assert summary["audio"]["snr_target_vs_measured"] == [[25.0, 24.8]]
    assert set(summary["by_source"]) == {"real", "synthetic"} and set(summary["by_noise"]) == {"cabin", "clean"}
    assert "Synthetic vs real: WER" in page and "Entity recall by noise" in page
    # a rerun reuses every stored result, and re-judges them with new thresholds
    clips = [c for c, _ in items.values()]
    triples = {t.id: t for _, t in items.values()}
    results, again = run_qa(store, scenario("low"), clips, triples, executor=LocalExecutor(), stage=stage,
                            report=False, extras=False, thresholds=thresholds_for(scenario("low"), max_wer=1.0, min_entity_recall=0.0))
    assert again["reused"] == 4 and again["measured"] == 0
    assert {r.id: r.passed for r in results}[items["wrong"][0].id]
    from scenavox.qa import filter_clips

    first = run_qa(store, scenario(), clips, triples, executor=LocalExecutor(), stage=stage, report=False,
                   extras=False)[0]
    kept, dropped = filter_clips(clips, first)
    assert {c.id for c in dropped} == {r.id for r in first if not r.passed} == {items["wrong"][0].id,
                                                                               items["noise"][0].id}
    assert len(kept) == 2 and filter_clips(clips, [])[0] == [] and filter_clips(clips, [], keep_unchecked=True)[0]
    cols = qa_columns(results[0])
    assert set(cols) >= {"qa_passed", "qa_wer", "qa_entity_recall", "qa_dnsmos_ovrl"}
    # a build reports over what it exported, and lists what QA filtered out before that
    from scenavox.qa.run import finish_report

    passing = [r for r in first if r.passed]
    finish_report(store, scenario(), passing, dict(summary), dropped=[r for r in first if not r.passed])
    page = (root / "report" / "index.html").read_text()
    assert "Filtered out before export (2)" in page and "Call David now" in page
    rates = json.loads((root / "report" / "report.json").read_text())["summary"]["filtered_out"]["pass_rate_by_voice"]
    assert sum(g["checked"] for g in rates.values()) == 4 and sum(g["passed"] for g in rates.values()) == 2


def test_cli_qa_on_existing_corpus_reuses_results(run, tmp_path):
    """`scenavox qa` on the corpus checked above: every result is reused, no model is loaded."""
    from click.testing import CliRunner

    from scenavox.cli import main

    from .conftest import SCENARIO

    store, _, _, _ = run
    sc = tmp_path / "qa_mini.yaml"
    sc.write_text(SCENARIO.format(cost="high"))
    res = CliRunner().invoke(main, ["qa", "--scenario", str(sc), "--out", str(store.root), "-q", "--no-extra"])
    assert res.exit_code == 0, res.output
    assert "of 4 clips pass" in res.output and "failure cost high" in res.output
    saved = json.loads((store.root / "qa" / "summary.json").read_text())
    assert saved["failure_cost"] == "high" and saved["thresholds"]["max_wer"] == 0.1
    missing = CliRunner().invoke(main, ["qa", "--scenario", str(sc), "--out", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no corpus folder" in missing.output


def test_recognition_is_deterministic_on_a_hard_clip(piper):
    """Speech under white noise at -5 dB SNR, where Whisper's temperature fallback would sample
    (unseeded): every pass must give the same transcript, or a resumed build could judge a clip
    differently from a fresh one."""
    from scenavox.qa.asr import FasterWhisperTranscriber

    x = speak(piper, "Set the temperature to 23 degrees please")
    noise = np.random.default_rng(0).normal(0, 1, len(x)).astype(np.float32)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (-5 / 10))
    hard = (x + noise).astype(np.float32)
    asr = FasterWhisperTranscriber(threads=2)
    assert len({asr.transcribe(hard, "en") for _ in range(4)}) == 1
