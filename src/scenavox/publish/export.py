"""Export the corpus folder as a Hugging Face dataset (parquet, Hub layout).

`datasets` 4+ needs torchcodec to *encode* audio through Features; we encode the FLAC
bytes ourselves and cast the column to Audio, which only records the type. The folder is
built under a temporary name and swapped in, so a crash never leaves half a dataset.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..records import Clip, Triple, content_id
from ..scenario import Scenario
from ..store import TMP_MARK, Store

SPLITS = ("train", "validation", "test")


def assign_splits(clips: list[Clip], shares: dict[str, float], seed: int, held_out: set[str]) -> dict[str, str]:
    """Deterministic split per clip: held-out voices go to test; the rest is cut by shares.

    Clips are ordered by a seeded hash of their triple id, so the assignment does not depend
    on the order clips were produced in, and the counts follow the shares exactly
    (largest remainder).
    """
    out = {c.id: "test" for c in clips if c.voice_id in held_out}
    rest = sorted((c for c in clips if c.voice_id not in held_out), key=lambda c: content_id("split", seed, c.triple_id))
    total = sum(shares.values())
    names = [s for s in SPLITS if s in shares]
    exact = [len(rest) * shares[s] / total for s in names]
    counts = [int(e) for e in exact]
    for k in sorted(range(len(names)), key=lambda k: exact[k] - counts[k], reverse=True)[: len(rest) - sum(counts)]:
        counts[k] += 1
    pos = 0
    for name, count in zip(names, counts):
        for c in rest[pos : pos + count]:
            out[c.id] = name
        pos += count
    return out


def build_rows(store: Store, scenario: Scenario, clips: list[Clip], triples: dict[str, Triple], seed: int,
               splits: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for c in sorted(clips, key=lambda c: c.id):
        t = triples[c.triple_id]
        audio_bytes = (store.root / c.audio_path).read_bytes()
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
                {"clip": c.provenance, "prosody": c.prosody, "text": t.provenance}, sort_keys=True, default=str
            ),
        })
    return rows


def export_dataset(store: Store, scenario: Scenario, clips: list[Clip], triples: dict[str, Triple], seed: int,
                   scenario_yaml: str, run_config: dict[str, Any]) -> dict[str, int]:
    import datasets
    from datasets import Audio, Dataset

    datasets.disable_progress_bars()  # our own bars already show progress

    splits = assign_splits(clips, scenario.size.splits, seed, set(scenario.voices.held_out))
    rows = build_rows(store, scenario, clips, triples, seed, splits)
    final = store.root / "dataset"
    tmp = store.root / f"dataset{TMP_MARK}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    counts = {}
    for split, split_rows in rows.items():
        counts[split] = len(split_rows)
        if not split_rows:
            continue
        ds = Dataset.from_list(split_rows).cast_column("audio", Audio(sampling_rate=scenario.audio.sample_rate))
        ds.to_parquet(str(tmp / "data" / f"{split}-00000-of-00001.parquet"))
    (tmp / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    (tmp / "run_config.json").write_text(json.dumps(run_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (tmp / "README.md").write_text(_card(scenario, counts), encoding="utf-8")
    old = store.root / f"dataset.old{TMP_MARK}{os.getpid()}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return counts


def _card(scenario: Scenario, counts: dict[str, int]) -> str:
    # No `configs:` block: the data/{split}-* layout is found without it, and with it
    # datasets 5.2 caches every local folder named "dataset" under one key, so loading a
    # second corpus returns the first one's rows.
    return f"""---
tags:
- synthetic
- speech
annotations_creators:
- machine-generated
language_creators:
- machine-generated
---
# {scenario.name}: synthetic speech corpus

All audio in this dataset is **synthetic** (text-to-speech); all text was written by a
language model from planned commands. Generated by scenavox from the scenario in
`scenario.yaml`; `run_config.json` holds the run settings.

{scenario.description.strip()}

Rows per split: {", ".join(f"{s} {counts.get(s, 0)}" for s in SPLITS)}.
"""
