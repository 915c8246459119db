"""Several sequences per `llama_decode` on one llama.cpp model (llama-cpp-python's low-level API).

`BatchDecoder.generate(prompts, seeds, ...)` decodes one answer per (prompt, seed) pair together:
- the longest prefix all prompts share is evaluated once per call, on a cache sequence, and its KV
  cells are shared with every working sequence (`llama_memory_seq_cp` on a unified KV cache: no copy);
- the first `keep` tokens of it (the caller's word: the part every request of a run starts with, e.g. a
  system prompt and few-shot examples) stay cached between calls; they are always evaluated alone, the
  same way, so an answer never depends on earlier calls (see generate); with `kept_dir`, their KV cells
  are also written to a file once evaluated, and a later decoder of the same shape (another worker,
  another run) reads them instead of evaluating them;
- the tokens up to `hold` (e.g. the whole prompt but its last token) stay cached too, until a call with
  other ones: another attempt at the same prompt evaluates one token of it instead of its whole rest;
- the tokens from `keep` up to `saved` (a part many calls of a run repeat after the kept part, e.g. an
  example of the item's intent) are saved as a KV state of their own, and restored, not evaluated,
  when a later call starts with the same ones;
- each distinct prompt's rest is evaluated once, its tokens tagged with all the sequences that answer
  that prompt;
- then one token per live sequence per `llama_decode`.
Each sequence samples through its own chain, the one `Llama.create_chat_completion` builds (grammar,
top-k, typical, top-p, min-p, temperature, dist(seed)), so a sequence gives the answer a single
request with the same prompt and seed gives, up to float rounding (other batch shapes and cells).

This module holds no scenavox logic (bench/bench_text.py measures it against a raw loop of its own).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as lc
import numpy as np

CACHE_SEQ = 0  # holds the shared prefix between calls; working sequences are 1..n, then a scratch one
STATES_MAX_BYTES = 64 << 20  # saved KV states (see generate) per decoder; car's 20 examples take about 25 MB
# Kept parts shorter than this are evaluated, not read from a file. Car's shared prompt (about 570 tokens,
# 10 MB on file; 1,178 tokens and 9.3 CPU-s with all 20 examples) takes about 3.5 CPU-s to evaluate in each
# text worker; a file is read in milliseconds.
KEPT_FILE_MIN_TOKENS = 256
KEPT_FILES_MAX = 16  # kept-part files in kept_dir; the least recently used go first
# Saved parts (an example of the item's intent after the kept part, see generate) go on file too: each text
# worker evaluated car's 20 of them once per build (about 0.5 CPU-s each). About 1.2 MB a file for car.
SAVED_FILES_MAX = 128


@dataclass
class Generation:
    tokens: list[int]
    finish: str  # "stop" (end of generation token), "complete" (the caller's `complete`) or "length" (max_tokens)


@dataclass(frozen=True)
class Sampling:
    """create_chat_completion's defaults (temperature aside)."""

    temperature: float
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    typical_p: float = 1.0


def sampler_chain(seed: int, s: Sampling) -> Any:
    """Llama._init_sampler's chain for these settings, without its grammar and penalties samplers (the
    grammar is applied apart, see SeqSampler; the penalties do nothing at the neutral values used)."""
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    add = lambda smpl: lc.llama_sampler_chain_add(chain, smpl)  # noqa: E731
    if s.temperature < 0.0:
        add(lc.llama_sampler_init_dist(seed))
    elif s.temperature == 0.0:
        add(lc.llama_sampler_init_greedy())
    else:
        add(lc.llama_sampler_init_top_k(s.top_k))
        add(lc.llama_sampler_init_typical(s.typical_p, 1))
        add(lc.llama_sampler_init_top_p(s.top_p, 1))
        add(lc.llama_sampler_init_min_p(s.min_p, 1))
        add(lc.llama_sampler_init_temp(s.temperature))
        add(lc.llama_sampler_init_dist(seed))
    return chain


_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)


class SeqSampler:
    """One sequence's sampling: the chain, and a grammar that only the chain's choice is checked
    against; when the grammar refuses it, the token is drawn again from the logits the grammar
    filtered first. This is how llama.cpp's own samplers (common/sampling.cpp, used by its server
    and CLI) apply a grammar: checking every token of the vocabulary against it, at every step, as
    a grammar inside the chain does, costs more than the model's forward pass on a small model."""

    def __init__(self, dec: "BatchDecoder", grammar: str | None, seed: int, sampling: Sampling):
        self.dec = dec
        self.chain = sampler_chain(seed, sampling)
        self.grammar = lc.llama_sampler_init_grammar(dec.vocab, grammar.encode(), b"root") if grammar else None
        if grammar and not self.grammar:
            raise ValueError("llama.cpp refused the grammar")
        self.one = (lc.llama_token_data * 1)()
        self.one_arr = lc.llama_token_data_array(self.one, 1, -1, False)
        self.resampled = 0

    def sample(self, row: int) -> int:
        tok = lc.llama_sampler_sample(self.chain, self.dec.ctx, row)  # also accepts it into the chain
        if self.grammar is None:
            return tok
        self.one[0].id, self.one[0].logit, self.one[0].p = tok, 1.0, 0.0
        self.one_arr.size, self.one_arr.selected, self.one_arr.sorted = 1, -1, False
        lc.llama_sampler_apply(self.grammar, ctypes.byref(self.one_arr))
        if self.one[0].logit == -np.inf:
            tok = self._resample(row)
        lc.llama_sampler_accept(self.grammar, tok)
        return tok

    def force(self, tokens: list[int]) -> None:
        """The answer starts with `tokens` (given, not sampled): the grammar moves past them."""
        if self.grammar is None:
            return
        for tok in tokens:
            self.one[0].id, self.one[0].logit, self.one[0].p = tok, 1.0, 0.0
            self.one_arr.size, self.one_arr.selected, self.one_arr.sorted = 1, -1, False
            lc.llama_sampler_apply(self.grammar, ctypes.byref(self.one_arr))
            if self.one[0].logit == -np.inf:
                raise ValueError(f"the grammar does not allow the forced start of the answer (token {tok})")
            lc.llama_sampler_accept(self.grammar, tok)

    def _resample(self, row: int) -> int:
        self.resampled += 1
        _, arr = self.dec.full_candidates(row)
        lc.llama_sampler_apply(self.grammar, arr)
        lc.llama_sampler_apply(self.chain, arr)
        sel = arr.contents.selected
        if sel < 0:
            raise RuntimeError("the grammar left no token to sample")
        tok = int(arr.contents.data[sel].id)  # the samplers may sort or move the data: read it through the array
        lc.llama_sampler_accept(self.chain, tok)
        return tok

    def free(self) -> None:
        lc.llama_sampler_free(self.chain)
        if self.grammar:
            lc.llama_sampler_free(self.grammar)


def _common_prefix(seqs: list[list[int]]) -> int:
    n = min(len(s) for s in seqs)
    for i in range(n):
        t = seqs[0][i]
        if any(s[i] != t for s in seqs[1:]):
            return i
    return n


class _Batch:
    """A llama_batch whose tokens may each belong to several sequences."""

    def __init__(self, capacity: int, max_seqs: int):
        self.capacity = capacity
        self.raw = lc.llama_batch_init(capacity, 0, max_seqs)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def add(self, token: int, pos: int, seqs: list[int] | tuple[int, ...], logits: bool) -> int:
        b, i = self.raw, self.n
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = len(seqs)
        for j, s in enumerate(seqs):
            b.seq_id[i][j] = s
        b.logits[i] = logits
        self.n += 1
        return i

    def free(self) -> None:
        if self.raw is not None:
            lc.llama_batch_free(self.raw)
            self.raw = None


def _read_checked(path: Path) -> Any:
    """A state file's bytes (as llama.cpp reads them) if its sha256 trailer holds; None if missing, torn or damaged
    (then the cells are evaluated and the file written anew). A file read is marked recently used."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    data, digest = blob[:-32], blob[-32:]
    if not data or hashlib.sha256(data).digest() != digest:
        return None
    try:
        os.utime(path)  # pruned last
    except OSError:
        pass
    return (ctypes.c_uint8 * len(data)).from_buffer_copy(data)


def _write_checked(path: Path, data: bytes, max_files: int) -> None:
    """data and its sha256 to `path`, atomically; the least recently used files of its kind beyond max_files go.
    A folder that cannot be written only means evaluating the cells again next time."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data + hashlib.sha256(data).digest())
        os.replace(tmp, path)  # another worker writing the same file writes the same bytes
        tmp = None
        kind = path.name.split("-", 1)[0]
        files = sorted(path.parent.glob(f"{kind}-*.kv"), key=lambda f: f.stat().st_mtime)
        for old in files[:-max_files]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


class BatchDecoder:
    """A second llama.cpp context on an already loaded model (`Llama._model.model`), with up to
    `max_seqs` working sequences on a unified KV cache of n_ctx cells."""

    def __init__(self, model: Any, *, max_seqs: int, n_ctx: int, threads: int, n_ubatch: int = 512,
                 base_params: Any = None, type_k: int | None = None, kept_dir: Path | None = None,
                 model_key: str = ""):
        """base_params: llama_context_params to start from (a Llama's `context_params`, so that flash
        attention, RoPE and the rest match the single-request path); llama.cpp's defaults when None.
        type_k: the ggml type of the K cache (llama_cpp.GGML_TYPE_*; base_params' when None).
        kept_dir: where the KV cells of a kept part (see generate) are written once evaluated and read back
        by a decoder with the same model_key (which must name the model file), the same llama.cpp, CPU
        features and context shape; None: always evaluated."""
        self.model = model
        self.vocab = lc.llama_model_get_vocab(model)
        self.max_seqs = max_seqs
        if base_params is None:
            p = lc.llama_context_default_params()
        else:
            p = lc.llama_context_params.from_buffer_copy(base_params)
        p.n_ctx = n_ctx
        # one llama_decode may hold every prompt's rest (their last rows' logits must all survive until
        # sampled); llama.cpp splits it into ubatches itself
        p.n_batch = n_ctx
        p.n_ubatch = n_ubatch
        p.n_seq_max = max_seqs + 2
        p.n_threads = p.n_threads_batch = threads
        p.kv_unified = True  # prefix cells shared by all sequences (a split cache would copy them)
        p.no_perf = True
        if type_k is not None:
            p.type_k = type_k
        self.ctx = lc.llama_init_from_model(model, p)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not create a context of {n_ctx} cells for {max_seqs} sequences")
        self.n_ctx = lc.llama_n_ctx(self.ctx)
        self.mem = lc.llama_get_memory(self.ctx)
        self.batch = _Batch(self.n_ctx, max_seqs + 1)
        self.cached: list[int] = []  # the tokens the cache sequence holds
        self.kept = 0  # how many of them the caller keeps (the rest are held, see generate)
        self.scratch = max_seqs + 1  # the sequence a KV state is saved from and restored into
        self.states: dict[tuple[int, ...], Any] = {}  # the tokens after the kept ones -> their saved KV cells
        self.restored = 0  # KV states restored instead of evaluated (the tests read it)
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self._cur = np.zeros(self.n_vocab, dtype=_TOKEN_DATA)
        self.resampled = 0  # tokens the grammar refused in the last generate (for the bench)
        self.kept_dir = Path(kept_dir) if kept_dir is not None else None
        # what else decides the bytes an evaluation writes: the file read back must be those bytes
        self.kept_key = json.dumps([model_key, lc.__version__, lc.llama_print_system_info().decode(errors="replace"),
                                    self.n_ctx, max_seqs, threads, n_ubatch, p.type_k, p.type_v,
                                    int(p.flash_attn_type)])
        self.kept_read = 0  # kept parts read from a file instead of evaluated (the tests read it)
        self.saved_read = 0  # saved parts read from a file instead of evaluated

    def full_candidates(self, row: int) -> tuple[np.ndarray, Any]:
        """Every token with its logit at batch row `row`, as a llama_token_data_array (reused buffer)."""
        cur = self._cur
        cur["id"] = np.arange(self.n_vocab, dtype=np.int32)
        cur["logit"] = np.ctypeslib.as_array(lc.llama_get_logits_ith(self.ctx, row), shape=(self.n_vocab,))
        cur["p"] = 0.0
        data = cur.ctypes.data_as(lc.llama_token_data_p)
        return cur, ctypes.pointer(lc.llama_token_data_array(data, self.n_vocab, -1, False))

    def close(self) -> None:
        self.batch.free()
        if self.ctx:
            lc.llama_free(self.ctx)
            self.ctx = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def _flush(self) -> None:
        if self.batch.n:
            self.batch.raw.n_tokens = self.batch.n
            rc = lc.llama_decode(self.ctx, self.batch.raw)
            if rc != 0:
                raise RuntimeError(
                    f"llama_decode failed ({rc}); the KV cache ({self.n_ctx} cells) may be too small for this batch"
                )
            self.batch.clear()

    def _evaluate(self, tokens: list[int], start: int) -> None:
        """Evaluate tokens[start:] on the cache sequence (which holds tokens[:start]), in one decode."""
        if start >= len(tokens):
            return
        for pos in range(start, len(tokens)):
            self.batch.add(tokens[pos], pos, (CACHE_SEQ,), False)
        self._flush()
        self.cached = list(tokens)

    def _state_of(self, seq: int) -> Any:
        """A sequence's KV cells as llama.cpp serializes them (a ctypes byte array)."""
        size = lc.llama_state_seq_get_size(self.ctx, seq)
        buf = (ctypes.c_uint8 * size)()
        written = lc.llama_state_seq_get_data(self.ctx, buf, size, seq)
        if written != size:
            raise RuntimeError(f"llama.cpp saved {written} of {size} bytes of a KV state")
        return buf

    def _state_file(self, kind: str, tokens: list[int]) -> Path | None:
        """Where the KV cells of `tokens` (a kept part, or a kept part and its saved part) live on file."""
        if self.kept_dir is None or (kind == "kept" and len(tokens) < KEPT_FILE_MIN_TOKENS):
            return None
        digest = hashlib.sha256(json.dumps([self.kept_key, tokens]).encode()).hexdigest()[:32]
        return self.kept_dir / f"{kind}-{digest}.kv"

    def _read_or_evaluate_kept(self, tokens: list[int]) -> None:
        """Put the kept tokens on the empty cache sequence: read their KV cells from their file, or evaluate
        them alone in one decode and write that file. Either way cells 0.. then hold the same bytes."""
        path = self._state_file("kept", tokens)
        data = _read_checked(path) if path is not None else None
        if data is not None:
            if lc.llama_state_seq_set_data(self.ctx, data, len(data), CACHE_SEQ) == len(data):
                self.cached = list(tokens)
                self.kept_read += 1
                return
            lc.llama_memory_clear(self.mem, True)
        self._evaluate(tokens, 0)
        if path is not None:
            try:
                _write_checked(path, bytes(self._state_of(CACHE_SEQ)), KEPT_FILES_MAX)
            except RuntimeError:
                pass

    def _restore_or_evaluate(self, tokens: list[int], start: int) -> None:
        """Put tokens[start:] on the cache sequence (which holds tokens[:start], the kept part): restore their
        saved KV cells (kept in memory, or read from their file), or evaluate them in one decode and save those
        cells for a later call (and on file). Either way the same cells then hold the same values: the saved
        ones are the bytes the evaluation wrote, and they are restored into the cells an evaluation would use
        (the first free ones after tokens[:start])."""
        key = tuple(tokens[start:])
        saved = self.states.pop(key, None)
        path = self._state_file("saved", tokens) if saved is None else None
        if path is not None:
            saved = _read_checked(path)
        if saved is not None and lc.llama_state_seq_set_data(self.ctx, saved, len(saved), self.scratch) != len(saved):
            lc.llama_memory_clear(self.mem, True)  # the next call starts from nothing, not from this
            self.cached, self.kept = [], 0
            self.states.clear()
            if path is None:
                raise RuntimeError("llama.cpp could not restore a saved KV state")
            path.unlink(missing_ok=True)  # a file llama.cpp refuses: the kept part again, then evaluate
            self._read_or_evaluate_kept(tokens[:start])
            saved = None
        if saved is None:
            self._evaluate(tokens, start)
            lc.llama_memory_seq_cp(self.mem, CACHE_SEQ, self.scratch, start, len(tokens))
            try:
                saved = self._state_of(self.scratch)
            finally:
                lc.llama_memory_seq_rm(self.mem, self.scratch, -1, -1)
            if path is not None:
                _write_checked(path, bytes(saved), SAVED_FILES_MAX)
        else:
            lc.llama_memory_seq_cp(self.mem, self.scratch, CACHE_SEQ, -1, -1)
            lc.llama_memory_seq_rm(self.mem, self.scratch, -1, -1)
            self.cached = list(tokens)
            self.restored += 1
            self.saved_read += path is not None
        self.states[key] = saved  # the most recently used last: the first ones go when the states grow too big
        while sum(len(b) for b in self.states.values()) > STATES_MAX_BYTES and len(self.states) > 1:
            del self.states[next(iter(self.states))]

    def generate(
        self, prompts: list[list[int]], seeds: list[int], *, grammar: str | None, sampling: Sampling,
        max_tokens: int, keep: int = 0, hold: int = 0, forced: int = 0, saved: int = 0,
        complete: Callable[[list[int]], bool] | None = None,
    ) -> list[Generation]:
        """One answer per (prompt, seed); equal prompts are evaluated once. keep: how many leading tokens
        (of those all prompts share) to keep cached for the next call that starts with the same ones.
        hold: how many leading tokens (at least `keep`; at most what all prompts share but their last
        token) to hold cached after the call for a next call with the same ones and the same `keep`
        (e.g. another attempt at the same prompt); a next call that holds other tokens drops them and
        starts again from the kept ones. saved: how many leading tokens (at least `keep`, at most `hold`)
        to save as a KV state when evaluated, and to restore instead of evaluating in a later call with the
        same ones and the same `keep`; those past `keep` are then evaluated alone, in one decode, and the
        rest of the held ones in another. forced: the last `forced` tokens of every prompt are the
        answer's own start, which the grammar must allow (ValueError if not) and the answer continues.
        complete: called with a sequence's tokens after each one it samples; True ends that sequence there
        (finish "complete"), not decoded further: the caller knows what the grammar forces after it (e.g. the
        closing brace of a JSON answer whose last value is written) and writes that itself."""
        n = len(prompts)
        if n != len(seeds) or not 1 <= n <= self.max_seqs:
            raise ValueError(f"generate: {n} prompts for {len(seeds)} seeds (1..{self.max_seqs} sequences)")
        # Every distinct prompt keeps at least its last token out of the shared prefix: its logits start it.
        shared = min(_common_prefix(prompts), min(len(p) for p in prompts) - 1)
        longest = max(len(p) for p in prompts)
        if shared + sum(len(p) - shared for p in {tuple(p) for p in prompts}) + n * max_tokens > self.n_ctx:
            max_tokens = max(1, (self.n_ctx - longest) // n)  # as create_completion: truncate to the context
        # An item must be a pure function of (scenario, seed, index). A cache holding the longest prefix
        # shared with the previous call (an earlier version) made the logits, and at temperature > 0 the
        # text, depend on what this worker had written before: that prefix was evaluated in other batch
        # shapes and the rest placed in other cells, and a build resumed after kill -9 wrote other
        # candidates for an item than the uninterrupted build (tests/test_e2e.py). So the kept part is
        # fixed by the caller, always evaluated alone from cell 0, and the cache holds nothing else between
        # calls but the held part: every call then evaluates the same tokens in the same shapes into the
        # same cells.
        # A held part (hold > keep) is evaluated the same way, alone, in one decode right after the kept
        # part: whether a call evaluates it or finds it held, the same cells hold the same values.
        # A saved part (saved > keep) is too: restored or evaluated, its cells hold the same values.
        keep = max(0, min(keep, shared))
        hold = max(keep, min(hold, shared))
        saved = max(keep, min(saved, hold))
        head, held = prompts[0][:keep], prompts[0][:hold]
        if self.kept != keep or self.cached[:keep] != head:
            lc.llama_memory_clear(self.mem, True)
            self.cached = []
            self.states.clear()  # saved after other kept tokens
            self._read_or_evaluate_kept(head)
        elif self.cached != held:  # the kept part holds; what was held after it goes
            lc.llama_memory_seq_rm(self.mem, CACHE_SEQ, keep, -1)
            self.cached = head
        if self.cached != held:
            if saved > keep:
                self._restore_or_evaluate(held[:saved], keep)
            self._evaluate(held, len(self.cached))
        self.cached, self.kept = [], 0  # unknown until this call ends well (an error below clears the cache)
        for pos in range(hold, shared):
            self.batch.add(prompts[0][pos], pos, (CACHE_SEQ,), False)
        self._flush()
        seq_of = list(range(1, n + 1))
        for s in seq_of:
            lc.llama_memory_seq_rm(self.mem, s, -1, -1)
            lc.llama_memory_seq_cp(self.mem, CACHE_SEQ, s, -1, -1)

        groups: dict[tuple[int, ...], list[int]] = {}
        for k, p in enumerate(prompts):
            groups.setdefault(tuple(p), []).append(k)
        # the rest of each distinct prompt, once, tagged with every sequence answering it, in one decode
        last_row: dict[int, int] = {}
        for prompt, members in groups.items():
            seqs = tuple(seq_of[k] for k in members)
            for pos in range(shared, len(prompt)):
                row = self.batch.add(prompt[pos], pos, seqs, pos == len(prompt) - 1)
                if pos == len(prompt) - 1:
                    for k in members:
                        last_row[k] = row
        samplers = [SeqSampler(self, grammar, seeds[k], sampling) for k in range(n)]
        outs = [Generation([], "length") for _ in range(n)]
        ok = False
        try:
            if forced:
                for k in range(n):
                    samplers[k].force(prompts[k][len(prompts[k]) - forced:])
            self._flush()
            rows = last_row
            pos_next = [len(p) for p in prompts]
            live = list(range(n))
            while live:
                nxt: list[int] = []
                for k in live:
                    tok = samplers[k].sample(rows[k])
                    if lc.llama_vocab_is_eog(self.vocab, tok):
                        outs[k].finish = "stop"
                        continue
                    outs[k].tokens.append(tok)
                    if complete is not None and complete(outs[k].tokens):
                        outs[k].finish = "complete"
                        continue
                    if len(outs[k].tokens) >= max_tokens:
                        continue
                    nxt.append(k)
                live = nxt
                if not live:
                    break
                rows = {}
                for k in live:
                    rows[k] = self.batch.add(outs[k].tokens[-1], pos_next[k], (seq_of[k],), True)
                    pos_next[k] += 1
                self._flush()
            ok = True
        finally:
            self.resampled = sum(x.resampled for x in samplers)
            for x in samplers:
                x.free()
            self.batch.clear()
            if ok and hold:  # back to the kept and held prefix alone
                for s in seq_of:
                    lc.llama_memory_seq_rm(self.mem, s, -1, -1)
                lc.llama_memory_seq_rm(self.mem, CACHE_SEQ, hold, -1)
                self.cached, self.kept = held, keep
            else:  # nothing kept, or an error left the cache in an unknown state
                lc.llama_memory_clear(self.mem, True)
                self.cached = []
        return outs
