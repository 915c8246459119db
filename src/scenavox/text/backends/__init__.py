"""Text backends behind one protocol, chosen by name (`text.backend` in the scenario)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Protocol

from ...errors import UserError

BACKENDS = ("local", "fake", "openai", "transformers")
# Backends that wait on a server instead of computing: they need no cores of their own and
# run many requests at once on threads (TextConfig.concurrency).
REMOTE_BACKENDS = frozenset({"openai"})


class TextBackend(Protocol):
    name: str
    model: str

    def load(self) -> None: ...

    def complete(
        self, messages: list[dict[str, str]], *, schema: dict[str, Any], seed: int, temperature: float, max_tokens: int
    ) -> str:
        """Return the raw answer text (expected to be JSON matching schema)."""
        ...


class BackendRequestError(Exception):
    """A request failed for good (retries spent, or refused by the server): the item is set aside."""


class UsageMeter:
    """Counts requests and tokens per thread, so a stage can attach one item's usage to its Outcome
    whether it runs inline, on threads or in a process pool."""

    def _usage(self) -> Counter[str]:
        local = self.__dict__.get("_usage_local")
        if local is None:
            local = self.__dict__.setdefault("_usage_local", threading.local())
        if not hasattr(local, "counts"):
            local.counts = Counter()
        return local.counts

    def count(self, **amounts: float) -> None:
        self._usage().update({k: v for k, v in amounts.items() if v})

    def take_usage(self) -> dict[str, float]:
        """This thread's counts since the last call, then reset."""
        counts = self._usage()
        out = dict(counts)
        counts.clear()
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_usage_local"}


def is_remote(name: str) -> bool:
    return name in REMOTE_BACKENDS


def make_backend(name: str, **options: Any) -> TextBackend:
    if name == "local":
        from .local import LocalLlamaBackend

        return LocalLlamaBackend(**options)
    if name == "fake":
        from .fake import FakeBackend

        return FakeBackend(**options)
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(**options)
    if name == "transformers":
        from .transformers_backend import TransformersBackend

        return TransformersBackend(**options)
    raise UserError(f"unknown text backend '{name}'; available: {', '.join(BACKENDS)}")
