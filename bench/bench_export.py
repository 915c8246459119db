"""Benchmark: dataset export vs a raw pyarrow parquet write of the same rows and audio bytes.

    python bench/bench_export.py [--clips 600] [--seconds 3]

Builds a corpus folder of synthetic clips (FLAC noise bursts of --seconds each, with their
records), then times `scenavox.publish.export.export_dataset` (split assignment, row
building, parquet shards, Audio feature cast, dataset card, NeMo and lhotse manifests)
against `pyarrow.parquet.write_table` of the same rows with the audio bytes inlined, which
is the least any parquet export has to do. Figure: raw time / export time (1.0 = no
overhead). There is no goal in the issue; the card and manifests are extra work the raw
write does not do, so a ratio well below 1 is expected and the number watches regressions.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, result


def make_corpus(root: Path, n: int, seconds: float):
    import numpy as np
    import soundfile as sf

    from scenavox.records import Clip, Command, Triple, content_id
    from scenavox.scenario import load_scenario
    from scenavox.store import Store

    scenario = load_scenario(ROOT / "prompts" / "car.yaml")
    store = Store(root)
    sr = scenario.audio.sample_rate
    rng = np.random.default_rng(0)
    clips, triples = [], {}
    (root / "audio").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        t = Triple(id=content_id("t", i), index=i, command=Command(intent="navigate", slots={"destination": f"Stop {i}"}),
                   utterance=f"Take me to Stop {i}, please.", reply=f"Starting route to Stop {i}.")
        x = (0.05 * rng.standard_normal(int(sr * seconds))).astype("float32")
        rel = f"audio/{content_id('c', i)}.flac"
        sf.write(root / rel, x, sr, format="FLAC")
        c = Clip(id=content_id("c", i), triple_id=t.id, audio_path=rel, text=t.utterance, sample_rate=sr,
                 duration_s=seconds, voice_id=f"voice-{i % 12}", accent=["en-US", "en-GB", "en-IN"][i % 3], language="en",
                 prosody={"rate": 1.0, "level_dbfs": -20.0}, acoustics={"snr_db": 15.0})
        clips.append(c)
        triples[t.id] = t
    return store, scenario, clips, triples


def export_once(store, scenario, clips, triples) -> float:
    from scenavox.publish.export import export_dataset

    t0 = time.perf_counter()
    export_dataset(store, scenario, clips, triples, 0, scenario.to_yaml(), {"bench": True})
    return time.perf_counter() - t0


def raw_once(store, scenario, clips, triples, out: Path) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scenavox.publish.export import build_rows
    from scenavox.splits import Member, assign_splits

    t0 = time.perf_counter()
    rows = build_rows(store, scenario, clips, triples, 0, with_audio=True)
    splits = assign_splits([Member.of_row(r) for r in rows], scenario.size.splits, 0)
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted(set(splits.values())):
        split_rows = [r for r in rows if splits[r["id"]] == name]
        pq.write_table(pa.Table.from_pylist(split_rows), out / f"{name}.parquet")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=600)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        store, scenario, clips, triples = make_corpus(tmp / "corpus", args.clips, args.seconds)
        export_once(store, scenario, clips, triples)  # warm-up: imports, page cache
        raw_once(store, scenario, clips, triples, tmp / "raw")
        ours, raw = [], []
        for k in range(args.repeat):  # interleaved, so a noisy neighbour hurts both sides alike
            ours.append(export_once(store, scenario, clips, triples))
            raw.append(raw_once(store, scenario, clips, triples, tmp / f"raw{k}"))
        o, r = min(ours), min(raw)
        print(f"{args.clips} clips of {args.seconds:g} s: export {o:.2f} s, raw pyarrow write {r:.2f} s")
        result("export vs raw pyarrow parquet write", r / o, "report", None, clips=args.clips,
               export_s=round(o, 3), raw_s=round(r, 3))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
