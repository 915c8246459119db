"""Executors run a stage over a stream of items and yield Outcomes as they finish.

`map` pulls its input lazily and keeps a bounded number of items in flight, so chaining
maps (text -> voice) overlaps the stages: while item 50 is being written, item 49 is
being voiced. Output order is completion order; the store and the export sort by id.

A stage that declares `resources.concurrency > 1` is I/O bound (it waits on a server): it
runs on a thread pool in this process with that many items in flight, whatever `workers` is.
Each item stays a pure function of (task, seed), so the output does not depend on it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Any, Iterable, Iterator

from .stages import Outcome, Stage, limit_threads

_WORKER_STAGE: Stage | None = None


def _init_worker(stage: Stage, parent: int) -> None:
    global _WORKER_STAGE
    # Ctrl-C goes to the whole process group: let the parent handle it (save, report, exit)
    # instead of every worker printing its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    limit_threads(stage.resources.threads)
    stage.setup()
    _WORKER_STAGE = stage


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a killed run (kill -9 leaves it holding a model and a core)."""
    try:  # Linux: the kernel kills us when the parent dies
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere, or if the parent died before prctl took effect
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="scenavox-parent-watch").start()


def _run_in_worker(item: Any) -> Outcome:
    assert _WORKER_STAGE is not None
    return _WORKER_STAGE.run_one(item)


class LocalExecutor:
    """workers=0 runs in this process (notebooks, tests); workers>=1 uses a process pool.

    A stage's pool outlives one `map`: a build maps the same stage again for each top-up pass,
    and a new pool would load its models again (a model load per worker per pass). `close()`
    shuts the pools down; the executor stays usable (a later map starts a new pool). It is also a
    context manager.
    """

    name = "local"

    def __init__(self, max_inflight: int = 8):
        self.max_inflight = max_inflight
        self._ready: set[int] = set()
        self._pools: dict[tuple[int, int], tuple[Stage, ProcessPoolExecutor]] = {}

    def close(self) -> None:
        pools, self._pools = self._pools, {}
        for _, pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pool_for(self, stage: Stage, workers: int) -> ProcessPoolExecutor:
        key = (id(stage), workers)
        entry = self._pools.get(key)
        if entry is None or entry[1]._broken:  # a worker died (killed, out of memory): start afresh
            # spawn: workers start clean, without the parent's threads or loaded libraries. The stage is kept
            # with its pool so its id is not reused by another stage while the pool lives.
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                       initializer=_init_worker, initargs=(stage, os.getpid()))
            self._pools[key] = entry = (stage, pool)
        return entry[1]

    def map(self, stage: Stage, items: Iterable[Any], workers: int = 0) -> Iterator[Outcome]:
        concurrency = getattr(stage.resources, "concurrency", 1)
        if concurrency > 1:
            yield from self._map_threads(stage, items, concurrency)
        elif workers <= 0:
            yield from self._map_inline(stage, items)
        else:
            yield from self._map_pool(stage, items, workers)

    def _map_threads(self, stage: Stage, items: Iterable[Any], threads: int) -> Iterator[Outcome]:
        it = iter(items)
        try:
            first = next(it)  # no work, no setup: a fully resumed run opens no connection
        except StopIteration:
            return
        if id(stage) not in self._ready:
            stage.setup()
            self._ready.add(id(stage))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"scenavox-{stage.name}") as pool:
            # 2x the threads queued, so the pool stays full while the consumer handles an outcome
            yield from self._drive(pool, stage.run_one, first, it, max(self.max_inflight, 2 * threads))

    def _map_inline(self, stage: Stage, items: Iterable[Any]) -> Iterator[Outcome]:
        started = False
        for item in items:
            if not started and id(stage) not in self._ready:
                stage.setup()
                self._ready.add(id(stage))
            started = True
            yield stage.run_one(item)

    def _map_pool(self, stage: Stage, items: Iterable[Any], workers: int) -> Iterator[Outcome]:
        it = iter(items)
        # Start workers only once there is work, so a fully resumed run loads no model.
        try:
            first = next(it)
        except StopIteration:
            return
        pool = self._pool_for(stage, workers)
        yield from self._drive(pool, _run_in_worker, first, it, max(self.max_inflight, 2 * workers))

    @staticmethod
    def _drive(pool: Executor, fn: Any, first: Any, it: Iterator[Any], limit: int) -> Iterator[Outcome]:
        """Keep at most `limit` items submitted; yield outcomes as they complete."""
        pending: set[Future[Outcome]] = {pool.submit(fn, first)}
        exhausted = False
        try:
            while pending or not exhausted:
                while not exhausted and len(pending) < limit:
                    try:
                        item = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(pool.submit(fn, item))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:  # an error or an early stop: drop what has not started
                fut.cancel()
