"""`scenavox eval`: the probe on a small real corpus (eSpeak voices, cabin acoustics, fake text)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import scenavox as sv
from scenavox.eval import run as eval_run

from .conftest import ROOT, write_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spied(small_corpus, monkeypatch_module):
    """evaluate() with every feature request recorded: (variant, row ids) in call order."""
    calls: list[tuple[str, list[str]]] = []
    orig = eval_run._Features.get

    def get(self, variant, keys, audio_of):  # noqa: ANN001
        calls.append((variant, list(keys)))
        return orig(self, variant, keys, audio_of)

    monkeypatch_module.setattr(eval_run._Features, "get", get)
    sc, out = small_corpus
    res = sv.evaluate(sc, out=out, baselines=True, threads=2, progress=False)
    return sc, out, res, calls


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _voices(out: Path) -> dict[str, tuple[str, str]]:
    rows = eval_run.load_rows(eval_run.Store(out))
    return {r["id"]: (r["voice_id"], r["split"]) for r in rows}


def test_no_held_out_voice_reaches_the_probe_training_data(spied):
    sc, out, res, calls = spied
    held = set(sc.voices.held_out)
    assert set(res["held_out_voices"]) == held and res["held_out_from"] == "scenario voices.held_out"
    voice = _voices(out)
    test_ids = calls[0][1]  # the held-out test clips are requested first, then each variant's training clips
    train_calls = [keys for variant, keys in calls[1:] if variant in ("corpus", "clean", "generic")
                   and keys != test_ids]
    assert len(train_calls) == 3  # (d), (c), (b)
    for keys in train_calls:
        assert keys and not {voice[k][0] for k in keys} & held
        assert {voice[k][1] for k in keys} == {"train"}
    assert {voice[k][0] for k in test_ids} <= held
    every_held_row = {k for k, (v, _) in voice.items() if v in held}
    assert set(test_ids) == every_held_row  # all of them, and none were trained on
    assert not set(res["train_voices"]) & held


def test_results_files_table_and_intervals(spied):
    sc, out, res, _ = spied
    d = out / "eval"
    saved = json.loads((d / "results.json").read_text())
    assert saved["variants"].keys() == {"b", "c", "d"}
    for v in saved["variants"].values():
        lo, hi = v["error_ci95"]
        assert 0 <= lo <= v["error"] <= hi <= 1 and v["n"] == saved["test_rows"]
        assert set(v["error_by_intent"]) <= {i.name for i in sc.intents}
        assert set(v["error_by_accent"]) <= {"en-US", "en-GB"}
    assert (d / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "relative error reduction" in (d / "results.txt").read_text() or \
        saved["variants"]["b"]["error"] == 0 == saved["variants"]["c"]["error"]
    # the generic baseline is the train texts in one voice: its feature cache holds exactly the train rows
    import numpy as np

    with np.load(d / "features" / "generic.npz") as z:
        assert len(z["keys"]) == saved["train_rows"]


def test_same_seed_same_results_and_cli_prints_the_table(spied):
    sc, out, res, _ = spied
    again = sv.evaluate(sc, out=out, baselines=True, threads=2, progress=False)  # features from the cache
    assert json.dumps(again, sort_keys=True) == json.dumps(res, sort_keys=True)
    from scenavox.cli import main

    r = CliRunner().invoke(main, ["eval", "--scenario", str(sc.source_path), "--out", str(out), "-q",
                                  "--allow-path", str(ROOT / "voices")])
    assert r.exit_code == 0, r.output
    assert "(d) scenario corpus" in r.output and "95% interval" in r.output and "error by accent" in r.output


def test_probe_holds_voices_out_itself_when_the_scenario_names_none(small_corpus):
    sc, out = small_corpus
    sc2 = sc.model_copy(update={"voices": sc.voices.model_copy(update={"held_out": []})})
    rows = eval_run.load_rows(eval_run.Store(out))
    held, where = eval_run.held_out_voices(sc2, rows, 5)
    assert where.startswith("chosen by the probe") and held
    assert held == eval_run.held_out_voices(sc2, rows, 5)[0]
    syn = [r for r in rows if r["source"] == "synthetic"]
    share = sum(r["voice_id"] in held for r in syn) / len(syn)
    assert 0.1 <= share <= 0.6, share
    accent_of = {r["voice_id"]: r["accent"] for r in syn}
    assert len({accent_of[v] for v in held}) == min(len(held), 2)  # a second voice of an accent only after each has one


def test_eval_on_a_folder_without_a_corpus_is_one_line(tmp_path):
    from scenavox.cli import main

    p = write_scenario(tmp_path)
    r = CliRunner().invoke(main, ["eval", "--scenario", str(p), "--out", str(tmp_path / "none"),
                                  "--allow-path", str(ROOT / "voices")])
    assert r.exit_code == 2 and "no corpus folder" in r.output


def test_probe_chosen_held_out_voices_leave_the_training_rows(small_corpus, monkeypatch):
    """Without voices.held_out every voice is in the train split: the probe must drop the rows of the
    voices it holds out from training (the splitter does not do it for it here)."""
    sc, out = small_corpus
    sc2 = sc.model_copy(update={"voices": sc.voices.model_copy(update={"held_out": []})})
    calls: list[list[str]] = []
    orig = eval_run._Features.get
    monkeypatch.setattr(eval_run._Features, "get",
                        lambda self, v, keys, a: (calls.append(list(keys)), orig(self, v, keys, a))[1])
    res = sv.evaluate(sc2, out=out, threads=2, progress=False)
    held = set(res["held_out_voices"])
    voice = _voices(out)
    assert held and any(voice[k][1] == "train" for k in voice if voice[k][0] in held)  # they are in train
    test_ids, train_ids = calls[0], calls[1]
    assert train_ids and not {voice[k][0] for k in train_ids} & held
    assert {voice[k][0] for k in test_ids} == held


def test_speaker_folds_score_every_row_once_and_never_train_on_its_speaker(small_corpus):
    """--folds k: each speaker is held out once; every synthetic row is scored by a probe whose
    training rows hold none of its speaker's clips."""
    sc, out = small_corpus
    sc2 = sc.model_copy(update={"voices": sc.voices.model_copy(update={"held_out": []})})
    rows = eval_run.load_rows(eval_run.Store(out))
    pairs, info = eval_run.train_test_pairs(sc2, rows, 5, 3, None)
    syn = {r["id"] for r in rows if r["source"] == "synthetic" and r["intent"]}
    tested = [r["id"] for _, te in pairs for r in te]
    assert sorted(tested) == sorted(syn) and len(pairs) == 3
    for train, test in pairs:
        assert train and test and not {r["speaker"] for r in train} & {r["speaker"] for r in test}
    folds = info["fold_speakers"]
    assert sorted(v for f in folds for v in f) == sorted({r["speaker"] for r in rows if r["id"] in syn})
    accent = {r["speaker"]: r["accent"] for r in rows}
    assert all(len({accent[v] for v in f}) == 2 for f in folds)  # 6 speakers, 2 accents: each fold spans both

    res = sv.evaluate(sc2, out=out, baselines=True, threads=2, progress=False, folds=3)
    assert res["folds"] == 3 and res["test_rows"] == len(syn) and res["interval_over"] == "speakers"
    for v in res["variants"].values():
        lo, hi = v["error_ci95"]
        assert 0 <= lo <= v["error"] <= hi <= 1 and v["n"] == len(syn)
    txt = (out / "eval" / "results.txt").read_text()
    assert "speaker 3-fold" in txt and "intervals resample speakers" in txt

    from scenavox.cli import main

    # the scenario's own held-out voices are its test set: folds would train on them
    r = CliRunner().invoke(main, ["eval", "--scenario", str(sc.source_path), "--out", str(out), "-q", "--folds", "3",
                                  "--allow-path", str(ROOT / "voices")])
    assert r.exit_code == 2 and "declares voices.held_out" in r.output


def test_intervals_over_speakers_are_wider_when_errors_cluster():
    from scenavox.eval import probe

    # 10 speakers of 10 clips; all 10 errors on one speaker
    err = np.zeros(100)
    err[:10] = 1
    spk = [f"s{i // 10}" for i in range(100)]
    lo_c, hi_c = probe.interval(err, 1)
    lo_s, hi_s = probe.interval(err, 1, clusters=spk)
    assert hi_s - lo_s > 2 * (hi_c - lo_c) and lo_s == 0.0
    # a paired reduction: the base errs on two speakers, the new one on one of them
    base = np.zeros(100)
    base[:20] = 1
    rr = probe.relative_reduction(base, err, 1, clusters=spk)
    assert rr["value"] == 0.5 and rr["low"] <= 0.5 <= rr["high"]
