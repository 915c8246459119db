"""Benchmark: what the label gate (issue 14) costs in text time per accepted item, same run, same items.

    python bench/bench_labels.py [--items 24] [--chunk 4] [--threads 2]

The car scenario's text stage on the bundled model, in this process, over the same planned commands:
  (a) before the gate: no judge, one candidate, no openings, the model writes utterance and reply
      (the car scenario without its reply templates): the text path when issue 14 was filed;
  (b) no judge, one candidate, reply templates (the model writes the utterance only);
  (c) the default: the judge on (medium preset), best of `text.candidates` (3), reply templates.
Each is fed through the pipeline's in-order deduper (exact copies, near-duplicates, the wording cap
where the judge is on), as a build would. The configurations take turns over chunks of items, so
load on a shared machine falls on all of them. Figure: text seconds per accepted item, (c) / (a)
(goal <= 2x), and (c) / (b); accepted items per configuration are printed too, since (a) and (b)
accept items the judge would have set aside.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, result  # noqa: E402

from scenavox.scenario import load_scenario  # noqa: E402
from scenavox.text.commands import plan_commands  # noqa: E402
from scenavox.text.dedup import InOrderDeduper  # noqa: E402
from scenavox.text.diversity import diversity  # noqa: E402
from scenavox.text.stage import TextStage  # noqa: E402


def configs(threads: int) -> dict[str, TextStage]:
    sc = load_scenario(ROOT / "prompts" / "car.yaml")
    no_templates = sc.model_copy(update={"intents": [i.model_copy(update={"replies": None}) for i in sc.intents]})
    off = {"judge": {"enabled": False}, "candidates": 1}
    return {
        "a before the gate": TextStage(no_templates.with_text(**off, openings=[]), threads=threads),
        "b templates, no judge": TextStage(sc.with_text(**off), threads=threads),
        "c default (judge, best of k)": TextStage(sc, threads=threads),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--chunk", type=int, default=4, help="items per turn")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    stages = configs(args.threads)
    tasks = {k: plan_commands(st.scenario, args.items, seed=args.seed) for k, st in stages.items()}
    for st in stages.values():
        st.setup()
        st.run_one(plan_commands(st.scenario, 1, seed=args.seed + 1)[0])  # warm-up: caches, first-call costs
    seconds = dict.fromkeys(stages, 0.0)
    dedup = {k: InOrderDeduper(list(range(args.items)), st.cfg.dedup_threshold,
                               st.cfg.max_wording_share if st.judged else None) for k, st in stages.items()}
    kept: dict[str, list] = {k: [] for k in stages}
    for start in range(0, args.items, args.chunk):
        for k, st in stages.items():
            for i in range(start, min(start + args.chunk, args.items)):
                t0 = time.perf_counter()
                out = st.run_one(tasks[k][i])
                seconds[k] += time.perf_counter() - t0
                kept[k] += dedup[k].add(i, out.record)
    per = {k: seconds[k] / max(1, len(kept[k])) for k in stages}
    print(f"car text, {args.items} planned items each, {args.threads} threads, turns of {args.chunk}:")
    for k in stages:
        d = diversity(kept[k])["all"] if kept[k] else {"distinct_2": 0.0, "max_intent_pattern_share": 0.0}
        print(f"   {k:30s} {seconds[k]:7.1f} s  {len(kept[k]):3d} accepted  {per[k]:6.2f} s/accepted item  "
              f"distinct-2 {d['distinct_2']:.2f}  top wording share {d['max_intent_pattern_share']:.2f}")
    a, b, c = (per[k] for k in stages)
    result("text s/accepted item: gate / before the gate", c / a, "<=2x", c / a <= 2.0, items=args.items)
    result("text s/accepted item: gate / templates only", c / b, "-", None, items=args.items)


if __name__ == "__main__":
    main()
