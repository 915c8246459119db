"""Dataset splits: their names, and the rule that puts synthetic items into them.

The rule: items whose voice is held out go to test (and every voice of the same speaker, see
speaker_of: one timbre reading another accent's phonemes is still one person); the rest are ordered by a seeded hash of
their group key (so the result does not depend on the order items were produced in) and cut
by the split shares, with counts that follow the shares exactly (largest remainder). A group
(a dialogue's turns) always shares one split; a group with a held-out voice goes to test whole.

`scenavox.mix.blend_rows` applies it and then places real speakers; what comes out of the mixer
is the one assignment every configuration and manifest of the dataset uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .records import content_id
from .sampling import largest_remainder

SPLITS = ("train", "validation", "test")
HELD_OUT_SPLIT = "test"

# voice options that only choose how text is phonemized (the accent), not whose timbre reads it
_ACCENT_OPTIONS = ("lang", "espeak_voice")


def speaker_of(row: Mapping[str, Any]) -> str:
    """Who speaks in a dataset row, as a listener would tell: one timbre is one speaker whatever accent
    phonemizes it. Piper joe in four eSpeak accents is still joe (resemblyzer similarity 0.98), and a
    Kokoro style reading New York phonemes is the same person as that style reading American ones, so
    holding out one of those voice ids must hold out the others too. The timbre is the backend, its
    model, its speaker index and the voice options less the phonemizer's (from the row's provenance)."""
    if row.get("source") == "real" or not row.get("tts_backend"):
        return str(row.get("voice_id"))
    clip = json.loads(row.get("provenance") or "{}").get("clip")
    if not clip or "voice_options" not in clip:
        # nothing to tell the timbre by: a Piper model is one speaker, anything else its voice id
        return f"piper:{row['tts_model']}" if row["tts_backend"] == "piper" else str(row.get("voice_id"))
    return timbre_key(row["tts_backend"], row.get("tts_model"), clip.get("voice_options"), clip.get("speaker"))


def timbre_key(backend: str, model: str | None, options: Mapping[str, Any] | None, speaker: Any = None) -> str:
    """One speaker's key: the backend, its model, its speaker index and the voice options less the
    phonemizer's (a registry voice's fields, or a row's provenance)."""
    timbre = {k: v for k, v in (options or {}).items() if k not in _ACCENT_OPTIONS}
    if speaker is not None:
        timbre["speaker"] = speaker
    key = f"{backend}:{model or ''}"
    return key + (":" + json.dumps(timbre, sort_keys=True) if timbre else "")


def same_speaker_voices(rows: Iterable[Mapping[str, Any]], voice_ids: Iterable[str]) -> set[str]:
    """voice_ids and every voice id in rows that is the same speaker as one of them."""
    ids = set(voice_ids)
    if not ids:
        return set()
    speaker: dict[str, str] = {}
    for r in rows:  # a voice id is one timbre: its first row tells it (provenance is JSON to parse)
        v = r.get("voice_id")
        if v is not None and str(v) not in speaker:
            speaker[str(v)] = speaker_of(r)
    held = {speaker[v] for v in ids if v in speaker}
    return ids | {v for v, who in speaker.items() if who in held}


class Member(NamedTuple):
    """One item to split: its id, the key of the group it must share a split with, its voice."""

    id: str
    group: str
    voice_id: str | None

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> Member:
        """A dataset row: grouped by its dialogue, else by its triple (one clip per triple)."""
        return cls(row["id"], row.get("dialogue_id") or row.get("triple_id") or row["id"], row.get("voice_id"))

    @classmethod
    def of_clip(cls, clip: Any, group: str | None = None) -> Member:
        return cls(clip.id, group or clip.triple_id, clip.voice_id)


def assign_splits(members: Iterable[Member], shares: Mapping[str, float], seed: int,
                  held_out: Iterable[str] = ()) -> dict[str, str]:
    """Member id -> split name, for splits with a positive share (and test for held-out voices)."""
    members = list(members)
    held = set(held_out)
    held_groups = {m.group for m in members if m.voice_id in held}
    rest = sorted({m.group for m in members if m.group not in held_groups}, key=lambda g: content_id("split", seed, g))
    names = [s for s in SPLITS if shares.get(s, 0) > 0]
    split_of: dict[str, str] = {}
    pos = 0
    for name, count in zip(names, largest_remainder(len(rest), [shares[s] for s in names])):
        for g in rest[pos : pos + count]:
            split_of[g] = name
        pos += count
    return {m.id: HELD_OUT_SPLIT if m.group in held_groups else split_of[m.group] for m in members}
