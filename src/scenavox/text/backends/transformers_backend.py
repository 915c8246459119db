"""A Hugging Face causal LM in process (transformers + torch): GPU when there is one.

- `text.model`: a local model folder, or a hub name for users with a network (offline here). None
  loads the bundled SmolLM2 GGUF (`gguf_file=`, dequantized by transformers: slow on CPU, for tests).
- The chat template of the model's tokenizer builds the prompt. Sampling is seeded per request
  (torch.manual_seed) under a lock, so the same messages and seed give the same text on the same
  device and dtype.
- JSON: there is no grammar here, so the answer is started for the model (`{"<first key>": "`,
  the schema's first required field) and generation stops as soon as the JSON object closes;
  the stage parses and validates the result like any other backend's.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ...errors import UserError
from ..answers import first_object_end
from . import UsageMeter

INSTALL_HINT = "pip install 'scenavox[transformers]' (torch, transformers, gguf, accelerate)"


def json_prefix(schema: dict[str, Any]) -> str:
    """The opening of the answer, when the schema's first required field is a string."""
    required = schema.get("required") or []
    if not required:
        return "{"
    first = required[0]
    kind = (schema.get("properties") or {}).get(first, {}).get("type")
    return f'{{"{first}": "' if kind == "string" else f'{{"{first}": '


class TransformersBackend(UsageMeter):
    name = "transformers"
    config_fields = ("gguf_file", "device", "dtype")

    def __init__(self, model: str | None = None, gguf_file: str | None = None, device: str = "auto",
                 dtype: str = "auto", threads: int = 1, **_: Any):
        self.model_ref = model
        self.gguf_file = gguf_file
        self.device_pref = device
        self.dtype_pref = dtype
        self.threads = threads
        if model:
            self.model = Path(gguf_file).stem if gguf_file else Path(model).name
        else:
            self.model = "SmolLM2-135M-Instruct-Q4_1"
        self._model: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update(_model=None, _tok=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _source(self) -> tuple[str, str | None]:
        if self.model_ref is None:
            from ..bundled import bundled_gguf

            path = bundled_gguf()
            return str(path.parent), path.name
        ref = Path(self.model_ref).expanduser()
        if ref.is_file() and ref.suffix == ".gguf":  # a GGUF path: its folder and name
            return str(ref.parent), ref.name
        if self.gguf_file and ref.is_dir() and not (ref / self.gguf_file).is_file():
            raise UserError(f"text.gguf_file: '{self.gguf_file}' not found in {ref}")
        if ref.is_absolute() and not ref.exists():
            raise UserError(f"text.model: folder '{ref}' not found")
        return str(ref) if ref.exists() else self.model_ref, self.gguf_file

    def load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise UserError(f"the transformers text backend needs torch and transformers; {INSTALL_HINT}") from None
        source, gguf = self._source()
        device = self.device_pref
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"text.device: {device} asked for, but torch sees no CUDA GPU; use auto or cpu")
        dtype = self.dtype_pref
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        if device == "cpu":
            torch.set_num_threads(max(1, self.threads))
        kwargs: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
        try:
            tok = AutoTokenizer.from_pretrained(source, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), **kwargs)
        except ImportError as exc:  # e.g. gguf missing for a GGUF file
            raise UserError(f"the transformers text backend could not load {source}: {exc}; {INSTALL_HINT}") from None
        except ValueError as exc:
            if "pip install" in str(exc):  # transformers names a missing package (accelerate for GGUF) this way
                raise UserError(f"the transformers text backend could not load {source}: {exc}; {INSTALL_HINT}") from None
            raise
        except OSError as exc:
            raise UserError(f"text.model: cannot load '{source}' with transformers: {str(exc).splitlines()[0]}") from None
        if tok.chat_template is None:
            raise UserError(f"text.model: '{source}' has no chat template; give an instruction-tuned (chat) model")
        self.device = device
        self.dtype = dtype
        self._tok = tok
        self._model = model.to(device).eval()

    def complete(self, messages, *, schema, seed, temperature, max_tokens) -> str:  # noqa: ANN001
        import torch

        self.load()
        tok, model = self._tok, self._model
        prefix = json_prefix(schema)
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + prefix
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        n_prompt = int(ids["input_ids"].shape[1])
        stop = _JsonClosed(tok, n_prompt, prefix)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0} if temperature > 0 else {
            "do_sample": False}
        with self._lock, torch.inference_mode():
            torch.manual_seed(seed)  # seeds CUDA too
            out = model.generate(**ids, max_new_tokens=max_tokens, stopping_criteria=[stop],
                                 pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                                 **sampling)
        new = out[0, n_prompt:]
        self.count(requests=1, prompt_tokens=n_prompt, completion_tokens=int(new.shape[0]))
        text = prefix + tok.decode(new, skip_special_tokens=True)
        end = first_object_end(text)
        return text[:end] if end > 0 else text


class _JsonClosed:
    """A stopping criterion: generation ends when the answer's JSON object is complete."""

    def __init__(self, tok: Any, n_prompt: int, prefix: str):
        self.tok, self.n_prompt, self.prefix = tok, n_prompt, prefix

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        text = self.prefix + self.tok.decode(input_ids[0, self.n_prompt:], skip_special_tokens=True)
        done = first_object_end(text) > 0
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)
