"""Export the corpus folder as a Hugging Face dataset (parquet, Hub layout).

`datasets` 4+ needs torchcodec to *encode* audio through Features; we encode the FLAC
bytes ourselves and cast the column to Audio, which only records the type. The folder is
built under a temporary name and swapped in, so a crash never leaves half a dataset.

Layout of `<corpus>/dataset/` (what `scenavox publish` uploads):
  data/{split}-NNNNN-of-NNNNN.parquet   `shard_size` rows per shard
  README.md                             the dataset card (publish/card.py)
  scenario.yaml  run_config.json        what generated it
Next to it, `<corpus>/nemo_{split}.jsonl` and `<corpus>/cuts_{split}.jsonl.gz` (publish/manifests.py).

Rows follow the one schema of row_schema.py. Splits are assigned once, by the mixer
(`scenavox.mix.blend_rows`, which applies `scenavox.splits` and then places real speakers), and
the parquet shards, the `dialogues` configuration, the card and the manifests all take them
from its result.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..mix import blend_rows, real_clip_stubs
from ..qa.corpus import leakage_of_rows
from ..records import Clip, Triple
from ..scenario import Scenario
from ..store import TMP_MARK, Store
from .. import row_schema as schema


class ExportCounts(dict):
    """Rows per split, with the mix summary as `.mix` and the leakage between the written splits as
    `.leakage` (a dict, so callers comparing counts still work)."""

    def __init__(self, counts: dict[str, int], mix: dict[str, Any] | None = None,
                 leakage: dict[str, Any] | None = None):
        super().__init__(counts)
        self.mix = mix or {}
        self.leakage = leakage
DEFAULT_SHARD_SIZE = 1000  # rows per parquet shard (~50 MB of 3 s 16 kHz FLAC clips)


def build_rows(store: Store, scenario: Scenario, clips: list[Clip], triples: dict[str, Triple], seed: int, *,
               with_audio: bool = True) -> list[dict[str, Any]]:
    """One row per clip (schema.BASE columns), in clip id order; the mixer splits them. With
    `with_audio=False` the audio bytes are left as None (export reads them shard by shard, so a
    large corpus is never all in memory)."""
    rows: list[dict[str, Any]] = []
    for c in sorted(clips, key=lambda c: c.id):
        t = triples[c.triple_id]
        audio_bytes = store.file(c.audio_path).read_bytes() if with_audio else None
        rows.append({
            "id": c.id,
            "audio": {"bytes": audio_bytes, "path": Path(c.audio_path).name},
            "text": c.text,
            "intent": t.command.intent,
            "slots": json.dumps(t.command.slots, ensure_ascii=False, sort_keys=True),
            "reply": t.reply,
            "persona": t.persona,
            "style": t.style,
            "voice_id": c.voice_id,
            "accent": c.accent,
            "language": c.language,
            "gender": c.provenance.get("gender") or "",
            "duration_s": c.duration_s,
            "sample_rate": c.sample_rate,
            "rate": c.prosody.get("rate"),
            "level_dbfs": c.prosody.get("level_dbfs"),
            "noise_type": c.acoustics.get("acoustics_preset", "none"),
            "snr_db": c.acoustics.get("snr_db"),
            "measured_snr_db": c.acoustics.get("measured_snr_db"),
            "acoustics": json.dumps(c.acoustics, sort_keys=True),
            "tts_backend": c.provenance.get("tts_backend", ""),
            "tts_model": c.provenance.get("tts_model", ""),
            "voice_licence": c.provenance.get("voice_licence", ""),
            "text_backend": t.provenance.get("text_backend", ""),
            "text_model": t.provenance.get("text_model", ""),
            "source": "synthetic",
            "scenario": scenario.name,
            "seed": seed,
            "triple_id": t.id,
            "provenance": json.dumps(
                {"clip": c.provenance, "prosody": c.prosody, "acoustics": c.acoustics, "text": t.provenance}, sort_keys=True, default=str
            ),
        })
        if c.reply_audio_path:  # voiced replies (schema.REPLY_AUDIO)
            rows[-1]["reply_audio"] = {"bytes": store.file(c.reply_audio_path).read_bytes() if with_audio else None,
                                       "path": Path(c.reply_audio_path).name}
            rows[-1]["reply_duration_s"] = c.reply_duration_s
    return rows



def _plain(row: dict[str, Any], features) -> dict[str, Any]:
    from datasets import Value

    out = {}
    for k, f in features.items():
        v = row.get(k)
        if isinstance(f, Value) and f.dtype == "string" and v is not None and not isinstance(v, str):
            v = json.dumps(v, sort_keys=True, default=str)
        elif isinstance(f, Value) and f.dtype == "float64" and v is not None:
            v = float(v)
        out[k] = v
    return out


def shard_name(split: str, index: int, total: int) -> str:
    return f"data/{split}-{index:05d}-of-{total:05d}.parquet"


def _audio_typed(features, sample_rate: int):
    """`features` with every audio column typed as `datasets.Audio`. Only `audio` is decoded on access: the others
    (the voiced replies) load as their FLAC bytes, so code that casts `audio` alone to read rows without
    torchcodec (the README's way) keeps working on a corpus with voiced replies."""
    from datasets import Audio

    feats = features.copy()
    for name in schema.audio_columns(feats):
        feats[name] = Audio(sampling_rate=sample_rate, decode=name == "audio")
    return feats


def write_split_shards(folder: Path, split: str, rows: list[dict[str, Any]], audio_files: list[dict[str, Path]],
                       features, sample_rate: int, shard_size: int) -> dict[str, int]:
    """Write `rows` as parquet shards of at most `shard_size` rows; returns byte counts.

    audio_files: per row, the file of each audio column whose bytes the row leaves as None (read
    shard by shard, so a large corpus is never all in memory).
    Written with pyarrow directly under the schema `datasets` itself would write (Audio type
    and the features in the schema's metadata, so `load_dataset` decodes audio): building a
    `Dataset` first costs 3-4x more, mostly fingerprinting the table by pickling it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_schema = _audio_typed(features, sample_rate).arrow_schema
    total = max(1, math.ceil(len(rows) / shard_size))
    num_bytes = 0
    for k in range(total):
        part = rows[k * shard_size : (k + 1) * shard_size]
        files = audio_files[k * shard_size : (k + 1) * shard_size]
        items = []
        for r, f in zip(part, files):
            r = dict(r)
            for col, path in f.items():
                if r.get(col) and r[col].get("bytes") is None:
                    r[col] = {"bytes": path.read_bytes(), "path": r[col]["path"]}
            items.append(_plain(r, features))
        table = pa.Table.from_pylist(items, schema=arrow_schema)
        num_bytes += table.nbytes
        pq.write_table(table, str(folder / shard_name(split, k, total)))
    return {"num_bytes": num_bytes, "num_shards": total}


def _audio_files(store: Store, clip: Clip) -> dict[str, Path]:
    """The files behind a row's audio columns (a real row has no reply)."""
    out = {"audio": store.file(clip.audio_path)}
    if clip.reply_audio_path:
        out["reply_audio"] = store.file(clip.reply_audio_path)
    return out


def _dataset_info(features, sample_rate: int, split_stats: dict[str, dict[str, int]], folder: Path) -> dict[str, Any]:
    feats = _audio_typed(features, sample_rate)
    download = sum(p.stat().st_size for p in (folder / "data").glob("*.parquet"))
    return {
        "features": feats._to_yaml_list(),
        "splits": [{"name": s, "num_bytes": st["num_bytes"], "num_examples": st["num_examples"]}
                   for s, st in split_stats.items()],
        "download_size": download,
        "dataset_size": sum(st["num_bytes"] for st in split_stats.values()),
    }


def _qa_summary(store: Store) -> dict[str, Any] | None:
    """The QA stage's summary if it left one (qa/summary.json)."""
    p = store.file(Store.qa_rel("summary.json"))
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def export_dataset(store: Store, scenario: Scenario, clips: list[Clip], triples: dict[str, Triple], seed: int,
                   scenario_yaml: str, run_config: dict[str, Any], *, shard_size: int | None = None,
                   manifests: bool = True, qa: dict[str, Any] | None = None,
                   extra_columns: dict[str, dict[str, Any]] | None = None,
                   dialogues: list[Any] | None = None) -> ExportCounts:
    """Write `<corpus>/dataset/` (parquet shards + card + scenario + run config) and the manifests.

    `shard_size` is rows per parquet shard (default DEFAULT_SHARD_SIZE, or the
    SCENAVOX_SHARD_SIZE environment variable). `extra_columns` maps a clip id to more
    columns for its row (the QA stage's qa_* verdicts and scores). Returns rows per split
    (real rows included); its `.mix` attribute is the mixer's summary (`scenavox.mix.blend_rows`).
    """
    import datasets

    from .card import build_card
    from .manifests import write_manifests

    if shard_size is None:
        env = os.environ.get("SCENAVOX_SHARD_SIZE", "")
        try:
            shard_size = int(env) if env else DEFAULT_SHARD_SIZE
        except ValueError:
            raise UserError(f"SCENAVOX_SHARD_SIZE={env!r}: give a whole number of rows per shard") from None
    if shard_size < 1:
        raise UserError(f"shard size {shard_size}: give at least 1 row per parquet shard")

    datasets.disable_progress_bars()  # our own bars already show progress

    by_id: dict[str, Any] = {c.id: c for c in clips}
    flat = build_rows(store, scenario, clips, triples, seed, with_audio=False)
    if any(t.dialogue is not None for t in triples.values()):
        from .dialogues import turn_columns

        for row in flat:  # dialogue turns: where each row sits in its dialogue (one-turn rows keep their columns)
            t = triples[row["triple_id"]]
            if t.dialogue is not None:
                row.update(turn_columns(t, by_id[row["id"]]))
    if extra_columns:
        for row in flat:
            row.update(extra_columns.get(row["id"], {}))
    sr = scenario.audio.sample_rate
    # the one split assignment; real recordings (scenario.mix) are written to <corpus>/real/<id>.flac
    real_dir = store.real_dir if scenario.mix.real is not None else None
    rows, mix_summary = blend_rows(flat, scenario, seed, sr, audio_dir=real_dir)
    split_of = {r["id"]: s for s, split_rows in rows.items() for r in split_rows}
    by_id.update(real_clip_stubs(rows))
    if real_dir is not None:
        for stale in real_dir.glob("*.flac"):
            if stale.stem not in by_id:
                stale.unlink(missing_ok=True)
    columns = schema.columns_for({k for split_rows in rows.values() for r in split_rows for k in r})
    features = schema.features(columns)
    final = store.dataset_dir
    tmp = final.with_name(f"{final.name}{TMP_MARK}{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    counts: dict[str, int] = {}
    stats: dict[str, dict[str, int]] = {}
    for split, split_rows in rows.items():
        counts[split] = len(split_rows)
        if not split_rows:
            continue
        files = [_audio_files(store, by_id[r["id"]]) for r in split_rows]
        st = write_split_shards(tmp, split, split_rows, files, features, sr, shard_size)
        stats[split] = {"num_bytes": st["num_bytes"], "num_examples": len(split_rows)}
    dialogue_summary = None
    if dialogues:
        from .dialogues import write_dialogue_config

        dialogue_summary = write_dialogue_config(tmp, store, dialogues, split_of, scenario.name, seed, sr)
    (tmp / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    (tmp / "run_config.json").write_text(json.dumps(run_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    # leakage is measured on the rows written here: a summary left by an earlier QA run describes
    # the previous export (or none, on a fresh build)
    leakage = leakage_of_rows(rows, scenario.voices.held_out)
    qa_block = qa if qa is not None else _qa_summary(store)
    if qa_block is not None:
        qa_block = {**qa_block, "split_leakage": leakage}
        if "not_measured" in qa_block:
            qa_block["not_measured"] = [x for x in qa_block["not_measured"] if x != "split leakage"]
    card = build_card(scenario, rows, columns=columns, dataset_info=_dataset_info(features, sr, stats, tmp),
                      qa=qa_block, run_config=run_config, dialogues=dialogue_summary)
    (tmp / "README.md").write_text(str(card), encoding="utf-8")
    old = final.with_name(f"{final.name}.old{TMP_MARK}{os.getpid()}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    if manifests:
        write_manifests(store, rows, by_id)
    return ExportCounts(counts, mix=mix_summary, leakage=leakage)
