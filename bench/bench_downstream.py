"""Does the scenario corpus train a better model than generic synthetic speech? On car.

`scenavox eval --baselines --folds 5` on the default car corpus (d): the same probe intent classifier
(frozen Whisper-base encoder, mean-pooled, + logistic regression) trained on the same texts voiced
(b) by one clean generic voice (Piper joe, default prosody, no acoustics) and (c) by the scenario's
voices without acoustics, and scored on the corpus's clips of speakers it never heard, in cabin
noise. Speaker 5-fold: every speaker is held out once, so all ~180 synthetic clips of a 200-item
corpus are test clips (one held-out set has ~40), and the intervals resample speakers. Prints the
relative error reduction of (d) over (b) and over (c) with paired bootstrap 95% intervals.

Goal (issue 17): (d) cuts the error of (b) by at least 20%, with an interval above 0.

    python bench/bench_downstream.py [--n 200] [--seed 7] [--out DIR] [--folds 5] [--fast]

The corpus: the one bench_corpus.py leaves (outputs/bench-car-n200-seed7: `make bench` runs that
first, so this bench costs only the evaluation, about 5 minutes), else it builds the default car
corpus there (LLM text, QA on: about 25 minutes on 2 cores). --fast builds a throwaway corpus from
the fake backend's template sentences with QA off instead: quick, but the sentences name the intent,
so the task is nearly trivial and (b) rarely errs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import ROOT, bench_corpus_dir, result


def scenario_file(folder: Path, fast: bool) -> Path:
    data = yaml.safe_load((ROOT / "prompts" / "car.yaml").read_text())
    if fast:
        data.setdefault("text", {})["backend"] = "fake"
        data["qa"] = {**(data.get("qa") or {}), "enabled": False}
    p = folder / "car.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    for sub in ("templates",):  # a scenario reads files from its own folder only
        if (ROOT / "prompts" / sub).is_dir() and not (folder / sub).exists():
            (folder / sub).symlink_to(ROOT / "prompts" / sub)
    return p


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="corpus folder (reused when it holds a dataset)")
    ap.add_argument("--folds", type=int, default=5, help="speaker folds (1: one held-out set)")
    ap.add_argument("--fast", action="store_true", help="fake template text, QA off, in a temporary folder")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-downstream-"))
    sc_path = scenario_file(work, a.fast) if a.fast else ROOT / "prompts" / "car.yaml"
    out = a.out or (work / "car" if a.fast else bench_corpus_dir(a.n, a.seed))
    scenavox = str(Path(sys.executable).with_name("scenavox"))
    t0 = time.perf_counter()
    if (out / "dataset" / "data").is_dir():
        print(f"evaluating the corpus in {out} (built before; not timed here)")
    else:
        subprocess.run([scenavox, "corpus", "--scenario", str(sc_path), "--n", str(a.n), "--seed", str(a.seed),
                        "--out", str(out), "-q", "--allow-path", str(ROOT / "voices"), "--allow-path",
                        str(ROOT / "prompts")], check=True, cwd=ROOT)
    build_s = time.perf_counter() - t0
    import scenavox as sv
    from scenavox.eval import format_results

    sc = sv.load_scenario(str(sc_path), allow_paths=[ROOT / "voices", ROOT / "prompts"])
    t0 = time.perf_counter()
    res = sv.evaluate(sc, out=out, baselines=True, seed=a.seed, threads=2, progress=False, folds=a.folds)
    eval_s = time.perf_counter() - t0
    print(format_results(res))
    print(f"n={a.n} seed={a.seed} fast={a.fast} folds={a.folds}: build {build_s:.0f} s, eval {eval_s:.0f} s; "
          f"corpus {out}")
    for key in ("b", "c"):
        rr = res[f"relative_error_reduction_d_over_{key}"]
        v = rr["value"]
        if v is None:  # (key) makes no error: (d) cannot beat it; still a row, so the table shows the miss
            print(f"(d) over ({key}): ({key}) makes no error on {res['test_rows']} test clips: nothing to reduce")
            result(f"probe error cut, (d) vs ({key}), held-out", 0.0, ">=20%" if key == "b" else "report",
                   False if key == "b" else None, unit="%", n=a.n, test_clips=res["test_rows"], fast=a.fast,
                   folds=a.folds, error_d=res["variants"]["d"]["error"], **{f"error_{key}": 0.0})
            continue
        ok = (v >= 0.2 and rr["low"] > 0) if key == "b" else None
        result(f"probe error cut, (d) vs ({key}), held-out", 100 * v, ">=20%" if key == "b" else "report", ok,
               unit="%", low=rr["low"], high=rr["high"], n=a.n, test_clips=res["test_rows"], fast=a.fast,
               folds=a.folds, error_d=res["variants"]["d"]["error"], **{f"error_{key}": res["variants"][key]["error"]})
    print(json.dumps({k: res["variants"][k]["error_ci95"] for k in res["variants"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
