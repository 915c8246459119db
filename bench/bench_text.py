"""Benchmark: the text stage's backends vs the raw libraries they wrap, same prompts, same run.

    python bench/bench_text.py [--items 12] [--threads 2] [--concurrency 8]

1. local: TextStage on the `local` backend (prompting, validation, retries with new seeds) vs
   raw llama-cpp-python `create_chat_completion` on the same messages and seeds, same Llama
   settings. Figure: completion tokens per second, ratio stage / raw (goal >= 0.9x).
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


def bench_local(sc, tasks, threads: int) -> None:
    from llama_cpp import Llama

    cfg = sc.text
    stage = TextStage(sc, threads=threads)
    stage.setup()
    msgs = [stage.prompts.messages(t) for t in tasks]
    raw = Llama(model_path=str(bundled_gguf()), n_ctx=2048, n_threads=threads, n_threads_batch=threads, seed=0,
                verbose=False)

    def run_raw() -> tuple[int, float]:
        toks, t0 = 0, time.perf_counter()
        for m, t in zip(msgs, tasks):
            out = raw.create_chat_completion(messages=m, response_format={"type": "json_object", "schema": ANSWER_SCHEMA},
                                             temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=t.seed)
            toks += out["usage"]["completion_tokens"]
        return toks, time.perf_counter() - t0

    def run_stage() -> tuple[int, float, int]:
        toks, ok, t0 = 0, 0, time.perf_counter()
        for t in tasks:
            o = stage.run_one(t)
            toks += int(o.metrics.get("completion_tokens", 0))
            ok += o.record is not None
        return toks, time.perf_counter() - t0, ok

    run_raw(), run_stage()  # warm-up: grammar, KV cache, page cache
    raw_toks, raw_s = run_raw()
    st_toks, st_s, ok = run_stage()
    raw_rate, st_rate = raw_toks / raw_s, st_toks / st_s
    print(f"local: raw llama.cpp {raw_rate:.1f} tok/s ({raw_toks} tokens), stage {st_rate:.1f} tok/s "
          f"({st_toks} tokens, {ok}/{len(tasks)} valid)", flush=True)
    result("local backend tok/s vs raw llama.cpp", st_rate / raw_rate, ">=0.9x", st_rate / raw_rate >= 0.9)


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
    ap.add_argument("--items", type=int, default=12)
    # 1 by default: on a shared, loaded 2-core machine llama.cpp with 2 threads stalled (>6 min for 3 items)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--only", choices=["local", "openai"], default=None)
    args = ap.parse_args()
    sc = load_scenario("car")
    tasks = plan_commands(sc, args.items, seed=11)
    if args.only in (None, "local"):
        bench_local(sc, tasks, args.threads)
    if args.only in (None, "openai"):
        bench_openai(sc, tasks, args.threads, args.concurrency)


if __name__ == "__main__":
    main()
