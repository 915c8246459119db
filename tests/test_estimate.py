"""`scenavox corpus --dry-run`: an estimate from measured rates, and nothing written to the corpus folder."""

import json
import re
import subprocess

import pytest

from scenavox.estimate import LOAD_S, estimate, format_estimate, rates_from_summary
from scenavox.scenario import load_scenario

from .conftest import SCENAVOX


def corpus(*args, cwd):
    return subprocess.run([SCENAVOX, "corpus", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_dry_run_without_an_earlier_build_probes_elsewhere_and_writes_nothing(mini_yaml, tmp_path):
    out = tmp_path / "corpus"
    r = corpus("--scenario", str(mini_yaml), "--n", "500", "--out", str(out), "--dry-run", "--workers", "0",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "dry run: 500 utterances" in r.stdout and "probe build" in r.stdout
    assert not out.exists()
    assert not (tmp_path / "outputs").exists()


def test_dry_run_scales_the_rates_of_the_earlier_build(mini_yaml, tmp_path):
    out = tmp_path / "corpus"
    r = corpus("--scenario", str(mini_yaml), "--n", "6", "--out", str(out), "--workers", "0", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    summary = json.loads((out / "run.json").read_text())

    r = corpus("--scenario", str(mini_yaml), "--n", "600", "--out", str(out), "--dry-run", "--workers", "0",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"earlier build {out}" in r.stdout
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # the corpus is untouched

    rates = rates_from_summary(summary, "x")
    text_s = 600 * rates.tries_per_utterance * rates.text_cpu_s
    assert "CPU seconds per stage" in r.stdout
    printed = float(re.search(r"text (\d+)", r.stdout).group(1))
    assert abs(printed - text_s) <= 1.0
    assert rates.tries_per_utterance >= 1.0 and rates.voice_s > 0 and rates.voice_cpu_s > 0


def test_a_build_that_reused_everything_gives_no_rate():
    summary = {"utterances": 5, "stages": {"text": {"done": 0, "reused": 5, "busy_s": 0},
                                           "voice": {"done": 0, "reused": 5, "busy_s": 0}}}
    assert rates_from_summary(summary, "x") is None


def _summary(cpu: bool) -> dict:
    """A 100-utterance build on 2 cores: 2 text workers and 1 voice worker shared the cores, so each stage's busy
    seconds are half again its CPU seconds."""
    stages = {"text": {"done": 120, "quarantined": 0, "busy_s": 1200.0, "median_item_s": 9.0},
              "voice": {"done": 100, "quarantined": 0, "busy_s": 600.0, "median_item_s": 5.5},
              "acoustics": {"done": 100, "quarantined": 0, "busy_s": 10.0, "median_item_s": 0.1},
              "qa": {"done": 100, "quarantined": 2, "busy_s": 80.0}}
    if cpu:
        for name, cpu_s in (("text", 800.0), ("voice", 400.0), ("acoustics", 10.0)):
            stages[name] |= {"cpu_s": cpu_s, "median_item_cpu_s": cpu_s / stages[name]["done"]}
    return {"utterances": 100, "stages": stages, "planned": {"tried": 120}, "audio_minutes": 5.0,
            "qa": {"checked": 100}}


def test_the_wall_time_counts_cpu_seconds_not_the_waits_for_a_core(mini_yaml):
    sc = load_scenario(str(mini_yaml))
    e = estimate(sc, 200, rates_from_summary(_summary(cpu=True), "x"), workers=2)
    assert e["seconds"] == "CPU"
    assert e["stage_s"]["text"] == 1600.0 and e["stage_s"]["voice"] == 800.0
    # text and voice share the 2 cores: (1600 + 800 + 20) / 2, then QA (160 s of wall) after them
    assert e["wall_s"] == LOAD_S + (1600.0 + 800.0 + 20.0) / 2 + 160.0

    old = estimate(sc, 200, rates_from_summary(_summary(cpu=False), "x"), workers=2)  # a run.json without CPU
    assert old["seconds"] == "busy" and old["wall_s"] == LOAD_S + (2400.0 + 1200.0 + 20.0) / 2 + 160.0


def test_qa_measured_beside_the_pass_shares_the_cores(mini_yaml):
    """A build that measured QA as clips were placed (run.json stages.qa.ahead) recorded its CPU: that joins
    the other stages' CPU over the cores, and only the last clips' QA comes after them."""
    sc = load_scenario(str(mini_yaml))
    summary = _summary(cpu=True)
    summary["stages"]["qa"] |= {"cpu_s": 70.0, "ahead": 95}
    e = estimate(sc, 200, rates_from_summary(summary, "x"), workers=2)
    assert e["stage_s"]["qa"] == pytest.approx(140.0)  # 200 utterances x 1 clip each x 0.7 CPU-s
    assert e["wall_s"] == pytest.approx(LOAD_S + (1600.0 + 800.0 + 20.0 + 140.0) / 2 + 2 * 0.7)
    assert "beside" in format_estimate(e)
