"""Runs the stages of a corpus build as one stream, resumable from the corpus folder.

text tasks -> [text stage] -> triples -> [voice stage] -> clips -> export

Items already in the store are reused without loading any model, so a rerun after a
crash (or kill -9) redoes only what was missing, and the result equals an uninterrupted
run: every item is a pure function of (scenario, seed, index).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tqdm import tqdm

from .errors import UserError
from .executors import LocalExecutor
from .publish.export import export_dataset
from .records import Clip, TextTask, Triple, VoiceTask
from .scenario import Scenario
from .store import Store
from .text.backends import is_remote
from .text.commands import plan_commands
from .text.dedup import InOrderDeduper
from .text.stage import TextStage
from .voice.stage import VoicePlanner, VoiceStage


def default_out(scenario: Scenario) -> Path:
    return Path("outputs") / scenario.name


@dataclass
class StageStats:
    done: int = 0
    reused: int = 0
    quarantined: int = 0
    busy_s: float = 0.0
    usage: Counter = field(default_factory=Counter)  # requests, retries, tokens spent in this run


@dataclass
class RunResult:
    out: Path
    dataset: Path | None
    summary: dict[str, Any]
    clips: list[Clip] = field(default_factory=list)
    triples: list[Triple] = field(default_factory=list)


def plan_workers(workers: int | None, text_remote: bool = False) -> tuple[int, int, int, int]:
    """(text workers, text threads, voice workers, voice threads) for this machine.

    workers=0: everything in this process. Otherwise the LLM (the slowest stage) gets the
    cores and the voice stage one single-threaded worker that runs in the LLM's gaps.
    text_remote: the LLM is a server (openai backend). The text stage then runs on threads in
    this process (its `concurrency` requests in flight) and the voice stage gets the cores.
    """
    cores = max(1, (workers or os.cpu_count() or 2))
    if text_remote:
        return (0, 1, 0, max(1, os.cpu_count() or 2)) if workers == 0 else (0, 1, 1, cores)
    if workers == 0:
        return 0, max(1, (os.cpu_count() or 2)), 0, 1
    return 1, cores, 1, 1


def build(
    scenario: Scenario,
    *,
    n: int | None = None,
    seed: int | None = None,
    out: Path | str | None = None,
    workers: int | None = None,
    text_backend: str | None = None,
    progress: bool = True,
    executor: Any = None,
) -> RunResult:
    n = n if n is not None else scenario.size.n
    seed = seed if seed is not None else scenario.seed
    if n < 1:
        raise UserError(f"--n must be at least 1 (got {n})")
    if text_backend is not None:  # the backend is part of the text identity (item ids), so put it in the scenario
        scenario = scenario.with_text(backend=text_backend)
    store = Store(out if out is not None else default_out(scenario))
    executor = executor or LocalExecutor()
    t_workers, t_threads, v_workers, v_threads = plan_workers(workers, text_remote=is_remote(scenario.text.backend))
    text_stage = TextStage(scenario, threads=t_threads)
    voice_stage = VoiceStage(threads=v_threads)
    planner = VoicePlanner(scenario, seed)  # fails early on a voice/accent mismatch
    tasks = plan_commands(scenario, n, seed, extra_fingerprint=text_stage.prompts.fingerprint)
    schedule = planner.schedule(n)
    run_config = {
        "scenario": scenario.name, "n": n, "seed": seed, "text_backend": text_stage.backend_name,
        "executor": getattr(executor, "name", type(executor).__name__), "sample_rate": scenario.audio.sample_rate,
    }
    stats = {"text": StageStats(), "voice": StageStats()}
    t0 = time.perf_counter()
    with store.lock():
        scenario_yaml = scenario.to_yaml()
        store.put_bytes("scenario.yaml", scenario_yaml.encode())
        bars = _bars(n, progress)
        triples: dict[str, Triple] = {}
        clips: dict[str, Clip] = {}

        def text_todo() -> Iterator[TextTask]:
            for task in tasks:
                have = store.get("text", task.id, Triple)
                if have is not None:
                    stats["text"].reused += 1
                    bars["text"].update()
                    yield_triple(task.index, have)
                elif store.quarantined("text", task.id) is not None:
                    stats["text"].quarantined += 1
                    bars["text"].update()
                    yield_triple(task.index, None)
                else:
                    yield task

        ready: list[VoiceTask] = []
        voice_ids: set[str] = set()
        index_of = {t.id: t.index for t in tasks}
        # duplicates are decided in index order, so the kept set does not depend on completion order
        deduper = InOrderDeduper(list(index_of.values()), scenario.text.dedup_threshold if scenario.text.dedup else 1.0)

        def yield_triple(index: int, triple: Triple | None) -> None:
            for t in deduper.add(index, triple):
                triples[t.id] = t
                ready.append(planner.task_for(t, schedule[t.index]))

        def voice_todo() -> Iterator[VoiceTask]:
            for outcome in executor.map(text_stage, text_todo(), workers=t_workers):
                _persist(store, outcome, stats["text"], "text")
                bars["text"].update()
                yield_triple(index_of[outcome.id], outcome.record)  # type: ignore[arg-type]
                yield from drain()
            yield from drain()  # triples reused from the store after the last new one

        def drain() -> Iterator[VoiceTask]:
            while ready:
                vt = ready.pop(0)
                voice_ids.add(vt.id)
                have = store.get("clips", vt.id, Clip)
                if have is not None and (store.root / have.audio_path).is_file():
                    clips[have.id] = have
                    stats["voice"].reused += 1
                    bars["voice"].update()
                elif store.quarantined("voice", vt.id) is not None:
                    stats["voice"].quarantined += 1
                    bars["voice"].update()
                else:
                    yield vt

        for outcome in executor.map(voice_stage, voice_todo(), workers=v_workers):
            _persist(store, outcome, stats["voice"], "voice")
            bars["voice"].update()
            if outcome.record is not None:
                clips[outcome.id] = outcome.record  # type: ignore[assignment]
        for b in bars.values():
            b.close()
        t_gen = time.perf_counter() - t0

        clip_list = sorted(clips.values(), key=lambda c: c.id)
        triple_list = sorted(triples.values(), key=lambda t: t.index)
        store.write_jsonl("triples.jsonl", triple_list)
        store.write_jsonl("clips.jsonl", clip_list)
        quarantine = list(store.iter_quarantine())
        current = {t.id for t in tasks} | voice_ids  # older runs in this folder may have left others
        quarantine = [q for q in quarantine if q.id in current]
        store.write_jsonl("quarantine.jsonl", quarantine)
        store.put_bytes("duplicates.jsonl", "".join(json.dumps(d.to_dict()) + "\n" for d in deduper.duplicates).encode())
        t1 = time.perf_counter()
        dataset = None
        counts: dict[str, int] = {}
        if clip_list:
            counts = export_dataset(store, scenario, clip_list, triples, seed, scenario_yaml, run_config)
            dataset = store.root / "dataset"
        t_export = time.perf_counter() - t1
        summary = _summary(scenario, n, seed, stats, clip_list, triples, quarantine, counts, t_gen, t_export,
                           time.perf_counter() - t0, run_config)
        summary["duplicates_removed"] = deduper.counts()
        store.write_json("run.json", summary)
    return RunResult(out=store.root, dataset=dataset, summary=summary, clips=clip_list, triples=triple_list)


def _persist(store: Store, outcome: Any, st: StageStats, stage: str) -> None:
    st.busy_s += outcome.seconds
    st.usage.update(getattr(outcome, "metrics", None) or {})
    if outcome.quarantined is not None:
        store.quarantine(outcome.quarantined)
        st.quarantined += 1
        return
    for rel, data in outcome.files.items():  # payload first, record last: the record marks "done"
        store.put_bytes(rel, data)
    store.put("text" if stage == "text" else "clips", outcome.record)
    st.done += 1


class _NoBar:
    def update(self, k: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bars(n: int, progress: bool) -> dict[str, Any]:
    if not progress:
        return {"text": _NoBar(), "voice": _NoBar()}
    kw = {"total": n, "file": sys.stderr, "dynamic_ncols": True, "leave": True}
    return {
        "text": tqdm(desc="text ", position=0, unit="item", **kw),
        "voice": tqdm(desc="voice", position=1, unit="clip", **kw),
    }


def _summary(scenario: Scenario, n: int, seed: int, stats: dict[str, StageStats], clips: list[Clip],
             triples: dict[str, Triple], quarantine: list[Any], counts: dict[str, int], t_gen: float, t_export: float, t_total: float,
             run_config: dict[str, Any]) -> dict[str, Any]:
    reasons = Counter(f"{q.stage}: {_reason_kind(q.reason)}" for q in quarantine)
    audio_s = sum(c.duration_s for c in clips)
    return {
        "scenario": scenario.name,
        "requested": n,
        "seed": seed,
        "utterances": len(clips),
        "splits": counts,
        "audio_hours": round(audio_s / 3600, 4),
        "audio_minutes": round(audio_s / 60, 2),
        "voices": dict(sorted(Counter(c.voice_id for c in clips).items())),
        "accents": dict(sorted(Counter(c.accent for c in clips).items())),
        "intents": dict(sorted(Counter(triples[c.triple_id].command.intent for c in clips).items())),
        "stages": {
            name: {"done": s.done, "reused": s.reused, "quarantined": s.quarantined, "busy_s": round(s.busy_s, 2)}
            for name, s in stats.items()
        },
        "text_usage": _text_usage(scenario, stats["text"]),
        "set_aside": len(quarantine),
        "set_aside_reasons": dict(reasons.most_common()),
        "seconds": {"generate": round(t_gen, 2), "export": round(t_export, 2), "total": round(t_total, 2)},
        "run_config": run_config,
    }


def _text_usage(scenario: Scenario, st: StageStats) -> dict[str, Any]:
    """Requests and tokens this run spent (reused items cost nothing), and the cost if priced."""
    u = st.usage
    out: dict[str, Any] = {k: int(u.get(k, 0)) for k in ("requests", "retries", "prompt_tokens", "completion_tokens")}
    price = scenario.text.price
    if price is not None:
        cost = out["prompt_tokens"] / 1e6 * price.input_per_mtok + out["completion_tokens"] / 1e6 * price.output_per_mtok
        out["cost"] = round(cost, 6)
    return out


def _reason_kind(reason: str) -> str:
    """Group reasons so the summary reads 'lacks slot value(s) x12', not one line per item."""
    if "lacks slot value" in reason:
        return "utterance lacks slot value(s)"
    if reason.startswith("utterance has") and "words" in reason:
        return "utterance length out of bounds"
    if reason.startswith("duration"):
        return "implausible duration"
    if reason.startswith("request failed:"):
        return reason.split(" after ")[0][:80]
    return reason[:80]


def format_summary(summary: dict[str, Any]) -> str:
    st = summary["stages"]
    lines = [
        f"scenario {summary['scenario']}: {summary['utterances']} of {summary['requested']} utterances, "
        f"{summary['audio_minutes']} min of audio ({summary['audio_hours']} h)",
        "splits: " + ", ".join(f"{k} {v}" for k, v in summary["splits"].items()),
        "voices: " + ", ".join(f"{k} {v}" for k, v in summary["voices"].items()),
    ]
    for name in ("text", "voice"):
        s = st[name]
        lines.append(
            f"{name}: {s['done']} new, {s['reused']} reused, {s['quarantined']} set aside, {s['busy_s']} s busy"
        )
    d = summary.get("duplicates_removed") or {}
    if d.get("exact") or d.get("near"):
        lines.append(f"duplicates removed: {d['exact']} exact, {d['near']} near (see duplicates.jsonl)")
    u = summary.get("text_usage") or {}
    if u.get("requests"):
        cost = f", cost {u['cost']:.4f}" if "cost" in u else ""
        lines.append(
            f"text usage: {u['requests']} requests ({u['retries']} retried), {u['prompt_tokens']} prompt + "
            f"{u['completion_tokens']} completion tokens{cost}"
        )
    lines.append(
        f"time: generate {summary['seconds']['generate']} s, export {summary['seconds']['export']} s, "
        f"total {summary['seconds']['total']} s"
    )
    if summary["set_aside"]:
        lines.append(f"set aside: {summary['set_aside']} (see quarantine.jsonl)")
        for reason, count in summary["set_aside_reasons"].items():
            lines.append(f"  {count} x {reason}")
    return "\n".join(lines)


def load_summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text())
