"""QA per clip: the path before issue 16 (Whisper base on a 30-s window for the noisy and the clean
copy, DNSMOS of the noisy copy, one clip at a time on 2 threads) against the current one (Whisper base on
the clip's own length, the noisy copy on a seeded sample, DNSMOS of the clean copy too, two clips at once
on a thread each, as a build's QA runs), on the same clips of a default car corpus (fake text, QA off, so
every clip is checked, including those QA would drop; or --corpus, a built one).

Blocks of 20 clips are measured old, new, old, new... so the load of a shared machine falls on both alike.
Prints the seconds per clip (wall and CPU), the ratio, and the round trip's false rejections: the
share of clips whose recognition gates fail on each path, with every clip whose verdict changed
and both transcripts, to read. Usage: python bench/bench_qa.py [--n 40] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, result


def build_corpus(n: int, seed: int) -> Path:
    import scenavox as sv

    out = Path(tempfile.mkdtemp()) / "car"
    sc = sv.load_scenario("car")
    sc.qa.enabled = False
    sv.build(sc, n=n, seed=seed, out=out, workers=2, text_backend="fake", progress=False)
    return out


def recognition_failed(r) -> bool:
    return any("wer" in x or "entity recall" in x for x in r.reasons)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40, help="clips to check (a fresh fake-text car corpus)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--corpus", type=Path, help="check this corpus folder's clips instead of building one")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    from scenavox.executors import LocalExecutor
    from scenavox.qa import QAStage, thresholds_for
    from scenavox.qa.asr import FasterWhisperTranscriber
    from scenavox.qa.run import _tasks, load_corpus
    from scenavox.scenario import load_scenario
    from scenavox.store import Store

    root = args.corpus or build_corpus(args.n, args.seed)
    if (root / "qa").is_dir():  # a built corpus: its stored QA results would be reused, not measured
        copy = Path(tempfile.mkdtemp()) / root.name
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("qa", "dataset", "report"))
        root = copy
    store = Store(root)
    clips, triples = load_corpus(store)
    clips = clips[: args.n]
    th = thresholds_for(load_scenario("car"))
    old = QAStage(th, transcriber=FasterWhisperTranscriber(threads=args.threads, context="window"),
                  threads=args.threads, noisy_share=1.0, clean_mos=False)
    # as run_qa makes it in a build: `threads` clips at once, a thread each, numpy's BLAS capped alike
    new = QAStage(th, threads=args.threads, clips_at_once=args.threads)
    tasks = list(_tasks(store, clips, triples, new, {}, []))
    executor = LocalExecutor()
    for stage in (old, new):
        stage.setup()  # once: the executor's own setup call finds the models loaded
        stage.process(tasks[0])  # warm-up: first-call allocations are not per-clip cost
    wall = {"old": 0.0, "new": 0.0}
    cpu = {"old": 0.0, "new": 0.0}
    res: dict[str, dict[str, object]] = {"old": {}, "new": {}}
    # in blocks of 20 clips, old then new: the load of a shared machine falls on both alike
    for block in (tasks[i:i + 20] for i in range(0, len(tasks), 20)):
        for task in block:
            t, c = time.perf_counter(), time.process_time()
            res["old"][task.id] = old.process(task).record
            wall["old"] += time.perf_counter() - t
            cpu["old"] += time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        with threadpool_limits(limits=new.resources.threads, user_api="blas"):
            for out in executor.map(new, iter(block)):
                res["new"][out.id] = out.record
        wall["new"] += time.perf_counter() - t
        cpu["new"] += time.process_time() - c
    n = len(tasks)
    fails = {k: [i for i, r in v.items() if recognition_failed(r)] for k, v in res.items()}
    changed = sorted(set(fails["old"]) ^ set(fails["new"]))
    print(f"QA on {n} clips of {root} ({args.threads} threads): old {wall['old'] / n:.2f} s/clip wall, "
          f"{cpu['old'] / n:.2f} s CPU; new {wall['new'] / n:.2f} s/clip wall, {cpu['new'] / n:.2f} s CPU")
    print(f"round trip fails: old {len(fails['old'])}/{n}, new {len(fails['new'])}/{n}; verdict changed on "
          f"{len(changed)} clip(s):")
    for i in changed:
        o, w = res["old"][i], res["new"][i]
        print(f"  {'now fails' if i in fails['new'] else 'now passes'} [{o.voice_id}] {o.reference!r}\n"
              f"     old heard {o.clean_transcript!r}\n     new heard {w.clean_transcript!r}")
    result("QA seconds per clip, old / new (wall)", wall["old"] / wall["new"], ">= 1", wall["new"] <= wall["old"],
           clips=n, old_s=round(wall["old"] / n, 3), new_s=round(wall["new"] / n, 3))
    result("QA s/clip new (wall)", wall["new"] / n, "<= 0.5", wall["new"] / n <= 0.5, unit="s",
           old_cpu_s=round(cpu["old"] / n, 3), new_cpu_s=round(cpu["new"] / n, 3),
           new_cpu_over_threads_s=round(cpu["new"] / n / args.threads, 3))
    rise = (len(fails["new"]) - len(fails["old"])) / n
    result("round-trip false rejections, new - old", rise * 100, "<= 0", rise <= 0, unit="%",
           old=len(fails["old"]), new=len(fails["new"]), clips=n)


if __name__ == "__main__":
    _ = ROOT
    main()
