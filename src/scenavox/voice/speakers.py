"""Who speaks which turn: a dialogue keeps one voice per speaker.

A dialogue keeps one voice for its user turns (the voice rotation runs over dialogues instead
of items); in hand_over mode the second speaker takes the next different voice of the rotation.
One speaker keeps one manner of speaking too (prosody_key).
"""

from __future__ import annotations

from typing import Any

from ..records import Triple

ROTATION_LOOKAHEAD = 64  # how far hand_over looks along the rotation for a voice unlike the first speaker's


def voice_slots(planner: Any, triples_or_tasks: list[Any]) -> list[tuple[str, int]]:
    """(accent, turn) per item index, what VoicePlanner.task_for takes.

    One-turn plans keep the planner's own schedule (unchanged); a dialogue's turns share the
    slot of their dialogue, and the second speaker of a hand_over gets the next slot whose voice
    differs from the first speaker's."""
    items = triples_or_tasks
    if not items or all(getattr(t, "dialogue", None) is None for t in items):
        return planner.schedule(len(items))
    n_dialogues = max(t.dialogue.number for t in items) + 1
    sched = planner.schedule(n_dialogues + ROTATION_LOOKAHEAD)
    out: list[tuple[str, int]] = []
    for t in items:
        d = t.dialogue.number
        slot = sched[d]
        if t.dialogue.speaker_index == 1:
            first = planner.voice_for(*slot).id
            for j in range(d + 1, d + ROTATION_LOOKAHEAD):
                if planner.voice_for(*sched[j]).id != first:
                    slot = sched[j]
                    break
        out.append(slot)
    return out


def prosody_key(t: Triple) -> Any:
    """What a clip's prosody is drawn from: the item, or the dialogue speaker (one speaker, one manner)."""
    if t.dialogue is None:
        return t.id
    return ["dialogue", t.dialogue.id, t.dialogue.speaker_index]
