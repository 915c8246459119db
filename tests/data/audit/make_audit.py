"""Recreate items.jsonl: what the default offline text backend writes for car, clinic and street_food.

    PYTHONPATH=src python tests/data/audit/make_audit.py [--items 64] [--scenarios car clinic street_food]

Each scenario's own defaults (seed, text.temperature, the bundled SmolLM2 through llama.cpp), the
pipeline's plan (`plan_tasks`, dialogue turns included) and its dedup: the items a default build
would go on to voice, in plan order. Text only, one thread, about 5 s of CPU per item.
The labels are not written here: they live in labels.jsonl, written by a person (README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _no_weight_repacking() -> None:
    """llama.cpp repacks weights for AMX when the CPU lists it; in sandboxes that list AMX but fault on
    its tile instructions (SIGILL in ggml_backend_amx_mul_mat), the default backend dies. Same weights
    without the extra buffer types: the plain AVX path."""
    import llama_cpp.llama_cpp as lc

    orig = lc.llama_model_default_params

    def params():  # noqa: ANN202
        p = orig()
        p.use_extra_bufts = False
        return p

    lc.llama_model_default_params = params


def main() -> None:
    _no_weight_repacking()
    from scenavox.scenario import load_scenario
    from scenavox.text.dedup import InOrderDeduper
    from scenavox.text.dialogue import describe, plan_tasks, spoken_slots
    from scenavox.text.stage import TextStage

    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=64, help="planned items per scenario")
    ap.add_argument("--scenarios", nargs="+", default=["car", "clinic", "street_food"])
    ap.add_argument("--out", type=Path, default=HERE / "items.jsonl")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    done = set()
    if args.out.is_file():  # resumable: a scenario already written is kept
        done = {json.loads(ln)["scenario"] for ln in args.out.read_text().splitlines() if ln.strip()}
    with args.out.open("a", encoding="utf-8") as f:
        for name in args.scenarios:
            if name in done:
                continue
            sc = load_scenario(name)
            stage = TextStage(sc, threads=1)
            stage.setup()
            tasks = plan_tasks(sc, args.items, sc.seed, extra_fingerprint=stage.prompts.fingerprint)
            dedup = InOrderDeduper([t.index for t in tasks],
                                   sc.text.dedup_threshold if sc.text.dedup else 1.0)
            by_id = {t.id: t for t in tasks}
            kept = []
            t0 = time.perf_counter()
            for task in tasks:
                out = stage.process(task)
                kept += dedup.add(task.index, out.record)
            rows = []
            for tr in kept:
                task = by_id[tr.id]
                d = tr.dialogue
                rows.append({
                    "id": tr.id[:12], "scenario": name, "index": tr.index, "intent": tr.command.intent,
                    "slots": tr.command.slots, "spoken_slots": spoken_slots(task),
                    "turn": None if d is None else {"kind": d.kind, "turn": d.turn, "barge_in": d.barge_in,
                                                    "previous": describe(d.previous),
                                                    "previous_slots": d.previous.slots if d.previous else {}},
                    "style": tr.style, "utterance": tr.utterance, "reply": tr.reply,
                    "output_form": sc.output_form.value if hasattr(sc.output_form, "value") else str(sc.output_form),
                    "attempts": tr.provenance.get("attempts"),
                })
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
            f.flush()
            print(f"{name}: {len(tasks)} planned, {len(rows)} kept, {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
