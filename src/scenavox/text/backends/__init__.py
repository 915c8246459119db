"""Text backends behind one protocol, chosen by name (`text.backend` in the scenario)."""

from __future__ import annotations

from typing import Any, Protocol

from ...errors import UserError


class TextBackend(Protocol):
    name: str
    model: str

    def load(self) -> None: ...

    def complete(
        self, messages: list[dict[str, str]], *, schema: dict[str, Any], seed: int, temperature: float, max_tokens: int
    ) -> str:
        """Return the raw answer text (expected to be JSON matching schema)."""
        ...


def make_backend(name: str, **options: Any) -> TextBackend:
    if name == "local":
        from .local import LocalLlamaBackend

        return LocalLlamaBackend(**options)
    if name == "fake":
        from .fake import FakeBackend

        return FakeBackend(**options)
    raise UserError(f"unknown text backend '{name}'; available: local, fake")
