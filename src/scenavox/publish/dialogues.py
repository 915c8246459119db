"""The `dialogues` configuration of the exported dataset: one row per rendered dialogue.

`<dataset>/dialogues/{split}-00000-of-00001.parquet`, read with
`load_dataset(path, "dialogues")`. A dialogue goes to the split of its turns (export keeps a
dialogue's turns in one split). Columns: the mixed audio, the per-segment timeline (`turns`:
role, speaker, start_s, end_s, text, clip_id, intent, slots, kind, barge_in, overlap_s) and
what made it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..dialogues import Dialogue
from ..store import Store

FOLDER = "dialogues"
CONFIG = "dialogues"


def turn_columns(t: Any, c: Any) -> dict[str, Any]:
    """Columns of a dialogue turn's row in the default configuration."""
    d = t.dialogue
    return {"dialogue_id": d.id, "turn": d.turn, "n_turns": d.n_turns, "turn_kind": d.kind,
            "barge_in": d.barge_in, "speaker_role": d.speaker,
            "reply_voice_id": c.reply_voice_id or ""}


def _features(sample_rate: int):  # noqa: ANN202
    from datasets import Features, List, Value

    turn = {"role": Value("string"), "speaker": Value("string"), "turn": Value("int64"),
            "start_s": Value("float64"), "end_s": Value("float64"), "text": Value("string"),
            "clip_id": Value("string"), "voice_id": Value("string"), "kind": Value("string"),
            "barge_in": Value("bool"), "overlap_s": Value("float64"), "intent": Value("string"),
            "slots": Value("string")}
    return Features({
        "id": Value("string"), "audio": {"bytes": Value("binary"), "path": Value("string")},
        "duration_s": Value("float64"), "sample_rate": Value("int64"), "n_turns": Value("int64"),
        "mode": Value("string"), "voiced_replies": Value("bool"), "turns": List(turn),
        "acoustics": Value("string"), "scenario": Value("string"), "seed": Value("int64"),
    })


def _row(store: Store, d: Dialogue, scenario_name: str, seed: int) -> dict[str, Any]:
    turns = []
    for s in d.segments:
        cmd = s.command
        turns.append({"role": s.role, "speaker": s.speaker, "turn": s.turn, "start_s": s.start_s, "end_s": s.end_s,
                      "text": s.text, "clip_id": s.clip_id, "voice_id": s.voice_id, "kind": s.kind,
                      "barge_in": s.barge_in, "overlap_s": s.overlap_s, "intent": cmd.intent if cmd else "",
                      "slots": json.dumps(cmd.slots, ensure_ascii=False, sort_keys=True) if cmd else ""})
    return {"id": d.id, "audio": {"bytes": (store.root / d.audio_path).read_bytes(), "path": Path(d.audio_path).name},
            "duration_s": d.duration_s, "sample_rate": d.sample_rate, "n_turns": d.n_turns, "mode": d.mode,
            "voiced_replies": d.voiced_replies, "turns": turns, "acoustics": json.dumps(d.acoustics, sort_keys=True),
            "scenario": scenario_name, "seed": seed}


def write_dialogue_config(folder: Path, store: Store, dialogues: list[Dialogue], split_of: dict[str, str],
                          scenario_name: str, seed: int, sample_rate: int) -> dict[str, Any] | None:
    """Write the parquet files under `folder`/dialogues; return the card's summary (None: nothing written).

    split_of: dialogue id -> split."""
    from datasets import Audio, Dataset

    by_split: dict[str, list[Dialogue]] = {}
    for d in dialogues:
        by_split.setdefault(split_of.get(d.id, "train"), []).append(d)
    if not by_split:
        return None
    (folder / FOLDER).mkdir(parents=True, exist_ok=True)
    feats = _features(sample_rate)
    for split, items in by_split.items():
        rows = [_row(store, d, scenario_name, seed) for d in items]
        ds = Dataset.from_list(rows, features=feats).cast_column("audio", Audio(sampling_rate=sample_rate))
        ds.to_parquet(str(folder / FOLDER / f"{split}-00000-of-00001.parquet"))
    return {
        "config": {"config_name": CONFIG,
                   "data_files": [{"split": s, "path": f"{FOLDER}/{s}-*"} for s in ("train", "validation", "test")
                                  if s in by_split]},
        "dialogues": {s: len(by_split[s]) for s in ("train", "validation", "test") if s in by_split},
        "minutes": round(sum(d.duration_s for d in dialogues) / 60, 2),
        "barge_ins": sum(s.barge_in for d in dialogues for s in d.segments),
        "voiced_replies": any(d.voiced_replies for d in dialogues),
    }


def card_section(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in summary["dialogues"].items())
    replies = "user turns and the assistant's voiced replies" if summary["voiced_replies"] else "the user turns"
    return "\n".join([
        "## Dialogues", "",
        f"A second configuration, `{CONFIG}` ({counts}; {summary['minutes']} min), holds whole multi-turn "
        f"dialogues: {replies} on one timeline with natural gaps"
        + (f", {summary['barge_ins']} barge-ins where the user cuts into the reply (overlapping speech)"
           if summary["barge_ins"] else "")
        + ". The `turns` column gives every segment's start and end in seconds, its text, its `clip_id` (the "
        "row of the default configuration with that user turn) and the turn's own command. "
        f"Load it with `load_dataset(REPO, \"{CONFIG}\")`. Every user turn is also a row of the default "
        "configuration; dialogues missing a turn (set aside by the checks) are not rendered.", "",
    ])
