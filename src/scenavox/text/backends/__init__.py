"""Text backends behind one protocol, registered once by name (`text.backend` in the scenario,
`--text-backend` on the command line).

A text backend answers chat messages with JSON text. Adding one is one module plus one
`register(...)` line at the end of this file. What it must provide:
- `name` (the registry name, recorded as text_backend) and `model` (recorded as text_model).
- A constructor taking keyword options: always `model` (text.model, None = its default) and
  `threads` (the cores it may use); also the TextConfig fields it lists in `config_fields`, and
  `cloud_upload` (privacy.cloud_upload) when `remote`. It must accept and ignore other keywords
  (`**_`) and stay cheap: no model loading, no heavy import.
- `load()`: import and load the model (once per worker; called by the stage's setup and safe to
  call again).
- `complete(messages, *, schema, seed, temperature, max_tokens) -> str`: the raw answer, expected to
  be JSON matching `schema` (the stage parses and validates it, and retries with other seeds).
  Same messages and seed give the same text where the engine allows it.
- Optional `complete_many(messages, *, n, schema, seed, temperature, max_tokens) -> list[str]`:
  n candidate answers to the same messages in one call (a batch sharing the prompt, for
  best-of-n). Candidate i is seeded with `candidate_seed(seed, i)`; it need not equal the single call
  with that seed (a batch may round differently: the local engine's, or a server's own `n`), but the
  same call must give the same candidates where the engine allows it. Callers use the module function
  `complete_many`, which falls back to n calls of `complete` for a backend without it. It may also
  take `shared=k`: the first k messages are the same in every request of the run (a local engine
  keeps their KV cache between calls); `grouped=k2`: the first k2 messages (k2 >= k) recur in other
  requests of the run (a local engine saves their KV cells to restore them); `grouped_head="..."`: the
  next message starts with this text in those requests too (e.g. the request's line naming its intent,
  up to its first slot value), saved with them; and `prefill="..."`:
  every answer starts with this text (returned with it), where the engine can force it.
- Errors: UserError (one line) for configuration problems, which stop the run;
  BackendRequestError when a request failed for good, which sets the item aside.
- Usage: subclass UsageMeter and `count(requests=1, prompt_tokens=..., completion_tokens=...)`
  per request; the stage attaches each item's usage to its outcome (the run summary's cost line).
- `remote = True` for a backend that waits on a server instead of computing: it gets no cores of
  its own and runs `text.concurrency` requests at once on threads.
- A backend never imports another backend; shared helpers live outside this package
  (e.g. text/bundled.py, the bundled model's location).
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ...errors import UserError


class TextBackend(Protocol):
    name: str
    model: str
    remote: ClassVar[bool]  # optional: False when absent
    config_fields: ClassVar[tuple[str, ...]]  # optional: the TextConfig fields it reads, () when absent

    def load(self) -> None: ...

    def complete(
        self, messages: list[dict[str, str]], *, schema: dict[str, Any], seed: int, temperature: float, max_tokens: int
    ) -> str:
        """Return the raw answer text (expected to be JSON matching schema)."""
        ...


def candidate_seed(seed: int, i: int) -> int:
    """The seed of candidate i of a best-of-n request (candidate 0 keeps the item's own seed)."""
    return (seed + 104729 * i) % (2**31)


def complete_many(
    backend: TextBackend, messages: list[dict[str, str]], *, n: int, schema: dict[str, Any], seed: int,
    temperature: float, max_tokens: int, shared: int = 0, grouped: int = 0, grouped_head: str = "",
    prefill: str = "",
) -> list[str]:
    """n candidate answers; one batched call where the backend has one, else n single calls.
    shared: how many leading messages every request of the run has in common; grouped: how many leading
    messages recur in other requests of the run; grouped_head: how the message after them starts in those
    requests; prefill: the text every answer is to start with. Each goes only to a backend whose
    complete_many takes it."""
    many = getattr(backend, "complete_many", None)
    if many is not None:
        takes = inspect.signature(many).parameters
        extra = {k: v for k, v in (("shared", shared), ("grouped", grouped), ("grouped_head", grouped_head),
                                   ("prefill", prefill)) if v and k in takes}
        return many(messages, n=n, schema=schema, seed=seed, temperature=temperature, max_tokens=max_tokens,
                    **extra)
    return [
        backend.complete(messages, schema=schema, seed=candidate_seed(seed, i), temperature=temperature,
                         max_tokens=max_tokens)
        for i in range(n)
    ]


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


@dataclass(frozen=True)
class _Entry:
    target: str | type  # "module:Class", imported on first use, or the class itself
    install: str


_REGISTRY: dict[str, _Entry] = {}


def register(name: str, target: str | type, install: str = "") -> None:
    """Make `text.backend: name` usable. `target` is "package.module:Class" (imported only when
    used, so optional packages stay optional) or the class itself."""
    _REGISTRY[name] = _Entry(target, install)


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    """Registered names in registration order (the command line and the scenario schema list them)."""
    return list(_REGISTRY)


def backend_class(name: str) -> type[TextBackend]:
    entry = _REGISTRY.get(name)
    if entry is None:
        raise UserError(f"unknown text backend '{name}'; available: {', '.join(names())}")
    if not isinstance(entry.target, str):
        return entry.target
    module, _, attr = entry.target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        hint = entry.install or "install the package that provides it"
        raise UserError(f"the {name} text backend cannot be imported ({exc}); {hint}") from None


def is_remote(name: str) -> bool:
    return name in _REGISTRY and bool(getattr(backend_class(name), "remote", False))


def config_fields(name: str) -> tuple[str, ...]:
    return tuple(getattr(backend_class(name), "config_fields", ()))


def make_backend(name: str, **options: Any) -> TextBackend:
    return backend_class(name)(**options)


# The built-in backends: one line each (this order is the order `--text-backend` lists them in).
register("local", "scenavox.text.backends.local:LocalLlamaBackend")
register("fake", "scenavox.text.backends.fake:FakeBackend")
register("openai", "scenavox.text.backends.openai_backend:OpenAIBackend")
register("transformers", "scenavox.text.backends.transformers_backend:TransformersBackend")
