"""`scenavox corpus --dry-run`: an estimate from measured rates, and nothing written to the corpus folder."""

import json
import re
import subprocess

from scenavox.estimate import rates_from_summary

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
    text_s = 600 * rates.tries_per_utterance * rates.text_s
    printed = float(re.search(r"text (\d+)", r.stdout).group(1))
    assert abs(printed - text_s) <= 1.0
    assert rates.tries_per_utterance >= 1.0 and rates.voice_s > 0


def test_a_build_that_reused_everything_gives_no_rate():
    summary = {"utterances": 5, "stages": {"text": {"done": 0, "reused": 5, "busy_s": 0},
                                           "voice": {"done": 0, "reused": 5, "busy_s": 0}}}
    assert rates_from_summary(summary, "x") is None
