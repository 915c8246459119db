"""Benchmark: scenavox's vehicle_cabin chain vs the closest audiomentations chain, one core, same clips.

    python bench/bench_acoustics.py [--clips 40] [--seconds 4] [--sr 16000]

audiomentations chain: AddBackgroundNoise (noise files) + ApplyImpulseResponse (RIR files) + BandPassFilter.
scenavox chains:
  * "vehicle_cabin (synthetic)": the preset as the pipeline runs it: simulated cabin RIR (bank), engine/road/wind
    noise generated per clip for a sampled speed, mic band-pass, mic gain, occasional clipping, measured SNR.
  * "vehicle_cabin (files)": the same preset fed the same noise and RIR files as audiomentations
    (apples to apples: file noise at an SNR + file RIR + band-pass).
Every chain gets a warm-up pass over the clips first (audiomentations caches decoded IR files; its
AddBackgroundNoise reads
the noise file segment per call, since 0.43 it has no cache; scenavox caches decoded files and builds its
RIR bank); the bank's one-off build time is printed separately. Needs audiomentations (pip install
'scenavox[bench]').
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scenavox.acoustics import AcousticSources, CabinNoise, apply_acoustics, build_preset  # noqa: E402
from scenavox.acoustics.reverb import pyroom_rir  # noqa: E402


def speech_like(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))
    ph = 2 * np.pi * np.cumsum(f0) / sr
    v = sum(np.sin(k * ph) / k for k in range(1, 10))
    env = np.maximum(np.sin(2 * np.pi * 4 * t), 0) ** 0.7
    return (0.2 * v * env / np.max(np.abs(v))).astype(np.float32)


def pin_one_core() -> None:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--sr", type=int, default=16000)
    ap.add_argument("--repeats", type=int, default=5, help="timing passes (fastest per clip counts)")
    args = ap.parse_args()
    try:
        import audiomentations as am
    except ImportError:
        sys.exit("this benchmark needs audiomentations: pip install 'scenavox[bench]'")
    pin_one_core()
    sr, n = args.sr, int(args.seconds * args.sr)
    rng = np.random.default_rng(0)
    clips = [speech_like(n, sr, rng) for _ in range(args.clips)]

    tmp = Path(tempfile.mkdtemp(prefix="scenavox-bench-"))
    noise_dir, rir_dir = tmp / "noise", tmp / "rir"
    noise_dir.mkdir()
    rir_dir.mkdir()
    cab = CabinNoise(20, 130)
    for i in range(4):  # 10 s of cabin noise per file
        y, _ = cab.generate(10 * sr, sr, np.random.default_rng(100 + i))
        sf.write(noise_dir / f"cabin{i}.wav", 0.1 * y / np.max(np.abs(y)), sr, subtype="FLOAT")
    for i, (dims, rt) in enumerate([((2.2, 1.4, 1.1), 0.08), ((2.5, 1.5, 1.2), 0.1), ((2.0, 1.4, 1.1), 0.12),
                                    ((2.4, 1.5, 1.2), 0.09)]):
        h, _ = pyroom_rir(dims, rt, (0.5, 0.7, 0.6), (1.2, 0.6, 0.9), sr)
        sf.write(rir_dir / f"cabin{i}.wav", h, sr, subtype="FLOAT")

    am_chain = am.Compose([
        am.AddBackgroundNoise(sounds_path=str(noise_dir), min_snr_db=0.0, max_snr_db=15.0, p=1.0),
        am.ApplyImpulseResponse(ir_path=str(rir_dir), p=1.0, lru_cache_size=8),
        am.BandPassFilter(min_center_freq=300.0, max_center_freq=2000.0, p=1.0),
    ])
    noise_cfg = type("Noise", (), {"environment": "vehicle_cabin", "min_snr_db": 0.0, "max_snr_db": 15.0})()
    files = AcousticSources(noise_dirs=(str(noise_dir),), rir_dirs=(str(rir_dir),), user_noise_weight=1.0)

    chains = {
        "audiomentations (noise+IR+bandpass)": lambda i, x: am_chain(samples=x, sample_rate=sr),
        "scenavox vehicle_cabin (synthetic)": lambda i, x: apply_acoustics(x, sr, noise_cfg, None, i),
        "scenavox vehicle_cabin (files)": lambda i, x: apply_acoustics(x, sr, noise_cfg, None, i, sources=files),
    }
    t0 = time.perf_counter()
    build_preset(None, noise_cfg)(clips[0], sr, 0)
    bank_s = time.perf_counter() - t0
    random.seed(0)
    for i, x in enumerate(clips):  # warm-up pass: file caches, RIR spectra, noise beds
        for f in chains.values():
            f(i, x)
    # Interleaved timing: every clip through every chain, repeated; per clip and chain the fastest of the
    # repeats counts (robust to other processes on the machine), summed over the clips.
    best = {k: [np.inf] * len(clips) for k in chains}
    for _ in range(args.repeats):
        random.seed(1)
        for i, x in enumerate(clips):
            for k, f in chains.items():
                t = time.perf_counter()
                f(i, x)
                best[k][i] = min(best[k][i], time.perf_counter() - t)
    t_am, t_syn, t_files = (sum(v) for v in best.values())

    audio_s = args.clips * args.seconds
    print(f"{args.clips} clips x {args.seconds:g} s at {sr} Hz, one core, fastest of {args.repeats} interleaved "
          f"passes per clip; audiomentations {am.__version__}")
    print(f"{'chain':36s} {'total s':>8s} {'ms/clip':>8s} {'x realtime':>11s}")
    for name, t in [("audiomentations (noise+IR+bandpass)", t_am), ("scenavox vehicle_cabin (synthetic)", t_syn),
                    ("scenavox vehicle_cabin (files)", t_files)]:
        print(f"{name:36s} {t:8.3f} {1000 * t / args.clips:8.2f} {audio_s / t:11.0f}")
    print(f"speed-up vs audiomentations: synthetic {t_am / t_syn:.2f}x, files {t_am / t_files:.2f}x (goal >= 2x)")
    from common import result

    result("acoustics vs audiomentations (synthetic noise)", t_am / t_syn, ">= 2", t_am / t_syn >= 2)
    result("acoustics vs audiomentations (same files)", t_am / t_files, ">= 2", t_am / t_files >= 2)
    print(f"one-off cabin RIR bank build (12 pyroomacoustics RIRs, per process): {bank_s:.2f} s")


if __name__ == "__main__":
    main()
