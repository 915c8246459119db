"""The stage interface shared by every executor.

A stage maps one input record to one Outcome. It declares the resources one worker needs,
loads its models once per worker in `setup`, and never writes files itself: it returns
the bytes, and the runner persists them. That keeps stages pure functions of
(input, config, seed), so the same code runs in process, in a process pool or on Ray.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .errors import UserError
from .records import Quarantined


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0  # cores one worker keeps busy
    gpus: float = 0.0
    threads: int = 1  # intra-op threads one worker uses (ONNX Runtime, llama.cpp, torch)
    # Items one worker runs at once on threads. >1 marks an I/O-bound stage (it waits on a server,
    # e.g. a remote LLM): the executor runs it on a thread pool in the calling process.
    concurrency: int = 1


@dataclass
class Outcome:
    id: str
    record: BaseModel | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # corpus-relative path -> bytes
    quarantined: Quarantined | None = None
    seconds: float = 0.0  # time spent in process()
    # CPU seconds of the process while it ran process(): a worker process runs one item at a time, so this is
    # the item's cost without its waits for a core (on a busy machine `seconds` is longer). On a thread pool
    # (Resources.concurrency > 1) it also counts the other threads' items.
    cpu_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. requests and tokens this item cost
    # a stage whose item holds several records (text/stage.py: TextGroup) returns one Outcome per record here
    parts: list["Outcome"] = field(default_factory=list)


class Stage(ABC):
    name: str = "stage"
    resources: Resources = Resources()

    def setup(self) -> None:
        """Load models; called once per worker before the first item."""

    @abstractmethod
    def process(self, item: Any) -> Outcome: ...

    def run_one(self, item: Any) -> Outcome:
        """process() with a guard: an unexpected exception quarantines the item, not the run."""
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            out = self.process(item)
        except UserError:
            raise  # a configuration problem (bad key, unknown model) must stop the run, not set aside every item
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop a corpus build
            item_id = getattr(item, "id", "?")
            payload = item.model_dump(mode="json") if isinstance(item, BaseModel) else {}
            out = Outcome(
                id=item_id,
                quarantined=Quarantined(
                    id=item_id, stage=self.name, reason=f"{type(exc).__name__}: {exc}", input=payload
                ),
            )
        out.seconds = time.perf_counter() - t0
        out.cpu_s = time.process_time() - c0
        return out


def limit_threads(threads: int) -> None:
    """Cap BLAS/OpenMP pools in a worker so workers x threads <= cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
