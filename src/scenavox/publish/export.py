"""Export the corpus folder as a Hugging Face dataset (parquet, Hub layout).

`datasets` 4+ needs torchcodec to *encode* audio through Features; we encode the FLAC
bytes ourselves and cast the column to Audio, which only records the type. The folder is
built under a temporary name and swapped in, so a crash never leaves half a dataset.

Layout of `<corpus>/dataset/` (what `scenavox publish` uploads):
  data/{split}-NNNNN-of-NNNNN.parquet   `shard_size` rows per shard
  README.md                             the dataset card (publish/card.py)
  scenario.yaml  run_config.json        what generated it
Next to it, `<corpus>/nemo_{split}.jsonl` and `<corpus>/cuts_{split}.jsonl.gz` (publish/manifests.py).
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
from ..records import Clip, Triple, content_id
from ..scenario import Scenario
from ..store import TMP_MARK, Store

SPLITS = ("train", "validation", "test")
REAL_DIR = "real"  # real recordings blended in by scenario.mix, one FLAC per row


class ExportCounts(dict):
    """Rows per split, with the mix summary as `.mix` (a dict, so callers comparing counts still work)."""

    def __init__(self, counts: dict[str, int], mix: dict[str, Any] | None = None):
        super().__init__(counts)
        self.mix = mix or {}
DEFAULT_SHARD_SIZE = 1000  # rows per parquet shard (~50 MB of 3 s 16 kHz FLAC clips)


def assign_splits(clips: list[Clip], shares: dict[str, float], seed: int, held_out: set[str],
                  groups: dict[str, str] | None = None) -> dict[str, str]:
    """Deterministic split per clip: held-out voices go to test; the rest is cut by shares.

    Clips are ordered by a seeded hash of their triple id, so the assignment does not depend
    on the order clips were produced in, and the counts follow the shares exactly
    (largest remainder). `groups` (clip id -> group key, e.g. its dialogue) keeps a group in one
    split; a group with a held-out voice goes to test whole. Without it each clip is its own group.
    """
    key = {c.id: (groups or {}).get(c.id, c.triple_id) for c in clips}
    held_groups = {key[c.id] for c in clips if c.voice_id in held_out}
    out = {c.id: "test" for c in clips if key[c.id] in held_groups}
    rest = sorted({key[c.id] for c in clips if key[c.id] not in held_groups}, key=lambda g: content_id("split", seed, g))
    total = sum(shares.values())
    names = [s for s in SPLITS if s in shares]
    exact = [len(rest) * shares[s] / total for s in names]
    counts = [int(e) for e in exact]
    for k in sorted(range(len(names)), key=lambda k: exact[k] - counts[k], reverse=True)[: len(rest) - sum(counts)]:
        counts[k] += 1
    split_of: dict[str, str] = {}
    pos = 0
    for name, count in zip(names, counts):
        for g in rest[pos : pos + count]:
            split_of[g] = name
        pos += count
    out.update({c.id: split_of[key[c.id]] for c in clips if key[c.id] in split_of})
    return out


def build_rows(store: Store, scenario: Scenario, clips: list[Clip], triples: dict[str, Triple], seed: int,
               splits: dict[str, str], *, with_audio: bool = True) -> dict[str, list[dict[str, Any]]]:
    """One row per clip, per split. With `with_audio=False` the audio bytes are left as None
    (export reads them shard by shard, so a large corpus is never all in memory)."""
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for c in sorted(clips, key=lambda c: c.id):
        t = triples[c.triple_id]
        audio_bytes = (store.root / c.audio_path).read_bytes() if with_audio else None
        rows[splits[c.id]].append({
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
    return rows



def infer_features(rows: list[dict[str, Any]], sample_rate: int):
    """One schema for every shard of every split.

    Inferring per shard would give a column that is all None in one shard the `null` type,
    and the shards would then disagree. The audio column is a plain {bytes, path} struct here;
    the caller casts it to Audio (which needs no torchcodec, unlike building with Audio).
    """
    from datasets import Features, Value

    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    feats: dict[str, Any] = {}
    for col in columns:
        if col == "audio":
            feats[col] = {"bytes": Value("binary"), "path": Value("string")}
            continue
        vals = [r.get(col) for r in rows if r.get(col) is not None]
        if vals and all(isinstance(v, bool) for v in vals):
            feats[col] = Value("bool")
        elif vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            feats[col] = Value("int64")
        elif vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            feats[col] = Value("float64")
        elif vals and all(isinstance(v, bytes) for v in vals):
            feats[col] = Value("binary")
        else:
            feats[col] = Value("string")
    return Features(feats)


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


def write_split_shards(folder: Path, split: str, rows: list[dict[str, Any]], audio_files: list[Path],
                       features, sample_rate: int, shard_size: int) -> dict[str, int]:
    """Write `rows` as parquet shards of at most `shard_size` rows; returns byte counts.

    Written with pyarrow directly under the schema `datasets` itself would write (Audio type
    and the features in the schema's metadata, so `load_dataset` decodes audio): building a
    `Dataset` first costs 3-4x more, mostly fingerprinting the table by pickling it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Audio

    feats = features.copy()
    feats["audio"] = Audio(sampling_rate=sample_rate)
    schema = feats.arrow_schema
    total = max(1, math.ceil(len(rows) / shard_size))
    num_bytes = 0
    for k in range(total):
        part = rows[k * shard_size : (k + 1) * shard_size]
        files = audio_files[k * shard_size : (k + 1) * shard_size]
        items = []
        for r, f in zip(part, files):
            r = dict(r)
            if r["audio"].get("bytes") is None:
                r["audio"] = {"bytes": f.read_bytes(), "path": r["audio"]["path"]}
            items.append(_plain(r, features))
        table = pa.Table.from_pylist(items, schema=schema)
        num_bytes += table.nbytes
        pq.write_table(table, str(folder / shard_name(split, k, total)))
    return {"num_bytes": num_bytes, "num_shards": total}


def _dataset_info(features, sample_rate: int, split_stats: dict[str, dict[str, int]], folder: Path) -> dict[str, Any]:
    from datasets import Audio

    feats = features.copy()
    feats["audio"] = Audio(sampling_rate=sample_rate)
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
    p = store.root / "qa" / "summary.json"
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

    by_clip = {c.id: c for c in clips}
    groups = {c.id: triples[c.triple_id].dialogue.id for c in clips if triples[c.triple_id].dialogue is not None}
    splits = assign_splits(clips, scenario.size.splits, seed, set(scenario.voices.held_out), groups=groups)
    rows = build_rows(store, scenario, clips, triples, seed, splits, with_audio=False)
    if groups:  # dialogue turns: where each row sits in its dialogue (one-turn rows keep their columns)
        from .dialogues import turn_columns

        for split_rows in rows.values():
            for row in split_rows:
                row.update(turn_columns(triples[row["triple_id"]], by_clip[row["id"]]))
    if extra_columns:
        for split_rows in rows.values():
            for row in split_rows:
                row.update(extra_columns.get(row["id"], {}))
    by_id: dict[str, Any] = {c.id: c for c in clips}
    sr = scenario.audio.sample_rate
    # real recordings (scenario.mix): written to <corpus>/real/<id>.flac, blended per split
    real_dir = store.root / REAL_DIR if scenario.mix.real is not None else None
    rows, mix_summary = blend_rows(rows, scenario, seed, sr, audio_dir=real_dir)
    by_id.update(real_clip_stubs(rows, REAL_DIR))
    if real_dir is not None:
        for stale in real_dir.glob("*.flac"):
            if stale.stem not in by_id:
                stale.unlink(missing_ok=True)
    features = infer_features([r for s in SPLITS for r in rows[s]], sr)
    final = store.root / "dataset"
    tmp = store.root / f"dataset{TMP_MARK}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    counts: dict[str, int] = {}
    stats: dict[str, dict[str, int]] = {}
    for split, split_rows in rows.items():
        counts[split] = len(split_rows)
        if not split_rows:
            continue
        files = [store.root / by_id[r["id"]].audio_path for r in split_rows]
        st = write_split_shards(tmp, split, split_rows, files, features, sr, shard_size)
        stats[split] = {"num_bytes": st["num_bytes"], "num_examples": len(split_rows)}
    dialogue_summary = None
    if dialogues:
        from .dialogues import write_dialogue_config

        first_clip = {d.id: d.segments[0].clip_id for d in dialogues}
        dialogue_summary = write_dialogue_config(tmp, store, dialogues, {k: splits[v] for k, v in first_clip.items()},
                                                 scenario.name, seed, sr)
    (tmp / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    (tmp / "run_config.json").write_text(json.dumps(run_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    card = build_card(scenario, rows, dataset_info=_dataset_info(features, sr, stats, tmp),
                      qa=qa if qa is not None else _qa_summary(store), run_config=run_config,
                      dialogues=dialogue_summary)
    (tmp / "README.md").write_text(str(card), encoding="utf-8")
    old = store.root / f"dataset.old{TMP_MARK}{os.getpid()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    if manifests:
        write_manifests(store, rows, by_id)
    return ExportCounts(counts, mix=mix_summary)
