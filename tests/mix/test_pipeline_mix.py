"""A whole (fake-backend) build with a real source: the run summary carries the realized shares."""

from __future__ import annotations

import json
import shutil

from scenavox.api import build
from scenavox.summary import format_summary
from scenavox.scenario import load_scenario


def test_build_reports_realized_share_per_split(mini_yaml, real_folder, tmp_path):
    shutil.copytree(real_folder, mini_yaml.parent / "real_speech")  # a path relative to the scenario file
    mini_yaml.write_text(mini_yaml.read_text().replace("size: {n: 10}", "size: {n: 20}")
                         + "mix: {real: real_speech, synthetic_share: {train: 0.5, validation: 0.5, test: 0.0}}\n")
    sc = load_scenario(mini_yaml)
    res = build(sc, out=tmp_path / "c", workers=0, progress=False)
    mix = res.summary["mix"]
    assert mix["mode"] == "blended" and mix["speaker_disjoint"]
    for split, want in (("train", 0.5), ("validation", 0.5), ("test", 0.0)):
        st = mix["splits"][split]
        assert st["rows"] > 0 and abs(st["synthetic_share"] - want) <= 0.01, (split, st)
    assert res.summary["splits"] == {s: mix["splits"][s]["rows"] for s in ("train", "validation", "test")}
    assert json.loads((res.out / "run.json").read_text())["mix"] == mix
    text = format_summary(res.summary)
    assert "synthetic share: train 50%" in text and "test 0%" in text


def test_build_without_real_data_says_synthetic_only(mini_yaml, tmp_path):
    res = build(load_scenario(mini_yaml), out=tmp_path / "c", workers=0, progress=False)
    assert res.summary["mix"]["mode"] == "synthetic_only"
    assert "mix: no real data" in format_summary(res.summary)
