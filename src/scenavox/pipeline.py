"""Runs the stages of a corpus build as one stream, resumable from the corpus folder.

text tasks -> [text stage] -> triples -> [voice stage] -> clips -> export

Items already in the store are reused without loading any model, so a rerun after a
crash (or kill -9) redoes only what was missing, and the result equals an uninterrupted
run: every item is a pure function of (scenario, seed, index).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .dialogues import write_dialogues
from .errors import UserError
from .executors import LocalExecutor
from .publish.export import export_dataset
from .records import Clip, TextTask, Triple, VoiceTask
from .sampling import largest_remainder
from .scenario import Scenario
from .store import Store
from .text.backends import is_remote
from .text.dedup import InOrderDeduper
from .text.dialogue import plan_tasks
from .text.stage import TextStage
from .voice.dialogue import clip_matches, voice_slots
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

    # -- notebook helpers ----------------------------------------------------------------
    def to_pandas(self) -> Any:
        """One row per clip: text, command, reply, voice, accent, prosody, duration."""
        import pandas as pd

        by_id = {t.id: t for t in self.triples}
        return pd.DataFrame([
            {"id": c.id, "text": c.text, "intent": by_id[c.triple_id].command.intent,
             "slots": by_id[c.triple_id].command.slots, "reply": by_id[c.triple_id].reply,
             "voice": c.voice_id, "accent": c.accent, "duration_s": c.duration_s, **c.prosody}
            for c in self.clips
        ])

    def audio(self, i: int = 0) -> Any:
        """An inline audio player for clip i (IPython)."""
        from IPython.display import Audio

        return Audio(data=(self.out / self.clips[i].audio_path).read_bytes())

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>{s['scenario']}</b>: {s['utterances']} utterances, {s['audio_minutes']} min of audio, "
                f"splits {s['splits']}, set aside {s['set_aside']} &rarr; <code>{self.dataset}</code>")


def plan_workers(workers: int | None, text_remote: bool = False) -> tuple[int, int, int, int]:
    """(text workers, text threads, voice workers, voice threads) for this machine.

    workers=0: everything in this process. Otherwise the LLM (the slowest stage) gets one
    single-threaded worker per core and the voice stage one more that runs in their gaps.
    text_remote: the LLM is a server (openai backend). The text stage then runs on threads in
    this process (its `concurrency` requests in flight) and the voice stage gets the cores.
    Voice workers always use one thread: Piper's float results, hence the audio bytes, depend
    on the thread count, and a resumed run must reproduce the same bytes.
    """
    cores = max(1, (workers or os.cpu_count() or 2))
    if text_remote:
        return (0, 1, 0, 1) if workers == 0 else (0, 1, cores, 1)
    # llama.cpp threads spin at barriers: a 2-thread model on 2 busy cores (voice and QA work
    # alongside) slowed to a crawl here. Single-threaded workers, one per core, never spin.
    if workers == 0:
        return 0, 1, 0, 1
    return cores, 1, 1, 1


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
    """Build (or resume) the corpus: n utterances that passed every stage.

    Items that are set aside are replaced by further planned items (top-up passes), up to
    MAX_PLANNED_FACTOR x n, so --n 200 gives 200 utterances when the backends allow it. Top-ups
    go to the accents below their share, so the corpus keeps the scenario's accent weights.
    """
    n = n if n is not None else scenario.size.n
    seed = seed if seed is not None else scenario.seed
    if n < 1:
        raise UserError(f"--n must be at least 1 (got {n})")
    if text_backend is not None:  # the backend is part of the text identity (item ids), so put it in the scenario
        scenario = scenario.with_text(backend=text_backend)
    run = _Run(scenario, n, seed, Store(out if out is not None else default_out(scenario)),
               executor or LocalExecutor(), workers, progress)
    return run.execute()


MAX_PLANNED_FACTOR = 5


class _Run:
    def __init__(self, scenario: Scenario, n: int, seed: int, store: Store, executor: Any, workers: int | None,
                 progress: bool):
        self.scenario, self.n, self.seed, self.store, self.executor = scenario, n, seed, store, executor
        self.t_workers, t_threads, self.v_workers, v_threads = plan_workers(
            workers, text_remote=is_remote(scenario.text.backend))
        self.text_stage = TextStage(scenario, threads=t_threads)
        self.voice_stage = VoiceStage(threads=v_threads)
        self.planner = VoicePlanner(scenario, seed)  # fails early on a voice/accent mismatch
        cap = MAX_PLANNED_FACTOR * n
        # one_turn: plan_commands(); dialogues: turns grouped per dialogue (text/dialogue.py)
        self.tasks = plan_tasks(scenario, cap, seed, extra_fingerprint=self.text_stage.prompts.fingerprint)
        self.schedule = voice_slots(self.planner, self.tasks)  # a dialogue keeps its voice
        self.index_of = {t.id: t.index for t in self.tasks}
        self.quotas = Counter(self.schedule[i][0] for i in range(n))  # accents of the first n slots
        self._tried: set[int] = set()  # plan indices sent through the stages
        # duplicates are decided in index order, so the kept set does not depend on completion order
        self.deduper = InOrderDeduper(list(range(n)),
                                      scenario.text.dedup_threshold if scenario.text.dedup else 1.0)
        self.progress = progress
        self.stats = {"text": StageStats(), "voice": StageStats(), "qa": StageStats()}
        self.qa_on = scenario.qa.enabled
        self.qa: dict[str, Any] = {}  # clip id -> QAResult
        self.triples: dict[str, Triple] = {}
        self.clips: dict[str, Clip] = {}  # by triple id
        self.ready: list[VoiceTask] = []
        self.attempted: set[str] = set()  # ids of text and voice tasks this run looked at
        self.run_config = {
            "scenario": scenario.name, "n": n, "seed": seed, "text_backend": self.text_stage.backend_name,
            "text_model": self.text_stage.cfg.model or "bundled", "sample_rate": scenario.audio.sample_rate,
            "executor": getattr(executor, "name", type(executor).__name__),
        }

    # -- the stream of one pass -------------------------------------------------------
    def _text_todo(self, tasks: list[TextTask]) -> Iterator[TextTask]:
        for task in tasks:
            self.attempted.add(task.id)
            have = self.store.get(Store.TEXT, task.id, Triple)
            if have is not None:
                self.stats["text"].reused += 1
                self.bars["text"].update()
                self._accept(task.index, have)
            elif self.store.quarantined("text", task.id) is not None:
                self.stats["text"].quarantined += 1
                self.bars["text"].update()
                self._accept(task.index, None)
            else:
                yield task

    def _accept(self, index: int, triple: Triple | None) -> None:
        """A text item finished (None: set aside); queue for voicing what dedup keeps."""
        for t in self.deduper.add(index, triple):
            self.triples[t.id] = t
            self.ready.append(self.planner.task_for(t, self.schedule[t.index]))

    def _voice_todo(self, tasks: list[TextTask]) -> Iterator[VoiceTask]:
        for outcome in self.executor.map(self.text_stage, self._text_todo(tasks), workers=self.t_workers):
            _persist(self.store, outcome, self.stats["text"], "text")
            self.bars["text"].update()
            self._accept(self.index_of[outcome.id], outcome.record)  # type: ignore[arg-type]
            yield from self._drain()
        yield from self._drain()  # triples reused from the store after the last new one

    def _drain(self) -> Iterator[VoiceTask]:
        while self.ready:
            vt = self.ready.pop(0)
            self.attempted.add(vt.id)
            have = self.store.get(Store.CLIPS, vt.id, Clip)
            if (have is not None and self.store.file(have.audio_path).is_file()
                    and clip_matches(self.store.root, have, vt)):
                self.clips[have.triple_id] = have
                self.stats["voice"].reused += 1
                self.bars["voice"].update()
            elif self.store.quarantined("voice", vt.id) is not None:
                self.stats["voice"].quarantined += 1
                self.bars["voice"].update()
            else:
                yield vt

    def _run_pass(self, tasks: list[TextTask]) -> None:
        self._tried.update(t.index for t in tasks)
        for outcome in self.executor.map(self.voice_stage, self._voice_todo(tasks), workers=self.v_workers):
            _persist(self.store, outcome, self.stats["voice"], "voice")
            self.bars["voice"].update()
            if outcome.record is not None:
                self.clips[outcome.record.triple_id] = outcome.record  # type: ignore[union-attr]

    def _check(self) -> None:
        """QA on every clip so far: results already stored are reused, only new clips are measured."""
        if not self.qa_on or not self.clips:
            return
        from .qa import run_qa

        t = time.perf_counter()
        results, _ = run_qa(self.store, self.scenario, list(self.clips.values()), self.triples, report=False,
                            workers=0, progress=self.progress, extras=False)
        self.qa = {r.id: r for r in results}
        st = self.stats["qa"]
        st.busy_s += time.perf_counter() - t
        st.done = len(self.qa)
        st.quarantined = sum(1 for r in self.qa.values() if not r.passed)

    def _passing(self) -> list[Clip]:
        if not self.qa_on:
            return list(self.clips.values())
        return [c for c in self.clips.values() if c.id in self.qa and self.qa[c.id].passed]

    # -- accents stay on target after QA ----------------------------------------------------
    def _accent(self, c: Clip) -> str:
        return self.schedule[self.triples[c.triple_id].index][0]

    def _targets(self, have: Counter[str]) -> dict[str, int]:
        """Passing clips wanted per accent (`have`: passing so far): the quotas of the first n planned
        slots, except that an accent whose planned items are all used keeps what it has and its
        places go to the others."""
        untried = Counter(self.schedule[t.index][0] for t in self.tasks if t.index not in self._tried)
        targets = dict(self.quotas)
        while True:
            spent = {a for a in targets if untried[a] == 0 and have[a] < targets[a]}
            open_ = [a for a in targets if a not in spent and untried[a] > 0]
            if not spent or not open_:
                return targets
            for a in spent:
                targets[a] = have[a]
            spare = self.n - sum(targets.values())
            weights = [self.planner.weights[self.planner.accents.index(a)] for a in open_]
            for a, k in zip(open_, largest_remainder(spare, weights)):
                targets[a] += k

    def _top_up(self, need: dict[str, int], have: Counter[str]) -> list[TextTask]:
        """The next untried tasks (plan order) of the accents in need, as many as each accent's
        pass rate so far says.

        QA drops some voices' clips far more often than others' (Whisper base hears eSpeak's
        Caribbean English much worse than Piper's US English), so topping up by the overall
        pass rate would leave the hard accents short of their weights."""
        tried = Counter(self.schedule[i][0] for i in self._tried)
        budget = {a: math.ceil(k / max(0.25, have[a] / max(1, tried[a]))) for a, k in need.items()}
        todo: list[TextTask] = []
        decided: dict[Any, bool] = {}
        for t in self.tasks:
            if t.index in self._tried:
                continue
            unit = t.index if t.dialogue is None else ("dialogue", t.dialogue.number)  # a dialogue goes whole
            if unit not in decided:
                if all(b <= 0 for b in budget.values()):
                    break
                decided[unit] = budget.get(self.schedule[t.index][0], 0) > 0
            if decided[unit]:
                todo.append(t)
                budget[self.schedule[t.index][0]] -= 1
        return todo

    def _choose(self, targets: dict[str, int]) -> list[Clip]:
        """The corpus: per accent, its target of passing clips in plan order, then (when the
        plan ran out) the next passing clips of any accent up to n."""
        left = dict(targets)
        chosen, spare = [], []
        for c in sorted(self._passing(), key=lambda c: self.triples[c.triple_id].index):
            a = self._accent(c)
            if left.get(a, 0) > 0:
                left[a] -= 1
                chosen.append(c)
            else:
                spare.append(c)
        return chosen + spare[: self.n - len(chosen)]

    # -- the whole run --------------------------------------------------------------------
    def execute(self) -> RunResult:
        store, n = self.store, self.n
        t0 = time.perf_counter()
        with store.lock():
            scenario_yaml = self.scenario.to_yaml()
            store.put_bytes("scenario.yaml", scenario_yaml.encode())
            self.bars = _bars(n, self.progress)
            todo = self.tasks[:n]
            while True:
                self._run_pass(todo)
                self._check()
                have = Counter(self._accent(c) for c in self._passing())
                targets = self._targets(have)
                need = {a: k - have[a] for a, k in targets.items() if k > have[a]}
                todo = self._top_up(need, have) if need else []
                if not todo:
                    break
                self.deduper.extend([t.index for t in todo])
                self.bars["text"].total = len(self._tried) + len(todo)
                self.bars["text"].refresh()
            for b in self.bars.values():
                b.close()
            t_gen = time.perf_counter() - t0

            chosen = self._choose(targets)
            accent_shortfall = {a: q - targets[a] for a, q in self.quotas.items() if targets[a] < q}
            clip_list = sorted(chosen, key=lambda c: c.id)
            triple_list = sorted((self.triples[c.triple_id] for c in chosen), key=lambda t: t.index)
            triples = {t.id: t for t in triple_list}
            qa_failed = sorted((r for r in self.qa.values() if not r.passed), key=lambda r: r.id)
            if self.qa_on:
                store.write_jsonl(Store.qa_rel("failed.jsonl"), qa_failed)
            qa_summary, qa_results = None, []
            if self.qa_on and clip_list:  # headline numbers of what is exported, for the card and the summary
                from .qa import run_qa

                # extras (distinct speakers, off-topic replies) when installed; the per-pass checks skip them
                qa_results, qa_summary = run_qa(store, self.scenario, clip_list, triples, report=False, workers=0,
                                                extras=None)
            store.write_jsonl("triples.jsonl", triple_list)
            store.write_jsonl("clips.jsonl", clip_list)
            # the folder may hold items of earlier runs (other n or seed): report this run's only
            quarantine = [q for q in store.iter_quarantine() if q.id in self.attempted]
            store.write_jsonl("quarantine.jsonl", quarantine)
            store.put_bytes("duplicates.jsonl",
                            "".join(json.dumps(d.to_dict()) + "\n" for d in self.deduper.duplicates).encode())
            t1 = time.perf_counter()
            dataset = None
            counts: dict[str, int] = {}
            dialogues = write_dialogues(store, self.scenario, self.seed, clip_list, triples)
            if clip_list:
                from .qa import qa_columns

                cols = {c.id: qa_columns(self.qa.get(c.id)) for c in clip_list} if self.qa_on else None
                counts = export_dataset(store, self.scenario, clip_list, triples, self.seed, scenario_yaml,
                                        self.run_config, extra_columns=cols, dialogues=dialogues)
                dataset = store.dataset_dir
                if qa_summary is not None:  # the report also reads the exported splits (voice/triple leakage)
                    from .qa.run import finish_report

                    finish_report(store, self.scenario, qa_results, qa_summary, dropped=qa_failed)
            t_export = time.perf_counter() - t1
            summary = _summary(self.scenario, n, self.seed, self.stats, clip_list, triples, quarantine, counts,
                               t_gen, t_export, time.perf_counter() - t0, self.run_config)
            summary["qa"] = _qa_headline(qa_summary, qa_failed, self.stats["qa"]) if self.qa_on else None
            summary["mix"] = getattr(counts, "mix", None) or {}  # realized synthetic/real share per split
            summary["duplicates_removed"] = self.deduper.counts()
            summary["planned"] = {"tried": len(self._tried), "cap": len(self.tasks)}
            summary["accent_shortfall"] = accent_shortfall
            if dialogues or self.scenario.interaction_rhythm.mode.value != "one_turn":
                summary["dialogues"] = {"rendered": len(dialogues),
                                        "audio_minutes": round(sum(d.duration_s for d in dialogues) / 60, 2)}
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
    store.put(Store.TEXT if stage == "text" else Store.CLIPS, outcome.record)
    st.done += 1


def _bars(n: int, progress: bool) -> dict[str, Any]:
    kw = {"total": n, "file": sys.stderr, "dynamic_ncols": True, "disable": not progress}
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
        "reply_audio_minutes": round(sum(c.reply_duration_s or 0.0 for c in clips) / 60, 2),
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


def _qa_headline(full: dict[str, Any] | None, failed: list[Any], st: StageStats) -> dict[str, Any]:
    """What the run summary says about quality: the exported clips' scores, and what QA dropped."""
    from .qa.corpus import reason_kind

    reasons = Counter(reason_kind(r) for f in failed for r in f.reasons)
    out: dict[str, Any] = {"checked": st.done, "dropped": len(failed), "dropped_reasons": dict(reasons.most_common())}
    if full:
        from .qa.corpus import compact_summary

        c = compact_summary(full)
        for key in ("recognizer", "wer_mean", "clean_wer_mean", "entity_recall", "dnsmos_ovrl_mean",
                    "words_per_s_mean", "accent_balance_tvd", "intent_balance_tvd", "distinct_voice_ids",
                    "distinct_speakers", "effective_speakers", "off_topic_rate", "not_measured"):
            out[key] = c.get(key)
    return out


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
    for name in ("text", "voice"):
        s = st[name]
        lines.append(
            f"{name}: {s['done']} new, {s['reused']} reused, {s['quarantined']} set aside, {s['busy_s']} s busy"
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
    if d.get("exact") or d.get("near"):
        lines.append(f"duplicates removed: {d['exact']} exact, {d['near']} near (see duplicates.jsonl)")
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
