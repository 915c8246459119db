"""Benchmark: the text stage's backends vs the raw libraries they wrap, same prompts, same run.

    python bench/bench_text.py [--items 3] [--answers 8] [--rounds 1] [--local-threads 1,2] [--only local]

1. local: the bundled model on the car scenario's prompts, `answers` answers per item, at each thread
   count, interleaved: (a) today's path (create_chat_completion, one request per answer), (b) the
   local backend's complete_many at n=1, 4, 8, (c) raw llama.cpp batched at n=8 (RawBatched: a
   low-level loop with nothing of scenavox), (d) a cross-item batch (8 sequences on 8 items).
   Figures: completion tokens/s and seconds per parsed answer; ratio complete_many n=8 / raw batched
   (goal >= 0.9x).
2. openai: TextStage on the `openai` backend through LocalExecutor's thread pool vs a raw
   `openai` client on a ThreadPoolExecutor with the same concurrency, both against one
   llama.cpp server (python -m llama_cpp.server on 127.0.0.1) in json_object mode.
   Figure: requests per second, ratio stage / raw (goal >= 0.9x); items/s is printed too
   (the stage may spend more than one request on an item it has to retry).
Each side gets a warm-up pass first. Prints RESULT lines (bench/run.py gathers them).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, result  # noqa: E402

os.chdir(ROOT)

from scenavox.executors import LocalExecutor  # noqa: E402
from scenavox.scenario import load_scenario  # noqa: E402
from scenavox.text.bundled import bundled_gguf  # noqa: E402
from scenavox.text.commands import plan_commands  # noqa: E402
from scenavox.text.stage import ANSWER_SCHEMA, TextStage  # noqa: E402


class RawBatched:
    """Raw llama.cpp, batched, with nothing of scenavox: one context with n sequences on a unified KV
    cache, flash attention off (slower on one CPU core, see backends/local.py), the K cache in 8 bits (as
    the local backend's), the prompt's rest decoded once for all of them (tokens tagged with every
    sequence), the prefix kept between prompts, one token per sequence per llama_decode, and llama.cpp's
    common-sampler grammar rule (check the sampled token, resample only when refused)."""

    def __init__(self, llm, n: int, threads: int, grammar: str):
        import ctypes

        import llama_cpp as lc
        import numpy as np

        self.lc, self.np, self.ctypes = lc, np, ctypes
        self.llm, self.n, self.grammar = llm, n, grammar.encode()
        self.vocab = lc.llama_model_get_vocab(llm._model.model)
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        p = lc.llama_context_params.from_buffer_copy(llm.context_params)
        p.n_ctx = p.n_batch = 2048 + n * 256
        p.n_ubatch, p.n_seq_max, p.kv_unified = 512, n, True
        p.n_threads = p.n_threads_batch = threads
        p.flash_attn_type = 0  # off: llama.cpp's best CPU configuration here
        p.type_k = lc.GGML_TYPE_Q8_0  # the K cache in 8 bits, as the local backend has it (cheaper steps)
        self.ctx = lc.llama_init_from_model(llm._model.model, p)
        self.mem = lc.llama_get_memory(self.ctx)
        self.batch = lc.llama_batch_init(p.n_ctx, 0, n)
        self.cached: list[int] = []
        dt = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
        self.cur = np.zeros(self.n_vocab, dtype=dt)

    def _chain(self, seed: int, temp: float):
        lc = self.lc
        c = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        for s in (lc.llama_sampler_init_top_k(40), lc.llama_sampler_init_typical(1.0, 1),
                  lc.llama_sampler_init_top_p(0.95, 1), lc.llama_sampler_init_min_p(0.05, 1),
                  lc.llama_sampler_init_temp(temp), lc.llama_sampler_init_dist(seed)):
            lc.llama_sampler_chain_add(c, s)
        return c

    def generate(self, prompt: list[int], seeds: list[int], temp: float, max_tokens: int) -> list[list[int]]:
        lc, np, ct, b = self.lc, self.np, self.ctypes, self.batch
        keep = 0
        while keep < min(len(self.cached), len(prompt) - 1) and self.cached[keep] == prompt[keep]:
            keep += 1
        lc.llama_memory_seq_rm(self.mem, 0, keep, -1)
        for s in range(1, self.n):
            lc.llama_memory_seq_rm(self.mem, s, -1, -1)
            lc.llama_memory_seq_cp(self.mem, 0, s, -1, -1)
        b.n_tokens = 0
        for pos in range(keep, len(prompt)):
            i = b.n_tokens
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = prompt[pos], pos, self.n, pos == len(prompt) - 1
            for s in range(self.n):
                b.seq_id[i][s] = s
            b.n_tokens += 1
        assert lc.llama_decode(self.ctx, b) == 0
        self.cached = prompt[:-1]
        chains = [self._chain(s, temp) for s in seeds]
        grams = [lc.llama_sampler_init_grammar(self.vocab, self.grammar, b"root") for _ in seeds]
        one = (lc.llama_token_data * 1)()
        one_arr = lc.llama_token_data_array(one, 1, -1, False)
        out: list[list[int]] = [[] for _ in seeds]
        rows = {s: b.n_tokens - 1 for s in range(self.n)}
        pos = [len(prompt)] * self.n
        live = list(range(self.n))
        while live:
            nxt = []
            for s in live:
                tok = lc.llama_sampler_sample(chains[s], self.ctx, rows[s])
                one[0].id, one[0].logit, one_arr.size, one_arr.selected = tok, 1.0, 1, -1
                lc.llama_sampler_apply(grams[s], ct.byref(one_arr))
                if one[0].logit == -np.inf:  # refused: draw from the grammar-filtered logits
                    self.cur["id"] = np.arange(self.n_vocab, dtype=np.int32)
                    self.cur["logit"] = np.ctypeslib.as_array(lc.llama_get_logits_ith(self.ctx, rows[s]),
                                                              shape=(self.n_vocab,))
                    arr = ct.pointer(lc.llama_token_data_array(self.cur.ctypes.data_as(lc.llama_token_data_p),
                                                               self.n_vocab, -1, False))
                    lc.llama_sampler_apply(grams[s], arr)
                    lc.llama_sampler_apply(chains[s], arr)
                    tok = arr.contents.data[arr.contents.selected].id
                lc.llama_sampler_accept(grams[s], tok)
                if lc.llama_vocab_is_eog(self.vocab, tok):
                    continue
                out[s].append(tok)
                if len(out[s]) < max_tokens:
                    nxt.append(s)
            live = nxt
            b.n_tokens = 0
            for s in live:
                i = b.n_tokens
                b.token[i], b.pos[i], b.n_seq_id[i], b.seq_id[i][0], b.logits[i] = out[s][-1], pos[s], 1, s, True
                rows[s] = i
                pos[s] += 1
                b.n_tokens += 1
            if live:
                assert lc.llama_decode(self.ctx, b) == 0
        for c in chains + grams:
            lc.llama_sampler_free(c)
        return out


def bench_local(sc, tasks, threads_list: list[int], answers: int, rounds: int) -> None:
    """Text on the bundled model, `answers` answers per item, interleaved per item and round:
    (a) today's path: create_chat_completion, one request per answer;
    (b) LocalLlamaBackend.complete_many at n=1, 4, 8 (answers/n calls);
    (c) RawBatched at n=8 (one batch per item);
    (d) cross-item: BatchDecoder with 8 sequences on 8 items' prompts (one answer each), against
    (e) the same 8 items one complete() each (what the stage does today without best-of-n).
    Figures: completion tokens/s and seconds per parsed answer (the stage's parser), per thread count."""
    import json

    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from scenavox.text.answers import parse_answer
    from scenavox.text.backends import candidate_seed
    from scenavox.text.llama_batch import BatchDecoder, Sampling
    from scenavox.text.backends.local import LocalLlamaBackend

    cfg = sc.text
    stage = TextStage(sc, threads=1)
    n_items = len(tasks)
    tasks = plan_commands(sc, max(8, n_items), seed=11)  # 8 distinct prompts for (d); the first n_items are timed
    msgs = [stage.prompts.messages(t) for t in tasks]
    for threads in threads_list:
        local = LocalLlamaBackend(threads=threads)
        local.load()
        grammar = local._grammar(ANSWER_SCHEMA)
        today = Llama(model_path=str(bundled_gguf()), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                      seed=0, verbose=False)  # the path before batching: one request at a time, grammar in the chain
        raw = RawBatched(local._llm, 8, threads, grammar)
        fmt = local._formatter
        prompts = []
        for m in msgs:
            f = fmt(messages=m)
            prompts.append(local._llm.tokenize(f.prompt.encode(), add_bos=not f.added_special, special=True))
        cross = BatchDecoder(local._llm._model.model, max_seqs=8, n_ctx=2048 + 8 * 256, threads=threads,
                             base_params=local._llm.context_params)

        def texts_of(token_lists):
            return [local._llm.detokenize(t).decode("utf-8", "ignore") for t in token_lists]

        def run_today(i, mt):
            outs = [today.create_chat_completion(messages=msgs[i], response_format={"type": "json_object",
                    "schema": ANSWER_SCHEMA}, seed=candidate_seed(tasks[i].seed, j), temperature=cfg.temperature,
                    max_tokens=mt) for j in range(answers)]
            return [o["choices"][0]["message"]["content"] for o in outs], sum(o["usage"]["completion_tokens"]
                                                                               for o in outs)

        def run_many(n):
            def go(i, mt):
                local.take_usage()
                outs = []
                for c in range(answers // n):
                    # shared: as TextStage calls it, the run's shared prompt stays cached between calls (raw
                    # batched keeps its longest common prefix with the previous prompt too)
                    outs += local.complete_many(msgs[i], n=n, seed=candidate_seed(tasks[i].seed, c * n),
                                                schema=ANSWER_SCHEMA, temperature=cfg.temperature, max_tokens=mt,
                                                shared=len(stage.prompts.prefix))
                return outs, local.take_usage()["completion_tokens"]
            return go

        def run_raw(i, mt):
            toks = []
            for c in range(answers // 8):
                toks += raw.generate(prompts[i], [candidate_seed(tasks[i].seed, c * 8 + j) for j in range(8)],
                                     cfg.temperature, mt)
            return texts_of(toks), sum(len(t) for t in toks)

        def run_cross(per_item):
            def go(i, mt):  # this item and the next items, 8 sequences in all
                group = [prompts[(i + k) % len(prompts)] for k in range(8 // per_item) for _ in range(per_item)]
                assert len({tuple(p) for p in group}) == 8 // per_item
                gens = cross.generate(group, [candidate_seed(tasks[i].seed, j) for j in range(8)], grammar=grammar,
                                      sampling=Sampling(cfg.temperature), max_tokens=mt)
                return texts_of([g.tokens for g in gens]), sum(len(g.tokens) for g in gens)
            return go

        def run_items_one_by_one(i, mt):  # (d)'s 8 items, one complete each: what (d) saves
            outs = [local.complete(msgs[(i + k) % len(msgs)], seed=candidate_seed(tasks[i].seed, k),
                                   schema=ANSWER_SCHEMA, temperature=cfg.temperature, max_tokens=mt) for k in range(8)]
            return outs, local.take_usage()["completion_tokens"]

        configs = {"a today 1-at-a-time": run_today, "b complete_many n=1": run_many(1),
                   "b complete_many n=4": run_many(4), "b complete_many n=8": run_many(8),
                   "c raw batched n=8": run_raw, "d cross-item 8x1": run_cross(1),
                   "e 8 items 1-by-1": run_items_one_by_one}
        tot = {k: [0.0, 0, 0] for k in configs}  # seconds, tokens, parsed answers
        for k, fn in configs.items():  # warm-up: the shared prompt prefix in each cache, page cache
            fn(0, 2)
        order = list(configs)
        for r in range(rounds):
            for i in range(n_items):
                order = order[1:] + order[:1]  # rotate, so no config always runs right after another
                for k in order:
                    t0 = time.perf_counter()
                    outs, toks = configs[k](i, cfg.max_tokens)
                    tot[k][0] += time.perf_counter() - t0
                    tot[k][1] += toks
                    tot[k][2] += sum(parse_answer(o)[0] is not None for o in outs)
        print(f"local text, threads {threads}: {n_items} items x {rounds} rounds x {answers} answers each, "
              f"max_tokens {cfg.max_tokens}, prompts {min(map(len, prompts))}-{max(map(len, prompts))} tokens",
              flush=True)
        for k, (s, toks, ok) in tot.items():
            print(f"   {k:24s} {toks / s:7.1f} tok/s  {s / max(ok, 1):6.2f} s/parsed answer  "
                  f"({toks} tokens, {ok}/{n_items * rounds * answers} parsed, {s:.1f} s)", flush=True)
        rate = {k: v[1] / v[0] for k, v in tot.items()}
        per = {k: v[0] / max(v[2], 1) for k, v in tot.items()}
        best = "b complete_many n=8"
        result(f"complete_many n=8 tok/s vs raw batched (t={threads})", rate[best] / rate["c raw batched n=8"],
               ">=0.9x", rate[best] / rate["c raw batched n=8"] >= 0.9)
        result(f"complete_many n=8 tok/s vs today (t={threads})", rate[best] / rate["a today 1-at-a-time"], "-", None)
        result(f"s/parsed answer: today / n=8 (t={threads})", per["a today 1-at-a-time"] / per[best], "-", None)
        result(f"cross-item 8x1 tok/s vs n=8 (t={threads})", rate["d cross-item 8x1"] / rate[best], "-", None)
        result(f"cross-item 8x1 tok/s vs 8 items 1-by-1 (t={threads})",
               rate["d cross-item 8x1"] / rate["e 8 items 1-by-1"], "-", None)
        cross.close()
        del raw, today, local


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(threads: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads), "--n_threads_batch", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("llama.cpp server did not start")


def bench_openai(sc, tasks, threads: int, concurrency: int) -> None:
    import openai

    proc, url = start_server(threads)
    try:
        osc = sc.with_text(backend="openai", model="smollm2", base_url=url, structured_output="json_object",
                           concurrency=concurrency)
        cfg = osc.text
        stage = TextStage(osc)
        msgs = [stage.prompts.messages(t) for t in tasks]
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=120)

        def one(i: int) -> None:
            client.chat.completions.create(
                model="smollm2", messages=msgs[i], temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                seed=tasks[i].seed, response_format={"type": "json_object", "schema": ANSWER_SCHEMA})

        def run_raw() -> float:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, range(len(tasks))))
            return time.perf_counter() - t0

        def run_stage() -> tuple[float, int, int]:
            t0 = time.perf_counter()
            outs = list(LocalExecutor().map(stage, tasks))
            reqs = sum(int(o.metrics.get("requests", 0)) for o in outs)
            return time.perf_counter() - t0, reqs, sum(o.record is not None for o in outs)

        run_raw(), run_stage()  # warm-up
        raw_s = run_raw()
        st_s, reqs, ok = run_stage()
        raw_rps, st_rps = len(tasks) / raw_s, reqs / st_s
        print(f"openai: raw client {raw_rps:.2f} req/s, stage {st_rps:.2f} req/s, {ok / st_s:.2f} valid items/s "
              f"({reqs} requests for {len(tasks)} items, {ok} valid), concurrency {concurrency}", flush=True)
        result("openai backend req/s vs raw openai client", st_rps / raw_rps, ">=0.9x", st_rps / raw_rps >= 0.9)
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="the openai part's server threads")
    ap.add_argument("--local-threads", default="1,2", help="thread counts for the local part")
    ap.add_argument("--answers", type=int, default=8, help="answers per item (a multiple of 8)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--only", choices=["local", "openai"], default=None)
    args = ap.parse_args()
    sc = load_scenario("car")
    tasks = plan_commands(sc, args.items, seed=11)
    if args.only in (None, "local"):
        bench_local(sc, tasks, [int(t) for t in args.local_threads.split(",")], args.answers, args.rounds)
    if args.only in (None, "openai"):
        bench_openai(sc, tasks, args.threads, args.concurrency)


if __name__ == "__main__":
    main()
