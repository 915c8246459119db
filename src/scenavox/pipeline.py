"""Runs the stages of a corpus build as one stream, resumable from the corpus folder.

text tasks -> [text stage] -> triples -> [voice stage] -> clean clips -> [acoustics stage] -> clips -> export

Items already in the store are reused without loading any model, so a rerun after a
crash (or kill -9) redoes only what was missing, and the result equals an uninterrupted
run: every item is a pure function of (scenario, seed, index).
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .acoustics.stage import AcousticsStage, clip_scene, placed_clip
from .dialogues import write_dialogues
from .errors import UserError
from .executors import LocalExecutor
from .publish.export import export_dataset
from .quotas import MAX_PLANNED_FACTOR, AccentQuotas
from .records import Clip, Quarantined, SceneTask, TextTask, Triple, VoiceTask
from .scenario import Scenario
from .stages import Outcome
from .store import Store
from .summary import RunFacts, StageStats
from .text.backends import is_remote
from .text.dedup import InOrderDeduper
from .text.dialogue import plan_tasks
from .text.stage import GroupedTextStage, Pairing, TextGroup, TextStage
from .voice.replies import clip_matches
from .voice.speakers import voice_slots
from .voice.stage import VoicePlanner, VoiceStage, speech_path


# Threads of the per-pass QA, in this process while the workers wait: two clips at once, one thread each
# (qa/stage.py, QAStage clips_at_once). Each clip in flight holds its own DNSMOS and Whisper working memory
# (about 100 MB). During a pass each clip is measured as soon as it is placed, one at a time on a thread of
# this process (_Run._measure_ahead), so the per-pass QA finds the results stored; the build's peak memory,
# which fell in that QA, went down (default car build: 2841 against 2977 MB).
QA_THREADS = 2


def default_out(scenario: Scenario) -> Path:
    return Path("outputs") / scenario.name


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


def run_pipeline(
    scenario: Scenario,
    *,
    n: int | None = None,
    seed: int | None = None,
    out: Path | str | None = None,
    workers: int | None = None,
    text_backend: str | None = None,
    progress: bool = True,
    executor: Any = None,
) -> tuple[RunFacts, Store]:
    """Run (or resume) every stage of a build; `scenavox.build` is the public entry."""
    n = n if n is not None else scenario.size.n
    seed = seed if seed is not None else scenario.seed
    if n < 1:
        raise UserError(f"--n must be at least 1 (got {n})")
    if text_backend is not None:  # the backend is part of the text identity (item ids), so put it in the scenario
        scenario = scenario.with_text(backend=text_backend)
    store = Store(out if out is not None else default_out(scenario))
    executor = executor or LocalExecutor()
    try:
        run = _Run(scenario, n, seed, store, executor, workers, progress)
        return run.execute(), store
    finally:  # the worker pools live for the whole run (every pass reuses them), and end with it
        close = getattr(executor, "close", None)
        if close is not None:
            close()


class _Run:
    def __init__(self, scenario: Scenario, n: int, seed: int, store: Store, executor: Any, workers: int | None,
                 progress: bool):
        self.scenario, self.n, self.seed, self.store, self.executor = scenario, n, seed, store, executor
        self.t_workers, t_threads, self.v_workers, v_threads = plan_workers(
            workers, text_remote=is_remote(scenario.text.backend))
        self.text_stage = TextStage(scenario, threads=t_threads)
        self.grouped_text = GroupedTextStage(self.text_stage)
        self.texting: dict[str, TextGroup] = {}  # text groups sent to the workers, by id
        self.passing_ids: set[str] = set()  # the text items the current pass asks for
        self.text_ahead: set[str] = set()  # text items this run wrote before a pass asked for them
        self.voice_stage = VoiceStage(threads=v_threads)
        # Acoustics (numpy/scipy, no model: 0.05-0.25 s per 3-s clip here) runs in this process, which
        # otherwise waits on the workers; its room banks are built once per run, not once per worker and pass.
        self.acoustics_stage, self.a_workers = AcousticsStage(threads=1), 0
        self.planner = VoicePlanner(scenario, seed)  # fails early on a voice/accent mismatch
        cap = MAX_PLANNED_FACTOR * n
        # one_turn: plan_commands(); dialogues: turns grouped per dialogue (text/dialogue.py)
        self.tasks = plan_tasks(scenario, cap, seed, extra_fingerprint=self.text_stage.prompts.fingerprint)
        self.pairing = Pairing(self.tasks, self.text_stage.group_key)  # text items answered two at a time
        self.schedule = voice_slots(self.planner, self.tasks)  # a dialogue keeps its voice
        self.index_of = {t.id: t.index for t in self.tasks}
        self.quotas = AccentQuotas(self.tasks, [slot[0] for slot in self.schedule], n,
                                   dict(zip(self.planner.accents, self.planner.weights)))
        # duplicates are decided in index order, so the kept set does not depend on completion order
        # the wording cap only while the judge is on: the fake backend's fixed sentences would all hit it
        cap_wording = scenario.text.dedup and self.text_stage.judged
        self.deduper = InOrderDeduper(list(range(n)),
                                      scenario.text.dedup_threshold if scenario.text.dedup else 1.0,
                                      scenario.text.max_wording_share if cap_wording else None)
        self.progress = progress
        self.stats = {"text": StageStats(), "voice": StageStats(), "acoustics": StageStats(), "qa": StageStats()}
        self.qa_on = scenario.qa.enabled
        self.qa: dict[str, Any] = {}  # clip id -> QAResult
        # one QA stage for every pass: its models (Whisper, DNSMOS, VAD) load once, not once per pass
        self._qa_stage: Any = None
        self._qa_executor = LocalExecutor()
        # QA of each clip as soon as it is placed, on one thread of this process, beside the other stages
        # instead of after the pass (see QA_THREADS)
        self._qa_ahead: ThreadPoolExecutor | None = None
        self._qa_pending: list[Future[float]] = []
        self._ahead_since = (0.0, 0.0)
        self.triples: dict[str, Triple] = {}
        self.clips: dict[str, Clip] = {}  # by triple id
        self.ready: list[VoiceTask] = []  # planned clips, for the voice stage
        self.voicing: dict[str, VoiceTask] = {}  # sent to the voice stage
        self.voiced: list[SceneTask] = []  # clean clips, for the acoustics stage
        self.placing: dict[str, Clip] = {}  # clean clips sent to the acoustics stage
        self.attempted: set[str] = set()  # ids of text and voice tasks this run looked at
        self.run_config = {
            "scenario": scenario.name, "n": n, "seed": seed, "text_backend": self.text_stage.backend_name,
            "text_model": self.text_stage.cfg.model or "bundled", "sample_rate": scenario.audio.sample_rate,
            "executor": getattr(executor, "name", type(executor).__name__),
        }

    # -- the stream of one pass -------------------------------------------------------
    def _text_todo(self, tasks: list[TextTask]) -> Iterator[TextGroup]:
        """The pass's text items still to write, in groups of one or two (text/stage.py: Pairing). An item
        whose partner is stored already is still written with it, so that its answers are the ones an
        uninterrupted run writes; the partner's new outcome is not kept. A partner this pass does not ask
        for is written and stored (a later pass, or a larger build, reuses it)."""
        self.passing_ids = {t.id for t in tasks}
        sent: set[str] = set()
        for task in tasks:
            if task.id in sent:
                continue
            self.attempted.add(task.id)
            have = self.store.get(Store.TEXT, task.id, Triple)
            if have is not None:
                self.stats["text"].reused += task.id not in self.text_ahead  # reused: from an earlier run
                self.bars["text"].update()
                self._accept(task.index, have)
            elif self.store.quarantined("text", task.id) is not None:
                self.stats["text"].quarantined += task.id not in self.text_ahead  # counted when written
                self.bars["text"].update()
                self._accept(task.index, None)
            else:
                mate = self.pairing.of(task)
                group, keep = [task], [task.id]
                if mate is not None:
                    group = sorted([task, mate], key=lambda t: t.index)
                    stored = self.store.get(Store.TEXT, mate.id, Triple) is not None or \
                        self.store.quarantined("text", mate.id) is not None
                    if not stored:  # kept even when this pass does not ask for it
                        keep.append(mate.id)
                        if mate.id in self.passing_ids:
                            self.attempted.add(mate.id)
                sent.update(keep)
                item = TextGroup(id=task.id, tasks=group, keep=keep)
                self.texting[item.id] = item
                yield item

    def _accept(self, index: int, triple: Triple | None) -> None:
        """A text item finished (None: set aside); queue for voicing what dedup keeps."""
        for t in self.deduper.add(index, triple):
            self.triples[t.id] = t
            self.ready.append(self.planner.task_for(t, self.schedule[t.index]))

    def _voice_todo(self, tasks: list[TextTask]) -> Iterator[VoiceTask]:
        for done in self.executor.map(self.grouped_text, self._text_todo(tasks), workers=self.t_workers):
            group = self.texting.pop(done.id)
            parts = done.parts or [  # the worker's guard (Stage.run_one) caught what the group stage did not
                Outcome(id=i, quarantined=Quarantined(id=i, stage="text", reason=done.quarantined.reason
                                                      if done.quarantined else "no outcome"))
                for i in group.keep]
            for outcome in parts:  # the group's time, shared among the items it wrote
                outcome.seconds, outcome.cpu_s = done.seconds / len(parts), done.cpu_s / len(parts)
                _persist(self.store, outcome, self.stats["text"], Store.TEXT)
                if outcome.id in self.passing_ids:
                    self.bars["text"].update()
                    self._accept(self.index_of[outcome.id], outcome.record)  # type: ignore[arg-type]
                else:  # a partner from beyond this pass: a later pass (or build) finds it stored
                    self.text_ahead.add(outcome.id)
            yield from self._drain()
        yield from self._drain()  # triples reused from the store after the last new one

    def _drain(self) -> Iterator[VoiceTask]:
        """The planned clips still to voice. A clip in the store is reused as it is; one that an interrupted
        run voiced but did not place goes straight to the acoustics stage."""
        root = self.store.root
        while self.ready:
            vt = self.ready.pop(0)
            self.attempted.add(vt.id)
            have = self.store.get(Store.CLIPS, vt.id, Clip)
            if have is not None and (root / have.audio_path).is_file() and clip_matches(root, have, vt):
                self.clips[have.triple_id] = have
                self.stats["voice"].reused += 1
                self.bars["voice"].update()
                self._drop_voiced(vt.id)  # left by a run killed right after placing the clip
            elif self.store.quarantined("voice", vt.id) is not None:
                self.stats["voice"].quarantined += 1
                self.bars["voice"].update()
            elif self.store.quarantined("acoustics", vt.id) is not None:
                self.stats["acoustics"].quarantined += 1
                self.bars["voice"].update()
            elif (voiced := self.store.get(Store.VOICED, vt.id, Clip)) is not None and clip_matches(root, voiced, vt) \
                    and (root / voiced.audio_path).is_file():
                self.stats["voice"].reused += 1
                self.bars["voice"].update()
                self._to_place(vt, voiced, (root / voiced.audio_path).read_bytes())
            else:
                self.voicing[vt.id] = vt
                yield vt

    def _scene_todo(self, tasks: list[TextTask]) -> Iterator[SceneTask]:
        for outcome in self.executor.map(self.voice_stage, self._voice_todo(tasks), workers=self.v_workers):
            vt = self.voicing.pop(outcome.id)
            _persist(self.store, outcome, self.stats["voice"], Store.VOICED)
            self.bars["voice"].update()
            if outcome.record is not None:
                self._to_place(vt, outcome.record, outcome.files[outcome.record.audio_path])  # type: ignore[union-attr]
            yield from self._pop_voiced()
        yield from self._pop_voiced()  # clips voiced by an earlier run, after the last new one

    def _to_place(self, vt: VoiceTask, clean: Clip, speech: bytes) -> None:
        self.placing[vt.id] = clean
        self.voiced.append(clip_scene(vt, speech))

    def _pop_voiced(self) -> Iterator[SceneTask]:
        while self.voiced:
            yield self.voiced.pop(0)

    def _run_pass(self, tasks: list[TextTask]) -> None:
        self.quotas.mark_tried(tasks)
        for outcome in self.executor.map(self.acoustics_stage, self._scene_todo(tasks), workers=self.a_workers):
            clean = self.placing.pop(outcome.id)
            if outcome.record is not None:
                outcome = replace(outcome, record=placed_clip(clean, outcome.record))  # type: ignore[arg-type]
                self.clips[clean.triple_id] = outcome.record  # type: ignore[assignment]
            _persist(self.store, outcome, self.stats["acoustics"], Store.CLIPS)
            self._drop_voiced(outcome.id)  # its speech is in audio/ (and clean/) now
            if outcome.record is not None:
                self._measure_ahead(outcome.record)  # type: ignore[arg-type]

    def _drop_voiced(self, clip_id: str) -> None:
        """Remove the voice stage's output of a clip once the acoustics stage has placed it."""
        (self.store.root / speech_path(clip_id)).unlink(missing_ok=True)
        self.store.path(Store.VOICED, clip_id).unlink(missing_ok=True)

    def _drop_empty_voiced_folder(self) -> None:
        """Every clip is placed by now: an empty voice/ folder would only puzzle a user."""
        folder = self.store.root / Store.VOICED
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()

    def _qa_stage_now(self) -> Any:
        if self._qa_stage is None:
            from .qa import thresholds_for
            from .qa.run import qa_stage

            self._qa_stage = qa_stage(self.scenario, thresholds_for(self.scenario), QA_THREADS)
        return self._qa_stage

    def _measure_ahead(self, clip: Clip) -> None:
        """Queue a placed clip's QA on this process's QA thread (its result is stored; _run_qa reuses it)."""
        if not self.qa_on:
            return
        if self._qa_ahead is None:
            self._qa_ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenavox-qa")
        if not self._qa_pending:  # this process's CPU, and this (the driver's) thread's, from the first clip on
            self._ahead_since = (time.process_time(), time.thread_time())
        self._qa_pending.append(self._qa_ahead.submit(self._measure_one, self._qa_stage_now(), clip,
                                                      self.triples[clip.triple_id]))

    def _measure_one(self, stage: Any, clip: Clip, triple: Triple) -> float:
        """One clip's QA on the QA thread; its wall seconds."""
        from .qa.run import measure_clip

        t = time.perf_counter()
        try:
            if measure_clip(self.store, clip, triple, stage):
                self.bars["qa"].update()
        except Exception:  # noqa: BLE001 - the per-pass QA measures the clip again and stops on, or reports, it
            pass
        return time.perf_counter() - t

    def _finish_ahead(self) -> None:
        """Wait for the clips queued on the QA thread, and count their time as QA's. Their CPU seconds are
        this process's less the driver thread's: the recognizer runs on threads of its own, and the driver
        thread does the rest of this process's work (acoustics, the store)."""
        if not self._qa_pending:
            return
        st = self.stats["qa"]
        st.busy_s += sum(fut.result() for fut in self._qa_pending)
        process0, driver0 = self._ahead_since
        st.cpu_s += max(0.0, (time.process_time() - process0) - (time.thread_time() - driver0))
        st.ahead += len(self._qa_pending)
        self._qa_pending = []

    def _stop_ahead(self) -> None:
        """The run ends (or fails): drop the queued clips, not measure them, and let the QA thread go."""
        if self._qa_ahead is not None:
            self._qa_ahead.shutdown(wait=True, cancel_futures=True)
            self._qa_ahead = None
        self._qa_pending = []

    def _run_qa(self) -> None:
        """QA on every clip so far: results already stored are reused, only new clips are measured."""
        if not self.qa_on or not self.clips:
            return
        from .qa import run_qa

        self._finish_ahead()
        t, c = time.perf_counter(), time.process_time()
        # QA runs in the driver whatever the executor of text and voice (test_ray compares runs with QA off)
        results, _ = run_qa(self.store, self.scenario, list(self.clips.values()), self.triples,
                            executor=self._qa_executor, stage=self._qa_stage_now(), threads=QA_THREADS, report=False,
                            workers=0, progress=self.progress, extras=False)
        self.qa = {r.id: r for r in results}
        st = self.stats["qa"]
        st.busy_s += time.perf_counter() - t
        st.cpu_s += time.process_time() - c  # all of this process's threads (the recognizer may use several)
        st.done = len(self.qa)
        st.quarantined = sum(1 for r in self.qa.values() if not r.passed)

    def _passing(self) -> list[Clip]:
        if not self.qa_on:
            return list(self.clips.values())
        return [c for c in self.clips.values() if c.id in self.qa and self.qa[c.id].passed]

    def _accent(self, c: Clip) -> str:
        return self.schedule[self.triples[c.triple_id].index][0]

    # -- the whole run --------------------------------------------------------------------
    def execute(self) -> RunFacts:
        store, n = self.store, self.n
        t0 = time.perf_counter()
        with store.lock():
            scenario_yaml = self.scenario.to_yaml()
            store.put_bytes("scenario.yaml", scenario_yaml.encode())
            self.bars = _bars(n, self.progress, qa=self.qa_on)
            todo = self.quotas.first()
            try:
                while True:
                    self._run_pass(todo)
                    self._run_qa()
                    todo, targets = self.quotas.top_up(Counter(self._accent(c) for c in self._passing()))
                    if not todo:
                        break
                    self.deduper.extend([t.index for t in todo])
                    self.bars["text"].total = len(self.quotas.tried) + len(todo)
                    self.bars["text"].refresh()
            finally:
                self._stop_ahead()
            for b in self.bars.values():
                b.close()
            # no pass is left: the text and voice workers (a loaded model each) would only hold memory while
            # this process loads the final checks' models and writes the export
            close = getattr(self.executor, "close", None)
            if close is not None:
                close()
            self._qa_stage = None  # nor QA's models: the final checks measure nothing new
            self._drop_empty_voiced_folder()
            t_gen = time.perf_counter() - t0

            chosen = self.quotas.choose(self._passing(), lambda c: self.triples[c.triple_id].index, targets)
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
                qa_results, qa_summary = run_qa(store, self.scenario, clip_list, triples, executor=LocalExecutor(),
                                                report=False, workers=0, extras=None)
            store.write_jsonl("triples.jsonl", triple_list)
            store.write_jsonl("clips.jsonl", clip_list)
            # the folder may hold items of earlier runs (other n or seed): report this run's only
            quarantine = [q for q in store.iter_quarantine() if q.id in self.attempted]
            store.write_jsonl("quarantine.jsonl", quarantine)
            self.deduper.write(store)
            t1 = time.perf_counter()
            dataset = None
            counts: dict[str, int] = {}
            dialogues = write_dialogues(
                store, self.scenario, self.seed, clip_list, triples, self.planner.acoustics,
                place=lambda scenes: self.executor.map(self.acoustics_stage, scenes, workers=self.a_workers))
            if clip_list:
                from .qa import qa_columns

                cols = {c.id: qa_columns(self.qa.get(c.id)) for c in clip_list} if self.qa_on else None
                from .qa.corpus import compact_summary

                counts = export_dataset(store, self.scenario, clip_list, triples, self.seed, scenario_yaml,
                                        self.run_config, extra_columns=cols, dialogues=dialogues,
                                        qa=compact_summary(qa_summary) if qa_summary is not None else None)
                dataset = store.dataset_dir
                if qa_summary is not None:  # the report gives the leakage the export measured on its rows
                    from .qa.run import finish_report

                    finish_report(store, self.scenario, qa_results, qa_summary, dropped=qa_failed,
                                  leakage=counts.leakage)
            t_export = time.perf_counter() - t1
        return RunFacts(
            scenario=self.scenario, n=n, seed=self.seed, run_config=self.run_config, stats=self.stats,
            clips=clip_list, triples=triple_list, quarantine=quarantine, counts=counts, dataset=dataset,
            seconds={"generate": t_gen, "export": t_export, "total": time.perf_counter() - t0},
            qa_summary=qa_summary, qa_failed=qa_failed, duplicates=self.deduper.counts(),
            planned={"tried": len(self.quotas.tried), "cap": len(self.tasks)},
            accent_shortfall=self.quotas.shortfall(targets), dialogues=dialogues)


def _persist(store: Store, outcome: Any, st: StageStats, kind: str) -> None:
    """A stage's outcome into the store: its files, then its record in `kind`/ (or the quarantine)."""
    st.busy_s += outcome.seconds
    st.item_s.append(outcome.seconds)
    st.cpu_s += outcome.cpu_s
    st.item_cpu_s.append(outcome.cpu_s)
    st.usage.update(getattr(outcome, "metrics", None) or {})
    if outcome.quarantined is not None:
        store.quarantine(outcome.quarantined)
        st.quarantined += 1
        return
    for rel, data in outcome.files.items():  # payload first, record last: the record marks "done"
        store.put_bytes(rel, data)
    store.put(kind, outcome.record)
    st.done += 1


def _bars(n: int, progress: bool, qa: bool = False) -> dict[str, Any]:
    kw = {"total": n, "file": sys.stderr, "dynamic_ncols": True, "disable": not progress}
    bars = {
        "text": tqdm(desc="text ", position=0, unit="item", **kw),
        "voice": tqdm(desc="voice", position=1, unit="clip", **kw),
    }
    if qa:  # the clips measured beside the pass (the per-pass QA shows its own bar for any it measures)
        bars["qa"] = tqdm(desc="qa   ", position=2, unit="clip", **kw)
    return bars
