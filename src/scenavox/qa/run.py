"""run_qa: measure every clip of a corpus (resumable), judge it, write results, summary and report.

The caller hands it the executor the stage runs on (the pipeline's, or the command line's).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from threadpoolctl import threadpool_limits

from ..errors import UserError
from ..records import Clip, Triple
from ..scenario import Scenario
from ..store import Store
from .corpus import compact_summary, split_leakage, summarize, text_checks
from .checks import checks
from .checks.dnsmos import mos_summary
from .stage import (QAResult, QAStage, QATask, _mixed_snr, _noise, _source, _target_snr, has_measures, judge,
                    rescore_text)
from .thresholds import Thresholds, thresholds_for

RESULTS_KIND = Store.QA_RESULTS  # one file per clip: <corpus>/qa/clips/<clip id>.json


def qa_columns(result: QAResult | None) -> dict[str, Any]:
    """The qa_* columns for one dataset row: the verdict, then each registered check's columns in
    order (None values where the clip was not checked)."""
    r = result
    cols: dict[str, Any] = {"qa_passed": None if r is None else r.passed,
                            "qa_reasons": None if r is None else "; ".join(r.reasons)}
    for c in checks():
        for column, field in c.columns.items():
            cols[column] = None if r is None else getattr(r, field, None)
    return cols


def filter_clips(clips: list[Clip], results: list[QAResult], *, keep_unchecked: bool = False
                 ) -> tuple[list[Clip], list[Clip]]:
    """(kept, dropped): drop exactly the clips whose result failed (and, unless keep_unchecked,
    clips QA could not check, listed under summary["errors"])."""
    verdict = {r.id: r.passed for r in results}
    kept = [c for c in clips if verdict.get(c.id, keep_unchecked)]
    dropped = [c for c in clips if not verdict.get(c.id, keep_unchecked)]
    return kept, dropped


def _tasks(store: Store, clips: list[Clip], triples: dict[str, Triple], stage: QAStage, reused: dict[str, QAResult],
           missing: list[dict[str, str]]) -> Iterator[QATask]:
    for c in clips:
        t = triples.get(c.triple_id)
        if t is None:
            missing.append({"id": c.id, "error": f"triple {c.triple_id} not found"})
            continue
        clean_rel = getattr(c, "clean_audio_path", None)
        clean = store.file(clean_rel) if clean_rel else None
        has_clean = clean is not None and clean.is_file()
        have = store.get(RESULTS_KIND, c.id, QAResult)
        if have is not None and have.key == stage.key(c, t, has_clean) and has_measures(have):
            have.source, have.noise, have.target_snr_db = _source(c), _noise(c), _target_snr(c)
            have.mixed_snr_db = _mixed_snr(c)
            reused[c.id] = have
            continue
        audio = store.file(c.audio_path)
        if not audio.is_file():
            missing.append({"id": c.id, "error": f"audio file {c.audio_path} not found"})
            continue
        yield QATask(id=c.id, clip=c, triple=t, audio_file=str(audio.resolve()),
                     clean_audio_file=str(clean.resolve()) if has_clean and clean is not None else None)


def qa_stage(scenario: Scenario, thresholds: Thresholds, threads: int = 2, workers: int = 0) -> QAStage:
    """The scenario's QA stage. In this process (workers=0): `threads` clips at once, a thread each; in
    worker processes: one clip at a time each, on `threads` threads."""
    return QAStage(thresholds, recognizer=scenario.qa.recognizer, recognizer_model=scenario.qa.recognizer_model,
                   threads=threads, clips_at_once=threads if workers <= 0 else 1)


def measure_clip(store: Store, clip: Clip, triple: Triple, stage: QAStage) -> bool:
    """Measure one clip now and store its result (qa/clips/<id>.json), unless a stored one still holds;
    run_qa then reuses it. A build measures each clip this way as soon as it is placed, on a thread of its
    own while the workers voice and write the rest. False where it stored nothing (a missing file, an
    error): run_qa measures that clip again and reports why."""
    reused: dict[str, QAResult] = {}
    missing: list[dict[str, str]] = []
    for task in _tasks(store, [clip], {triple.id: triple}, stage, reused, missing):
        with threadpool_limits(limits=stage.resources.threads, user_api="blas"):  # see run_qa
            out = stage.run_one(task)
        if out.quarantined is not None or out.record is None:
            return False
        store.put(RESULTS_KIND, out.record)
    return not missing


def run_qa(store: Store, scenario: Scenario, clips: list[Clip], triples: dict[str, Triple] | Iterable[Triple], *,
           executor: Any, thresholds: Thresholds | None = None, stage: QAStage | None = None, workers: int = 0,
           threads: int = 2, report: bool = True, progress: bool = False, extras: bool | None = False,
           ) -> tuple[list[QAResult], dict[str, Any]]:
    """Check every clip; returns (results sorted by clip id, the full summary).

    Writes qa/clips/<id>.json per clip as it finishes (reused on rerun when clip, text,
    command and recognizer are unchanged; verdicts are recomputed from `thresholds`),
    then qa/results.jsonl, qa/summary.json (headline numbers: `compact_summary`) and, with
    report=True, report/index.html and report/report.json (the full summary + every result).
    extras: also count audibly distinct speakers and score reply relevance (needs the
    `qa-extra` install); None runs them when installed, False skips, True requires them.
    executor: what runs the stage (scenavox.executors.LocalExecutor(), a RayExecutor...);
    workers=0 runs in this process (`threads` clips at once, a thread each), >=1 asks the executor for that
    many workers (one clip at a time each, on `threads` threads).
    """
    tri = triples if isinstance(triples, dict) else {t.id: t for t in triples}
    th = thresholds or thresholds_for(scenario)
    stage = stage or qa_stage(scenario, th, threads, workers)
    stage.thresholds = th
    reused: dict[str, QAResult] = {}
    errors: list[dict[str, str]] = []
    fresh: dict[str, QAResult] = {}
    todo = list(_tasks(store, clips, tri, stage, reused, errors))
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="qa", unit="clip", file=sys.stderr)
    # numpy's BLAS in this process (clips measured here): at its default, a thread per core, its idle
    # threads spun for 0.28 CPU-s per clip, taken from the clip measured beside it
    with threadpool_limits(limits=stage.resources.threads, user_api="blas"):
        for out in executor.map(stage, iter(todo), workers=workers):
            if bar is not None:
                bar.update()
            if out.quarantined is not None or out.record is None:
                reason = out.quarantined.reason if out.quarantined else "no result"
                errors.append({"id": out.id, "error": reason})  # not stored: retried on the next run
                continue
            store.put(RESULTS_KIND, out.record)
            fresh[out.id] = out.record  # type: ignore[assignment]
    if bar is not None:
        bar.close()
    results = sorted([judge(rescore_text(r), th) for r in reused.values()] + list(fresh.values()), key=lambda r: r.id)
    store.write_jsonl(Store.qa_rel("results.jsonl"), results)
    checked = {r.id for r in results}
    checked_clips = [c for c in clips if c.id in checked]
    text_q = sum(1 for q in store.iter_quarantine() if q.stage == "text" and q.id not in tri)
    text = text_checks(scenario, sorted(tri.values(), key=lambda t: t.index), text_q)
    summary = summarize(scenario, results, checked_clips, tri, th, stage.recognizer_name, text, errors)
    summary["clean_mos"] = mos_summary(results)
    _run_extras(store, extras, checked_clips, sorted(tri.values(), key=lambda t: t.index), threads, summary,
                scenario)
    summary["reused"] = len(reused)
    summary["measured"] = len(fresh)
    finish_report(store, scenario, results, summary, report=report)
    return results, summary


def finish_report(store: Store, scenario: Scenario, results: list[QAResult], summary: dict[str, Any], *,
                  report: bool = True, dropped: list[QAResult] | None = None,
                  leakage: dict[str, Any] | None = None) -> None:
    """Split leakage (`leakage` as the export measured it, else read from the exported splits, if any),
    qa/summary.json and, with report=True,
    report/index.html. Separate from run_qa so a build can write the report after its export
    without measuring every clip (and embedding every voice) a second time.
    dropped: the clips a build filtered out before export, listed in the report with their
    reasons, and counted in the pass rate per voice."""
    if dropped:
        summary["filtered_out"] = filtered_out(results, dropped)
    summary["split_leakage"] = leakage if leakage is not None else split_leakage(store.root, scenario.voices.held_out)
    if summary["split_leakage"] is not None and "split leakage" in summary["not_measured"]:
        summary["not_measured"].remove("split leakage")
    store.write_json(Store.qa_rel("summary.json"), compact_summary(summary))
    if report:
        from .report import write_report

        write_report(store, scenario, results, summary)


def filtered_out(kept: list[QAResult], dropped: list[QAResult]) -> dict[str, Any]:
    """What QA removed before export: every dropped clip with its reasons, and per voice how
    many of its checked clips passed (the exported clips alone would all read 100%)."""
    per: dict[str, list[int]] = {}
    for r in [*kept, *dropped]:
        c = per.setdefault(r.voice_id, [0, 0])
        c[0] += 1
        c[1] += bool(r.passed)
    return {
        "clips": len(dropped),
        "pass_rate_by_voice": {v: {"checked": k, "passed": p, "pass_rate": round(p / k, 3)}
                               for v, (k, p) in sorted(per.items())},
        "list": [{"id": r.id, "voice_id": r.voice_id, "reference": r.reference, "heard": r.clean_transcript
                  if r.clean_transcript is not None else r.transcript, "reasons": r.reasons} for r in dropped],
    }


def _run_extras(store: Store, extras: bool | None, clips: list[Clip], triples: list[Triple], threads: int,
                summary: dict[str, Any], scenario: Scenario | None = None) -> None:
    if extras is False:
        return
    from . import extra

    have = extra.available()
    done = []
    if extras or have["speakers"]:
        emb = extra.speaker_embeddings(store, clips, threads=threads)
        summary["speakers"] = extra.distinct_speakers(clips, emb)
        refs = _clone_references(scenario, {c.voice_id for c in clips})
        if refs and summary["speakers"]:
            summary["speakers"]["clone_similarity"] = extra.clone_similarity(
                clips, emb, {v: extra.embed_files(paths, threads) for v, paths in refs.items()})
        done.append("distinct speakers from embeddings")
    if extras or have["replies"]:
        summary["replies"] = extra.reply_checks(triples, threads=threads)
        done.append("reply relevance (off-topic rate)")
    summary["not_measured"] = [x for x in summary["not_measured"] if x not in done]


def _clone_references(scenario: Scenario | None, used: set[str]) -> dict[str, list[Any]]:
    """Reference recordings of the cloned voices this corpus used (registry `reference:` paths)."""
    if scenario is None:
        return {}
    from ..voice.registry import scenario_voices

    try:
        voices = scenario_voices(scenario)
    except UserError:
        return {}
    return {v.id: list(v.reference) for v in voices
            if v.id in used and v.origin == "cloned" and getattr(v, "reference", None)}


def load_corpus(store: Store) -> tuple[list[Clip], dict[str, Triple]]:
    """Clips and triples of an existing corpus folder (manifests if present, else record files)."""
    def read_jsonl(name: str, model: Any) -> list[Any] | None:
        p = store.file(name)
        if not p.is_file():
            return None
        return [model.model_validate(json.loads(line)) for line in p.read_text(encoding="utf-8").splitlines()
                if line.strip()]

    clips = read_jsonl("clips.jsonl", Clip)
    if clips is None:
        clips = list(store.iter_records(Store.CLIPS, Clip))
    triples = read_jsonl("triples.jsonl", Triple)
    if triples is None:
        triples = list(store.iter_records(Store.TEXT, Triple))
    return sorted(clips, key=lambda c: c.id), {t.id: t for t in triples}


def format_qa_summary(summary: dict[str, Any], results: list[QAResult] | None = None) -> str:
    """What `scenavox qa` prints: the pass count, the checks' report rows, extras, fail reasons."""
    from .report import check_rows

    lines = [
        f"qa {summary['scenario']} (failure cost {summary['failure_cost']}, {summary['recognizer']}): "
        f"{summary['passed']} of {summary['clips']} clips pass",
        ", ".join(f"{label} {'-' if value is None else value}" for label, value in check_rows(results or [], summary)),
    ]
    if summary.get("speakers"):
        sp = summary["speakers"]
        lines.append(f"speakers: {sp['voice_ids']} voice ids, {sp['distinct_speakers']} audibly distinct "
                     f"(effective {sp['effective_speakers']})")
        for vid, sim in (sp.get("clone_similarity") or {}).items():
            lines.append(f"  cloned voice {vid}: similarity to its reference recordings {sim}")
    if summary.get("replies"):
        lines.append(f"replies: off-topic rate {summary['replies']['off_topic_rate']}, "
                     f"relevance mean {summary['replies']['relevance_mean']}")
    for reason, k in summary["fail_reasons"].items():
        lines.append(f"  {k} x {reason}")
    if summary["errors"]:
        lines.append(f"errors: {len(summary['errors'])} clip(s) not checked (see qa/summary.json)")
    return "\n".join(lines)
