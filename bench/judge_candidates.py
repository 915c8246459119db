"""Judge candidates on the hand-labelled audit set (tests/data/audit): which way of judging finds bad
utterances and bad replies, measured without fitting on the labels it is tested on.

    python bench/judge_candidates.py [--fit]

Candidates (each a score per item; the item is rejected below a threshold):
  A  sentence embeddings (all-MiniLM-L6-v2): masked utterance/reply vs each intent's prototypes
     (description, examples): own-intent similarity, margin over the nearest other intent, and for
     replies the least similar sentence; A+mem adds items already accepted to the prototypes
  B  a classifier fitted per scenario on rule-made data only: the intent's own prototypes against the
     other intents' and against replies (for replies: the reverse); no audit label is used
  C  rule features: request form vs statement/confirmation, invented slot values, value named
  A+C  a logistic model over A's and C's features
Protocol: leave one scenario out. For every scenario, the model (A+C) and the threshold (all) are
fitted on the other scenarios' labelled items, then applied to it; the counts are summed. The
threshold is the highest that rejects at most 10% of the good items of the fitting scenarios.
`--fit` prints the weights of the shipped judge (A+C for utterances, A+C- for replies), fitted on
the whole set. Then the shipped judge's rates per scenario and preset (in sample).
The first shipped version was fitted on car + clinic only and then run once, blind, on street_food:
the README records that result.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

from scenavox.scenario import load_scenario  # noqa: E402
from scenavox.text.judge import Judge  # noqa: E402
from scenavox.text.judge.audit import load_audit, rates  # noqa: E402
from scenavox.text.judge.features import Embedder, JudgeItem, Prototypes, mask, score_items  # noqa: E402

AUDIT = ROOT / "tests" / "data" / "audit"
FIT_ON = ("car", "clinic", "street_food")
UTT = {"A own": ["u_own"], "A margin": ["u_margin"], "C form": ["u_form"], "B synthetic": ["b_utt"],
       "A+C v1": ["u_margin", "u_form"], "A+C": ["u_margin", "u_form", "u_invented"],
       "A+C+": ["u_margin", "u_own", "u_form", "u_like_reply", "u_invented"],
       "A+mem margin": ["m_margin"], "A+mem+C": ["m_margin", "u_form"]}
REP = {"A own": ["r_own"], "A margin": ["r_margin"], "A sentence": ["r_min_sent"], "C form": ["r_form"],
       "C rules": ["r_form", "r_invented", "r_names_value"], "B synthetic": ["b_rep"],
       "A sentence any": ["r_min_sent_any"],
       "A+C v1": ["r_min_sent", "r_own", "r_form", "r_like_utt", "r_invented", "r_names_value"],
       "A+C any": ["r_min_sent_any", "r_own", "r_form", "r_like_utt", "r_invented", "r_names_value"],
       "A+C both": ["r_min_sent_any", "r_min_sent", "r_form", "r_like_utt", "r_invented", "r_names_value"],
       "A+C-": ["r_min_sent_any", "r_form", "r_invented", "r_names_value"],
       "C novel": ["r_novel"], "C rules+novel": ["r_form", "r_invented", "r_names_value", "r_novel"],
       "A+C+novel": ["r_min_sent", "r_own", "r_form", "r_like_utt", "r_invented", "r_names_value", "r_novel"],
       "A+C+novel+n": ["r_min_sent_any", "r_form", "r_invented", "r_names_value", "r_novel", "r_sentences"]}


def synthetic_classifier(protos: Prototypes, kind: str) -> dict[str, object]:
    """Per intent, logistic regression on embeddings of rule-made texts: own prototypes (+) vs the
    other intents' and the other kind's (utterances vs replies) prototypes (-)."""
    from sklearn.linear_model import LogisticRegression

    other = "rep" if kind == "utt" else "utt"
    models = {}
    for n in protos.intents:
        pos = protos.matrix(kind, n)
        neg = [protos.matrix(kind, m) for m in protos.intents if m != n] + [protos.matrix(other, m)
                                                                            for m in protos.intents]
        neg = np.concatenate([x for x in neg if len(x)])
        X = np.concatenate([pos, neg])
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        models[n] = LogisticRegression(C=10.0, class_weight="balanced").fit(X, y)
    return models


def features(embedder: Embedder) -> tuple[list[dict], float]:
    rows, spent, n = [], 0.0, 0
    audit = load_audit(AUDIT)
    for sc_name in sorted({r["scenario"] for r in audit}):
        sc = load_scenario(sc_name)
        items = [r for r in audit if r["scenario"] == sc_name]
        its = [JudgeItem.of(r) for r in items]
        protos = Prototypes(sc, embedder)
        t0 = time.perf_counter()
        feats = score_items(its, protos)
        spent += time.perf_counter() - t0
        n += len(its)
        b_u, b_r = synthetic_classifier(protos, "utt"), synthetic_classifier(protos, "rep")
        # A+mem: items scored in plan order; one joins the prototypes when A+C's rules accept it
        # (request form, positive margin): no label involved
        mem = Prototypes(sc, embedder)
        for it, f in zip(its, feats):
            vals = list(it.slots.values()) + list(it.spoken.values())
            vu = embedder.encode([mask(it.utterance, vals)])[0]
            vr = embedder.encode([mask(it.reply, vals)])[0]
            f["b_utt"] = float(b_u[it.intent].predict_proba(vu[None])[0, 1])
            f["b_rep"] = float(b_r[it.intent].predict_proba(vr[None])[0, 1])
            m = score_items([it], mem)[0]
            f["m_margin"] = m["u_margin"]
            if m["u_form"] == 1.0 and m["u_margin"] > 0:
                mem.add("utt", it.intent, mask(it.utterance, vals))
        for r, f in zip(items, feats):
            rows.append({"item": r, "f": f})
    return rows, 1000 * spent / max(1, n)


def loso(rows: list[dict], label: str, keys: list[str], only: set[str] | None = None) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    truth, pred = [], []
    scenarios = sorted({r["item"]["scenario"] for r in rows})
    for test in scenarios:
        if only and test not in only:
            continue
        tr = [r for r in rows if r["item"]["scenario"] != test]
        te = [r for r in rows if r["item"]["scenario"] == test]
        X = lambda rs: np.array([[r["f"][k] for k in keys] for r in rs])  # noqa: E731
        ytr = np.array([r["item"][label] for r in tr])
        model = LogisticRegression().fit(X(tr), ytr)
        ptr, pte = model.predict_proba(X(tr))[:, 1], model.predict_proba(X(te))[:, 1]
        good = np.sort(ptr[ytr])
        t = good[int(0.10 * len(good))] if len(good) else 0.5
        truth += [r["item"][label] for r in te]
        pred += list(pte >= t)
    return rates(truth, pred)


def line(name: str, r: dict[str, float], ms: float | str = "") -> str:
    return (f"  {name:14s} recall {r['recall']:.2f}  precision {r['precision']:.2f}  good rejected "
            f"{r['good_rejected']:.2f}  (bad {r['bad']}, good {r['good']})  {ms}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="print the shipped models' weights (fitted on the whole set)")
    args = ap.parse_args()
    import os

    os.chdir(ROOT)
    embedder = Embedder(threads=1)
    embedder.load()
    rows, ms = features(embedder)
    replies = [r for r in rows if r["item"]["output_form"] in ("voiced_replies", "both")]
    print(f"audit set: {len(rows)} items ({len(replies)} with voiced replies); features {ms:.1f} ms/item "
          "(1 thread, batched, prototypes cached)")
    print("utterances, leave one scenario out:")
    for name, keys in UTT.items():
        print(line(name, loso(rows, "utterance_ok", keys)))
    print("replies (all scenarios), leave one scenario out:")
    for name, keys in REP.items():
        print(line(name, loso(rows, "reply_ok", keys)))
    print("D  NLI / cross-encoder: no model ships inside an installable package here (see README)")
    if args.fit:
        from sklearn.linear_model import LogisticRegression

        fit = [r for r in rows if r["item"]["scenario"] in FIT_ON]
        for label, keys in (("utterance_ok", UTT["A+C"]), ("reply_ok", REP["A+C-"])):
            X = np.array([[r["f"][k] for k in keys] for r in fit])
            m = LogisticRegression().fit(X, [r["item"][label] for r in fit])
            w = {"bias": round(float(m.intercept_[0]), 3)} | {k: round(float(c), 3) for k, c in zip(keys, m.coef_[0])}
            print(f"{label}: {w}")
    print("shipped judge (thresholds of each failure_cost preset; in sample):")
    audit = load_audit(AUDIT)
    for cost in ("low", "medium", "high"):
        for sc_name in sorted({r["scenario"] for r in audit}):
            items = [r for r in audit if r["scenario"] == sc_name]
            judge = Judge(load_scenario(sc_name), {"check_reply": True} | _preset(cost))
            judge.scorer.embedder = embedder  # type: ignore[attr-defined]
            judge.load()
            v = judge.judge_many(items)
            u = rates([r["utterance_ok"] for r in items], [x.utterance_ok for x in v])
            rp = rates([r["reply_ok"] for r in items], [x.reply_ok for x in v])
            print(f"  {cost:6s} {sc_name:11s} utterances: {line('', u).strip()}")
            print(f"  {cost:6s} {sc_name:11s} replies:    {line('', rp).strip()}")


def _preset(cost: str) -> dict[str, float]:
    from scenavox.text.judge.thresholds import PRESETS

    return dict(PRESETS[cost])


if __name__ == "__main__":
    main()
