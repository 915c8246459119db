"""The dataset's row schemas, declared once: export, the mixer's real rows, manifests and card read them.

A row of the default configuration has the BASE columns; a corpus with multi-turn dialogues
adds DIALOGUE_TURN, a corpus checked by QA adds QA, and every exported row carries MIX's
`text_normalized` (the mixer adds it). Columns come in this order in every shard and split.

The audio column is declared as the plain {bytes, path} struct: building rows with the `Audio`
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
QA: tuple[tuple[str, str], ...] = (
    ("qa_passed", "bool"),
    ("qa_reasons", "string"),
    ("qa_transcript", "string"),
    ("qa_wer", "float64"),
    ("qa_cer", "float64"),
    ("qa_clean_wer", "float64"),
    ("qa_entity_recall", "float64"),
    ("qa_clean_entity_recall", "float64"),
    ("qa_dnsmos_ovrl", "float64"),
    ("qa_dnsmos_sig", "float64"),
    ("qa_words_per_s", "float64"),
    ("qa_snr_db", "float64"),
)
MIX: tuple[tuple[str, str], ...] = (("text_normalized", "string"),)

BLOCKS = (BASE, DIALOGUE_TURN, QA, MIX)
COLUMNS: dict[str, str] = {name: kind for block in BLOCKS for name, kind in block}

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
    unknown = sorted(present - set(COLUMNS))
    if unknown:
        raise ValueError(f"columns {unknown} are not declared in scenavox.publish.schema")
    return [name for block in BLOCKS if block is BASE or present & {n for n, _ in block} for name, _ in block]


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

    return Features({name: _feature(COLUMNS[name]) for name in columns})


def dialogue_features() -> Any:
    """`datasets.Features` of the `dialogues` configuration."""
    from datasets import Features

    return Features({name: _feature(kind) for name, kind in DIALOGUES})
