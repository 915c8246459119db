"""The `dialogues` configuration of the exported dataset: one row per rendered dialogue.

`<dataset>/dialogues/{split}-00000-of-00001.parquet`, read with
`load_dataset(path, "dialogues")`. A dialogue goes to the split its turns have in the default
configuration (the splitter and the mixer keep a dialogue's turns together); a dialogue whose
turns are not rows there (the mixer dropped them to keep the synthetic share) is left out. Columns (row_schema.py): the
mixed audio, the per-segment timeline (`turns`: role, speaker, start_s, end_s, text, clip_id,
intent, slots, kind, barge_in, overlap_s) and what made it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..dialogues import Dialogue
from ..splits import SPLITS
from ..store import Store
from .. import row_schema as schema

FOLDER = "dialogues"  # inside the dataset folder
CONFIG = "dialogues"


def turn_columns(t: Any, c: Any) -> dict[str, Any]:
    """Columns of a dialogue turn's row in the default configuration."""
    d = t.dialogue
    return {"dialogue_id": d.id, "turn": d.turn, "n_turns": d.n_turns, "turn_kind": d.kind,
            "barge_in": d.barge_in, "speaker_role": d.speaker,
            "reply_voice_id": c.reply_voice_id or ""}


def _row(store: Store, d: Dialogue, scenario_name: str, seed: int) -> dict[str, Any]:
    turns = []
    for s in d.segments:
        cmd = s.command
        turns.append({"role": s.role, "speaker": s.speaker, "turn": s.turn, "start_s": s.start_s, "end_s": s.end_s,
                      "text": s.text, "clip_id": s.clip_id, "voice_id": s.voice_id, "kind": s.kind,
                      "barge_in": s.barge_in, "overlap_s": s.overlap_s, "intent": cmd.intent if cmd else "",
                      "slots": json.dumps(cmd.slots, ensure_ascii=False, sort_keys=True) if cmd else ""})
    return {"id": d.id, "audio": {"bytes": store.file(d.audio_path).read_bytes(), "path": Path(d.audio_path).name},
            "duration_s": d.duration_s, "sample_rate": d.sample_rate, "n_turns": d.n_turns, "mode": d.mode,
            "voiced_replies": d.voiced_replies, "turns": turns, "acoustics": json.dumps(d.acoustics, sort_keys=True),
            "scenario": scenario_name, "seed": seed}


def dialogue_split(d: Dialogue, split_of: dict[str, str]) -> str | None:
    """The split of the dialogue's turns, or None when they are not all in one split."""
    found = {split_of.get(s.clip_id) for s in d.segments}
    return found.pop() if len(found) == 1 and None not in found else None


def write_dialogue_config(folder: Path, store: Store, dialogues: list[Dialogue], split_of: dict[str, str],
                          scenario_name: str, seed: int, sample_rate: int) -> dict[str, Any] | None:
    """Write the parquet files under `folder`/dialogues; return the card's summary (None: nothing written).

    split_of: row id -> split of the default configuration (the one assignment)."""
    from datasets import Audio, Dataset

    by_split: dict[str, list[Dialogue]] = {}
    kept = [d for d in dialogues if dialogue_split(d, split_of) is not None]
    for d in kept:
        by_split.setdefault(split_of[d.segments[0].clip_id], []).append(d)
    if not by_split:
        return None
    (folder / FOLDER).mkdir(parents=True, exist_ok=True)
    feats = schema.dialogue_features()
    for split, items in by_split.items():
        rows = [_row(store, d, scenario_name, seed) for d in items]
        ds = Dataset.from_list(rows, features=feats).cast_column("audio", Audio(sampling_rate=sample_rate))
        ds.to_parquet(str(folder / FOLDER / f"{split}-00000-of-00001.parquet"))
    return {
        "config": {"config_name": CONFIG,
                   "data_files": [{"split": s, "path": f"{FOLDER}/{s}-*"} for s in SPLITS if s in by_split]},
        "dialogues": {s: len(by_split[s]) for s in SPLITS if s in by_split},
        "minutes": round(sum(d.duration_s for d in kept) / 60, 2),
        "barge_ins": sum(s.barge_in for d in kept for s in d.segments),
        "voiced_replies": any(d.voiced_replies for d in kept),
        **({"left_out": len(dialogues) - len(kept)} if len(kept) < len(dialogues) else {}),
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
        "configuration; dialogues missing a turn (set aside by the checks) are not rendered."
        + (f" {summary['left_out']} rendered dialogue(s) are left out: the blend with real recordings dropped "
           "their turns to keep the synthetic share." if summary.get("left_out") else ""), "",
    ])
