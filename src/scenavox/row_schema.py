"""The dataset's row schemas, declared once: export, the mixer's real rows, manifests and card read them.

A row of the default configuration has the BASE columns; a corpus with voiced replies adds
REPLY_AUDIO, a corpus with multi-turn dialogues adds DIALOGUE_TURN, a corpus checked by QA adds
the QA checks' columns (`qa_block`), and every exported row carries MIX's `text_normalized` (the
mixer adds it). Columns come in this order in every shard and split. The schema lives outside
publish/ because the mixer builds real rows too.

The audio columns are declared as the plain {bytes, path} struct: building rows with the `Audio`
feature needs torchcodec in `datasets` 4+, so export writes the struct under the Audio type's
arrow schema instead (see publish/export.py and DESIGN.md section 7).

`datasets` is imported only when a Features object is asked for: the column names are plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# (column, type): "string", "int64", "float64", "bool", or "audio" (the {bytes, path} struct)
BASE: tuple[tuple[str, str], ...] = (
    ("id", "string"),
    ("audio", "audio"),
    ("text", "string"),
    ("intent", "string"),
    ("slots", "string"),  # JSON object: slot -> value
    ("reply", "string"),
    ("persona", "string"),
    ("style", "string"),
    ("voice_id", "string"),
    ("accent", "string"),
    ("language", "string"),
    ("gender", "string"),
    ("duration_s", "float64"),
    ("sample_rate", "int64"),
    ("rate", "float64"),
    ("level_dbfs", "float64"),
    ("noise_type", "string"),
    ("snr_db", "float64"),
    ("measured_snr_db", "float64"),
    ("acoustics", "string"),  # JSON: every sampled acoustic parameter
    ("tts_backend", "string"),
    ("tts_model", "string"),
    ("voice_licence", "string"),
    ("text_backend", "string"),
    ("text_model", "string"),
    ("source", "string"),  # synthetic | real
    ("scenario", "string"),
    ("seed", "int64"),
    ("triple_id", "string"),
    ("provenance", "string"),  # JSON: clip, prosody, acoustics, text (or real)
)
DIALOGUE_TURN: tuple[tuple[str, str], ...] = (
    ("dialogue_id", "string"),
    ("turn", "int64"),
    ("n_turns", "int64"),
    ("turn_kind", "string"),
    ("barge_in", "bool"),
    ("speaker_role", "string"),
    ("reply_voice_id", "string"),
)
# a corpus whose replies are voiced (output_form voiced_replies or both): the assistant's reply as the device
# speaks it (clean, the assistant voice), so a published dataset carries the replies it was built with
REPLY_AUDIO: tuple[tuple[str, str], ...] = (("reply_audio", "audio"), ("reply_duration_s", "float64"))
MIX: tuple[tuple[str, str], ...] = (("text_normalized", "string"),)


def qa_block() -> tuple[tuple[str, str], ...]:
    """The qa_* columns: the verdict, then each registered QA check's columns in registration order
    (qa/checks/), so a new check's columns are declared by the check itself."""
    from .qa.checks import checks

    cols = [("qa_passed", "bool"), ("qa_reasons", "string")]
    for c in checks():
        cols += [(name, c.column_types.get(name, "float64")) for name in c.columns]
    return tuple(cols)


def blocks() -> tuple[tuple[tuple[str, str], ...], ...]:
    return (BASE, REPLY_AUDIO, DIALOGUE_TURN, qa_block(), MIX)


def declared() -> dict[str, str]:
    """Every declared column of the default configuration -> its type."""
    return {name: kind for block in blocks() for name, kind in block}


# the `dialogues` configuration: one row per rendered dialogue, its segments in `turns`
DIALOGUE_SEGMENT: tuple[tuple[str, str], ...] = (
    ("role", "string"), ("speaker", "string"), ("turn", "int64"), ("start_s", "float64"), ("end_s", "float64"),
    ("text", "string"), ("clip_id", "string"), ("voice_id", "string"), ("kind", "string"), ("barge_in", "bool"),
    ("overlap_s", "float64"), ("intent", "string"), ("slots", "string"),
)
DIALOGUES: tuple[tuple[str, str], ...] = (
    ("id", "string"), ("audio", "audio"), ("duration_s", "float64"), ("sample_rate", "int64"), ("n_turns", "int64"),
    ("mode", "string"), ("voiced_replies", "bool"), ("turns", "segments"), ("acoustics", "string"),
    ("scenario", "string"), ("seed", "int64"),
)


def columns_for(present: Iterable[str]) -> list[str]:
    """The declared columns, in order, of the blocks that any of `present` belongs to (BASE always).

    Raises ValueError for a column that is not declared here: add it to its block first."""
    present = set(present)
    unknown = sorted(present - set(declared()))
    if unknown:
        raise ValueError(f"columns {unknown} are not declared in scenavox.row_schema (or by a QA check)")
    return [name for block in blocks() if block is BASE or present & {n for n, _ in block} for name, _ in block]


def audio_columns(columns: Iterable[str]) -> list[str]:
    """Those of `columns` that hold encoded sound (the {bytes, path} struct, typed as `datasets.Audio`)."""
    kinds = declared()
    return [c for c in columns if kinds.get(c) == "audio"]


def empty_row() -> dict[str, Any]:
    """A row of the BASE and MIX columns, all None (the mixer's real rows start from it)."""
    return {name: None for block in (BASE, MIX) for name, _ in block}


def _feature(kind: str) -> Any:
    from datasets import List, Value

    if kind == "audio":
        return {"bytes": Value("binary"), "path": Value("string")}
    if kind == "segments":
        return List({name: _feature(k) for name, k in DIALOGUE_SEGMENT})
    return Value(kind)


def features(columns: Iterable[str]) -> Any:
    """`datasets.Features` of the given declared columns of the default configuration, in that order."""
    from datasets import Features

    kinds = declared()
    return Features({name: _feature(kinds[name]) for name in columns})


def dialogue_features() -> Any:
    """`datasets.Features` of the `dialogues` configuration."""
    from datasets import Features

    return Features({name: _feature(kind) for name, kind in DIALOGUES})
