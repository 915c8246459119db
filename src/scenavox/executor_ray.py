"""Run the same stages on a Ray cluster with Ray Data (`pip install 'scenavox[ray]'`).

Each stage becomes one `map_batches` over an actor pool: an actor calls the stage's
`setup()` once (a loaded TTS or LLM per actor) and `run_one()` per item, exactly as a
local worker does, so the output (ids and bytes) equals the local executor's. Records
travel pickled, so stage code needs no Ray-specific types. A stage that waits on a server
(`resources.concurrency > 1`, the `openai` text backend in front of vLLM or SGLang) keeps
that many requests in flight per actor, on threads, over batches at least that large.
"""

from __future__ import annotations

import math
import pickle
from typing import Any, Iterable, Iterator

from .errors import UserError
from .stages import Outcome, Stage, limit_threads


class _StageActor:
    def __init__(self, stage_blob: bytes):
        stage: Stage = pickle.loads(stage_blob)
        limit_threads(stage.resources.threads)
        stage.setup()
        self.stage = stage

        self.concurrency = max(1, getattr(stage.resources, "concurrency", 1))
        self.threads = None
        if self.concurrency > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.threads = ThreadPoolExecutor(max_workers=self.concurrency)

    def _one(self, blob: Any) -> bytes:
        return pickle.dumps(self.stage.run_one(pickle.loads(bytes(blob))))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        items = list(batch["item"])
        if self.threads is None:
            return {"outcome": [self._one(b) for b in items]}
        return {"outcome": list(self.threads.map(self._one, items))}  # map keeps the input order


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, batch_size: int = 4,
                 timeout_s: float | None = None):
        try:
            import ray
        except ImportError:
            raise UserError("the Ray executor needs Ray: pip install 'scenavox[ray]'") from None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = num_cpus
            try:
                ray.init(**kwargs)
            except ConnectionError as exc:
                raise UserError(f"--address {address}: cannot reach a Ray cluster: {exc}") from None
        self.ray = ray
        self.batch_size = batch_size
        self.timeout_s = timeout_s

    def _pool(self, stage: Stage, workers: int) -> tuple[int, float]:
        """Actors and CPUs per actor, leaving room for Ray Data's read tasks.

        On a small cluster, actors that each take a whole CPU starve the read task and the
        job never starts (seen on 2 CPUs with two 1-CPU actors); fractional CPUs avoid it.
        """
        total = float(self.ray.cluster_resources().get("CPU", 1))
        want = max(1, workers or int(total))
        size = max(1, min(want, int(total)))
        per_actor = min(float(stage.resources.cpus), max(0.25, (total - 0.5) / size))
        return size, math.floor(per_actor * 4) / 4 or 0.25

    def map(self, stage: Stage, items: Iterable[Any], workers: int = 0) -> Iterator[Outcome]:
        from ray.data import ActorPoolStrategy

        # Ray Data needs a finite input: the upstream stage finishes before this one starts.
        blobs = [pickle.dumps(item) for item in items]
        if not blobs:
            return
        size, cpus = self._pool(stage, workers)
        batch_size = max(self.batch_size, getattr(stage.resources, "concurrency", 1))
        ds = self.ray.data.from_items([{"item": b} for b in blobs], override_num_blocks=max(1, len(blobs) // 4))
        out = ds.map_batches(
            _StageActor, fn_constructor_args=(pickle.dumps(stage),), batch_size=batch_size,
            compute=ActorPoolStrategy(size=size), num_cpus=cpus, num_gpus=stage.resources.gpus or None,
        )
        for row in out.iter_rows():
            yield pickle.loads(row["outcome"])
