"""Corpus-level checks: text quality, balance against the scenario's targets, aggregates."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from ..records import Clip, Triple, reason_kind
from ..scenario import Scenario
from ..text.diversity import distinct_n
from ..text.normalize import normalize
from .metrics import recall_by_slot_type, slot_kinds


def _stats(values: Iterable[float | None]) -> dict[str, float]:
    v = [float(x) for x in values if x is not None]
    if not v:
        return {}
    return {"mean": round(statistics.fmean(v), 4), "median": round(statistics.median(v), 4),
            "min": round(min(v), 4), "max": round(max(v), 4), "n": len(v)}


def near_duplicate_rate(texts: list[str], cutoff: float = 90.0, limit: int = 5000) -> float:
    """Share of texts with another text at rapidfuzz ratio >= cutoff (normalized; first `limit` texts)."""
    from rapidfuzz import fuzz, process

    t = [normalize(x) for x in texts[:limit]]
    if len(t) < 2:
        return 0.0
    m = process.cdist(t, t, scorer=fuzz.ratio, score_cutoff=cutoff, workers=1)
    for i in range(len(t)):
        m[i, i] = 0
    return round(float((m.max(axis=1) > 0).mean()), 4)


def text_checks(scenario: Scenario, triples: list[Triple], text_quarantined: int = 0) -> dict[str, Any]:
    utter = [t.utterance for t in triples]
    replies = [t.reply for t in triples]
    declared = [i.name for i in scenario.intents]
    present = {t.command.intent for t in triples}
    tried = len(triples) + text_quarantined
    return {
        "triples": len(triples),
        "validity_rate": round(len(triples) / tried, 4) if tried else None,
        "intent_coverage": round(len(present & set(declared)) / len(declared), 4) if declared else None,
        "missing_intents": sorted(set(declared) - present),
        "distinct_1": distinct_n(utter, 1), "distinct_2": distinct_n(utter, 2),
        "near_duplicate_rate": near_duplicate_rate(utter),
        "reply_distinct_2": distinct_n(replies, 2),
    }


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: round(v / total, 4) for k, v in counts.items()} if total else {}


def balance_block(target: dict[str, float], counts: Counter[str]) -> dict[str, Any]:
    actual = _shares(counts)
    keys = sorted(set(target) | set(actual))
    rows = {k: {"target": round(target.get(k, 0.0), 4), "actual": actual.get(k, 0.0), "count": counts.get(k, 0)}
            for k in keys}
    tvd = 0.5 * sum(abs(r["target"] - r["actual"]) for r in rows.values())
    return {"shares": rows, "total_variation": round(tvd, 4),
            "max_abs_deviation": round(max((abs(r["target"] - r["actual"]) for r in rows.values()), default=0), 4)}


def balance(scenario: Scenario, clips: list[Clip], triples: dict[str, Triple]) -> dict[str, Any]:
    accent_counts = Counter(c.provenance.get("target_accent") or c.accent for c in clips)
    intent_counts = Counter(triples[c.triple_id].command.intent for c in clips if c.triple_id in triples)
    intent_target = dict(zip([i.name for i in scenario.intents], scenario.intent_weights))
    voices = Counter(c.voice_id for c in clips)
    n_voices = len(voices)
    return {
        "accents": balance_block(scenario.accent_weights, accent_counts),
        "intents": balance_block(intent_target, intent_counts),
        # voices have no declared target: an even share over the voices used is the ideal
        "voices": balance_block({v: 1 / n_voices for v in voices} if n_voices else {}, voices),
        "distinct_voice_ids": n_voices,
    }


def group_by(results: list[Any], attr: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in results:
        groups[str(getattr(r, attr))].append(r)
    out = {}
    for k, rs in sorted(groups.items()):
        ents = [ok for r in rs for ok in r.entities.values()]
        out[k] = {"clips": len(rs), "wer": _stats(r.wer for r in rs).get("mean"),
                  "entity_recall": round(sum(ents) / len(ents), 4) if ents else None,
                  "pass_rate": round(sum(r.passed for r in rs) / len(rs), 4),
                  "dnsmos_ovrl": _stats(r.dnsmos_ovrl for r in rs).get("mean"),
                  "words_per_s": _stats(r.words_per_s for r in rs).get("mean")}
    return out


def summarize(scenario: Scenario, results: list[Any], clips: list[Clip], triples: dict[str, Triple],
              thresholds: Any, recognizer: str, text: dict[str, Any], errors: list[dict[str, str]]) -> dict[str, Any]:
    n = len(results)
    passed = sum(r.passed for r in results)
    by_slot: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        for slot, ok in r.entities.items():
            by_slot[slot].append(ok)
    all_ents = [ok for v in by_slot.values() for ok in v]
    # clean-audio WER: the clean copy where the corpus kept one, else clips with no noise below 20 dB added
    clean_wers = [r.clean_wer if r.clean_wer is not None else r.wer for r in results
                  if r.clean_wer is not None or r.target_snr_db is None or r.target_snr_db >= 20]
    snr_pairs = [(r.target_snr_db, r.mixed_snr_db if r.mixed_snr_db is not None else r.snr_db) for r in results
                 if r.target_snr_db is not None and (r.mixed_snr_db is not None or r.snr_db is not None)]
    return {
        "scenario": scenario.name,
        "failure_cost": scenario.failure_cost.value,
        "recognizer": recognizer,
        "thresholds": thresholds.model_dump(),
        "clips": n, "passed": passed, "failed": n - passed,
        "pass_rate": round(passed / n, 4) if n else None,
        "failing": [{"id": r.id, "voice_id": r.voice_id, "reasons": r.reasons} for r in results if not r.passed],
        "fail_reasons": dict(Counter(reason_kind(x) for r in results for x in r.reasons).most_common()),
        "wer": _stats(r.wer for r in results),
        "clean_wer": _stats(clean_wers),
        "cer": _stats(r.cer for r in results),
        "entity_recall": {
            "overall": round(sum(all_ents) / len(all_ents), 4) if all_ents else None,
            "entities": len(all_ents),
            "by_slot": {k: {"recall": round(sum(v) / len(v), 4), "n": len(v)} for k, v in sorted(by_slot.items())},
            "by_type": recall_by_slot_type(results, slot_kinds(scenario)),
        },
        "mos_proxy": {"dnsmos_ovrl": _stats(r.dnsmos_ovrl for r in results),
                      "dnsmos_sig": _stats(r.dnsmos_sig for r in results),
                      "dnsmos_p808": _stats(r.dnsmos_p808 for r in results)},
        "audio": {
            "duration_s": _stats(r.duration_s for r in results),
            "words_per_s": _stats(r.words_per_s for r in results),
            "leading_silence_s": _stats(r.leading_silence_s for r in results),
            "trailing_silence_s": _stats(r.trailing_silence_s for r in results),
            "longest_pause_s": _stats(r.longest_pause_s for r in results),
            "rms_dbfs": _stats(r.rms_dbfs for r in results),
            "clipped_fraction": _stats(r.clipped_fraction for r in results),
            "snr_db_measured": _stats(r.snr_db for r in results),
            "snr_target_vs_measured": [list(p) for p in snr_pairs],
            "f0_median_hz": _stats(r.f0_median_hz for r in results),
            "jitter_proxy": _stats(r.jitter_proxy for r in results),
        },
        "by_voice": group_by(results, "voice_id"),
        "by_accent": group_by(results, "accent"),
        "by_intent": group_by(results, "intent"),
        "by_noise": group_by(results, "noise"),
        "by_source": group_by(results, "source"),  # the synthetic-vs-real gap, side by side
        "balance": balance(scenario, clips, triples),
        "text": text,
        "errors": errors,
        "not_measured": ["reply relevance (off-topic rate)", "distinct speakers from embeddings",
                         "split leakage"] + ([] if len({r.source for r in results}) > 1
                                             else ["synthetic-vs-real gap (no real clips)"]),
    }


def compact_summary(full: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers (qa/summary.json; the dataset card prints it whole).

    Per-clip lists and per-group tables stay in report/report.json and qa/results.jsonl.
    """
    bal = full["balance"]
    audio = full["audio"]
    return {
        "scenario": full["scenario"], "failure_cost": full["failure_cost"], "recognizer": full["recognizer"],
        "clips": full["clips"], "passed": full["passed"], "failed": full["failed"], "pass_rate": full["pass_rate"],
        "fail_reasons": full["fail_reasons"],
        "wer_mean": full["wer"].get("mean"), "clean_wer_mean": full["clean_wer"].get("mean"),
        "cer_mean": full["cer"].get("mean"),
        "entity_recall": full["entity_recall"]["overall"],
        "entity_recall_by_slot": {k: v["recall"] for k, v in full["entity_recall"]["by_slot"].items()},
        "entity_recall_by_type": {k: v["recall"] for k, v in full["entity_recall"].get("by_type", {}).items()},
        "dnsmos_ovrl_mean": full["mos_proxy"]["dnsmos_ovrl"].get("mean"),
        "dnsmos_sig_mean": full["mos_proxy"]["dnsmos_sig"].get("mean"),
        # DNSMOS of the clean copies (the voices) apart from the noisy clips (qa/checks/dnsmos.py)
        "dnsmos_clean_vs_noisy": {k: v for k, v in (full.get("clean_mos") or {}).items() if k != "by_voice"} or None,
        "dnsmos_clean_ovrl_median_by_voice": {v: g["clean_ovrl_median"] for v, g in
                                              (full.get("clean_mos") or {}).get("by_voice", {}).items()} or None,
        "words_per_s_mean": audio["words_per_s"].get("mean"),
        "duration_s_mean": audio["duration_s"].get("mean"),
        "distinct_voice_ids": bal["distinct_voice_ids"],
        "accent_balance_tvd": bal["accents"]["total_variation"],
        "intent_balance_tvd": bal["intents"]["total_variation"],
        "text": {k: v for k, v in full["text"].items() if k != "missing_intents"},
        "thresholds": full["thresholds"],
        "errors": len(full["errors"]),
        "split_leakage": full.get("split_leakage"),
        "distinct_speakers": full.get("speakers", {}).get("distinct_speakers"),
        "effective_speakers": full.get("speakers", {}).get("effective_speakers"),
        "off_topic_rate": full.get("replies", {}).get("off_topic_rate"),
        "reply_relevance_mean": full.get("replies", {}).get("relevance_mean"),
        "not_measured": full["not_measured"],
    }


def split_leakage(root: Any, held_out: list[str]) -> dict[str, Any] | None:
    """Leaks between the exported splits of a corpus folder (dataset/data/<split>-*.parquet); None when
    nothing has been exported yet. A build measures the rows it writes instead (`leakage_of_rows`)."""
    import pyarrow.parquet as pq

    from ..store import Store

    data = Store(root).dataset_dir / "data"
    files = sorted(data.glob("*.parquet")) if data.is_dir() else []
    if not files:
        return None
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in files:
        cols = [c for c in ("voice_id", "text", "triple_id", "source", "tts_backend", "tts_model", "provenance")
                if c in pq.read_schema(f).names]  # the rest tell who speaks (splits.speaker_of)
        rows[f.name.split("-")[0]] += pq.read_table(f, columns=cols).to_pylist()
    return leakage_of_rows(rows, held_out)


def leakage_of_rows(rows_by_split: dict[str, list[dict[str, Any]]], held_out: list[str]) -> dict[str, Any]:
    """Leaks between splits: voices, texts, triples. Held-out voices, and the other accents of the same
    speakers, must appear in test only; a voice or an identical (normalized) text in both train and
    test inflates test scores."""
    from ..splits import HELD_OUT_SPLIT, same_speaker_voices

    held_out = sorted(same_speaker_voices((r for rows in rows_by_split.values() for r in rows), held_out))
    voices: dict[str, set[str]] = defaultdict(set)
    texts: dict[str, set[str]] = defaultdict(set)
    trip: dict[str, set[str]] = defaultdict(set)
    for split, rows in rows_by_split.items():
        if not rows:
            continue
        voices[split] |= {r["voice_id"] for r in rows if r.get("voice_id") is not None}
        texts[split] |= {normalize(r["text"]) for r in rows if r.get("text") is not None}
        trip[split] |= {r["triple_id"] for r in rows if r.get("triple_id") is not None}
    test = HELD_OUT_SPLIT
    others = [s for s in voices if s != test]
    train_side = set().union(*(voices[s] for s in others)) if others else set()
    text_side = set().union(*(texts[s] for s in others)) if others else set()
    trip_side = set().union(*(trip[s] for s in others)) if others else set()
    held_leaks = sorted(set(held_out) & train_side)
    return {
        "splits": sorted(voices),
        "held_out_voices_outside_test": held_leaks,
        "voices_in_test_and_other_splits": sorted(voices.get(test, set()) & train_side),
        "texts_in_test_and_other_splits": len(texts.get(test, set()) & text_side),
        "triples_in_several_splits": len(trip.get(test, set()) & trip_side),
        "leak": bool(held_leaks) or bool(trip.get(test, set()) & trip_side),
    }
