"""Dataset splits: their names, and the rule that puts synthetic items into them.

The rule: items whose voice is held out go to test; the rest are ordered by a seeded hash of
their group key (so the result does not depend on the order items were produced in) and cut
by the split shares, with counts that follow the shares exactly (largest remainder). A group
(a dialogue's turns) always shares one split; a group with a held-out voice goes to test whole.

`scenavox.mix.blend_rows` applies it and then places real speakers; what comes out of the mixer
is the one assignment every configuration and manifest of the dataset uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .records import content_id
from .sampling import largest_remainder

SPLITS = ("train", "validation", "test")
HELD_OUT_SPLIT = "test"


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
