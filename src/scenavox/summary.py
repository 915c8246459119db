"""The run summary: `run.json` and the lines `scenavox corpus` prints after a build.

The pipeline hands over what happened (`RunFacts`); this module turns it into the numbers a
user reads. Nothing here runs a stage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Clip, Quarantined, Triple, reason_kind
from .scenario import Scenario
from .text.diversity import diversity, judge_rates


@dataclass
class StageStats:
    done: int = 0
    reused: int = 0
    quarantined: int = 0
    busy_s: float = 0.0
    cpu_s: float = 0.0  # CPU seconds of the new items (busy_s less the waits for a core)
    usage: Counter = field(default_factory=Counter)  # requests, retries, tokens spent in this run
    item_s: list[float] = field(default_factory=list)  # seconds of each new item (the median skips cold starts)
    item_cpu_s: list[float] = field(default_factory=list)  # CPU seconds of each new item
    ahead: int = 0  # QA: clips measured while the pass still ran (pipeline._Run._measure_ahead)

    def median_s(self) -> float | None:
        return _median(self.item_s)

    def median_cpu_s(self) -> float | None:
        return _median(self.item_cpu_s)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    x = sorted(values)
    return round((x[(len(x) - 1) // 2] + x[len(x) // 2]) / 2, 3)


@dataclass
class RunFacts:
    """What one build did, as the pipeline saw it."""

    scenario: Scenario
    n: int
    seed: int
    run_config: dict[str, Any]
    stats: dict[str, StageStats]
    clips: list[Clip]  # the corpus, sorted by id
    triples: list[Triple]  # their texts, in plan order
    quarantine: list[Quarantined]  # items of this run set aside by a stage
    counts: dict[str, int]  # rows per split (with `.mix` when exported)
    dataset: Path | None
    seconds: dict[str, float]  # generate, export, total
    qa_summary: dict[str, Any] | None = None  # the exported clips' QA summary (None: QA off or no clip)
    qa_failed: list[Any] = field(default_factory=list)  # QA results of the clips dropped
    duplicates: dict[str, int] = field(default_factory=dict)
    planned: dict[str, int] = field(default_factory=dict)  # tried, cap
    accent_shortfall: dict[str, int] = field(default_factory=dict)
    dialogues: list[Any] = field(default_factory=list)


def run_summary(f: RunFacts) -> dict[str, Any]:
    scenario, clips = f.scenario, f.clips
    triples = {t.id: t for t in f.triples}
    reasons = Counter(f"{q.stage}: {reason_kind(q.reason)}" for q in f.quarantine)
    audio_s = sum(c.duration_s for c in clips)
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "requested": f.n,
        "seed": f.seed,
        "utterances": len(clips),
        "splits": f.counts,
        "audio_hours": round(audio_s / 3600, 4),
        "audio_minutes": round(audio_s / 60, 2),
        "reply_audio_minutes": round(sum(c.reply_duration_s or 0.0 for c in clips) / 60, 2),
        "voices": dict(sorted(Counter(c.voice_id for c in clips).items())),
        "accents": dict(sorted(Counter(c.accent for c in clips).items())),
        "intents": dict(sorted(Counter(triples[c.triple_id].command.intent for c in clips).items())),
        "stages": {
            name: {"done": s.done, "reused": s.reused, "quarantined": s.quarantined, "busy_s": round(s.busy_s, 2),
                   "cpu_s": round(s.cpu_s, 2), "median_item_s": s.median_s(), "median_item_cpu_s": s.median_cpu_s(),
                   **({"ahead": s.ahead} if s.ahead else {})}
            for name, s in f.stats.items()
        },
        "text_usage": _text_usage(scenario, f.stats["text"]),
        # faithfulness (text/judge/) and variety of the exported utterances (text/diversity.py)
        "judge": judge_rates(f.stats["text"].usage, f.stats["text"].done + f.stats["text"].quarantined),
        "diversity": diversity([triples[c.triple_id] for c in clips if c.triple_id in triples]),
        "set_aside": len(f.quarantine),
        "set_aside_reasons": dict(reasons.most_common()),
        "seconds": {k: round(v, 2) for k, v in f.seconds.items()},
        "run_config": f.run_config,
    }
    summary["qa"] = _qa_headline(f.qa_summary, f.qa_failed, f.stats["qa"]) if scenario.qa.enabled else None
    summary["mix"] = getattr(f.counts, "mix", None) or {}  # realized synthetic/real share per split
    summary["duplicates_removed"] = f.duplicates
    summary["planned"] = f.planned
    summary["accent_shortfall"] = f.accent_shortfall
    if f.dialogues or scenario.interaction_rhythm.mode.value != "one_turn":
        summary["dialogues"] = {"rendered": len(f.dialogues),
                                "audio_minutes": round(sum(d.duration_s for d in f.dialogues) / 60, 2)}
    return summary


def _qa_headline(full: dict[str, Any] | None, failed: list[Any], st: StageStats) -> dict[str, Any]:
    """What the run summary says about quality: the exported clips' scores, and what QA dropped."""
    from .qa.corpus import compact_summary

    reasons = Counter(reason_kind(r) for f in failed for r in f.reasons)
    out: dict[str, Any] = {"checked": st.done, "dropped": len(failed), "dropped_reasons": dict(reasons.most_common())}
    if full:
        c = compact_summary(full)
        for key in ("recognizer", "wer_mean", "clean_wer_mean", "entity_recall", "dnsmos_ovrl_mean",
                    "dnsmos_clean_vs_noisy", "entity_recall_by_type", "words_per_s_mean", "accent_balance_tvd", "intent_balance_tvd", "distinct_voice_ids",
                    "distinct_speakers", "effective_speakers", "off_topic_rate", "not_measured"):
            out[key] = c.get(key)
    return out


def _text_usage(scenario: Scenario, st: StageStats) -> dict[str, Any]:
    """Requests and tokens this run spent (reused items cost nothing), and the cost if priced."""
    u = st.usage
    out: dict[str, Any] = {k: int(u.get(k, 0)) for k in ("requests", "retries", "prompt_tokens", "completion_tokens")}
    if scenario.text.price is not None:
        out["cost"] = scenario.text.price.cost(out["prompt_tokens"], out["completion_tokens"])
    return out


def format_summary(summary: dict[str, Any]) -> str:
    st = summary["stages"]
    lines = [
        f"scenario {summary['scenario']}: {summary['utterances']} of {summary['requested']} utterances, "
        f"{summary['audio_minutes']} min of audio ({summary['audio_hours']} h)"
        + (f" + {summary['reply_audio_minutes']} min of voiced replies" if summary.get("reply_audio_minutes") else ""),
        "splits: " + ", ".join(f"{k} {v}" for k, v in summary["splits"].items()),
        "voices: " + ", ".join(f"{k} {v}" for k, v in summary["voices"].items()),
        "accents: " + ", ".join(f"{k} {v}" for k, v in summary["accents"].items()),
    ]
    short = summary.get("accent_shortfall") or {}
    if short:
        lines.append("accents short of their weights (every planned item was used; raise the pass rate or n): "
                     + ", ".join(f"{k} {v} fewer" for k, v in short.items()))
    mix = summary.get("mix") or {}
    if mix.get("mode") == "blended":
        lines.append("synthetic share: " + ", ".join(
            f"{k} {v['synthetic_share']:.0%} ({v['synthetic_rows']} synthetic, {v['real_rows']} real)"
            for k, v in mix["splits"].items() if v["rows"]))
    lines += [f"mix: {note}" for note in mix.get("notes", [])]
    for name in ("text", "voice", "acoustics"):
        s = st[name]
        lines.append(
            f"{name}: {s['done']} new, {s['reused']} reused, {s['quarantined']} set aside, {s['busy_s']} s busy"
            + (f" ({s['cpu_s']} s CPU)" if s.get("cpu_s") is not None else "")
        )
    qa = summary.get("qa")
    if qa:
        def f(v: Any) -> str:
            return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

        lines.append(f"qa: {qa['checked']} checked, {qa['dropped']} dropped; exported clips: WER {f(qa.get('wer_mean'))}"
                     f" (clean {f(qa.get('clean_wer_mean'))}), entity recall {f(qa.get('entity_recall'))}, "
                     f"DNSMOS OVRL {f(qa.get('dnsmos_ovrl_mean'))}  (report/index.html)")
        lines.append(f"  balance: accents TVD {f(qa.get('accent_balance_tvd'))}, intents TVD "
                     f"{f(qa.get('intent_balance_tvd'))}; speakers: {f(qa.get('distinct_voice_ids'))} voice ids, "
                     f"{f(qa.get('distinct_speakers'))} audibly distinct (effective {f(qa.get('effective_speakers'))}); "
                     f"off-topic replies {f(qa.get('off_topic_rate'))}")
        if qa.get("not_measured"):
            lines.append("  not measured: " + "; ".join(qa["not_measured"]))
        for reason, count in qa["dropped_reasons"].items():
            lines.append(f"  {count} x qa: {reason}")
    d = summary.get("duplicates_removed") or {}
    if d.get("exact") or d.get("near") or d.get("wording"):
        lines.append(f"duplicates removed: {d['exact']} exact, {d['near']} near, {d.get('wording', 0)} over the "
                     "wording cap (see duplicates.jsonl)")
    dl = summary.get("dialogues")
    if dl:
        lines.append(f"dialogues: {dl['rendered']} rendered, {dl['audio_minutes']} min (dialogues.jsonl, dataset config"
                     " 'dialogues')")
    u = summary.get("text_usage") or {}
    if u.get("requests"):
        cost = f", cost {u['cost']:.4f}" if "cost" in u else ""
        lines.append(
            f"text usage: {u['requests']} requests ({u['retries']} retried), {u['prompt_tokens']} prompt + "
            f"{u['completion_tokens']} completion tokens{cost}"
        )
    j = summary.get("judge")
    if j:
        lines.append(f"judge: {j['candidates_judged']} candidates judged, utterances rejected "
                     f"{j['utterance_reject_rate']:.1%}, replies rejected {j['reply_reject_rate']:.1%}; "
                     f"{j['items_set_aside']} items set aside by the judge")
    dv = (summary.get("diversity") or {}).get("all")
    if dv and dv["items"]:
        lines.append(f"variety: distinct-1 {dv['distinct_1']:.2f}, distinct-2 {dv['distinct_2']:.2f}; most common "
                     f"wording per intent at most {dv['max_intent_pattern_share']:.0%} of its items")
    lines.append(
        f"time: generate {summary['seconds']['generate']} s, export {summary['seconds']['export']} s, "
        f"total {summary['seconds']['total']} s"
    )
    if summary["set_aside"]:
        lines.append(f"set aside: {summary['set_aside']} (see quarantine.jsonl)")
        for reason, count in summary["set_aside_reasons"].items():
            lines.append(f"  {count} x {reason}")
    return "\n".join(lines)
