"""Typed records that flow between stages, with content-addressed ids.

An id is a hash of everything that determines a record, so the same inputs always give
the same id (resume and dedup by existence), and different inputs never share one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer


def content_id(*parts: Any, length: int = 16) -> str:
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Command(Record):
    intent: str
    slots: dict[str, str] = Field(default_factory=dict)


class DialogueTurn(Record):
    """Where a user turn sits in a planned dialogue (text/dialogue.py); None on one-turn items."""

    id: str  # the dialogue's id, shared by its turns
    number: int  # the dialogue's position in the plan (0, 1, ...)
    turn: int  # 0-based
    n_turns: int
    kind: str  # first | follow_up | correction
    barge_in: bool = False  # the user cuts into the assistant's previous reply
    speaker: str = "user"  # the speaker's role (hand_over: the second role from the hand-over turn on)
    speaker_index: int = 0  # 0: the first speaker, 1: the one who took over
    previous: Command | None = None  # the previous turn's command (what a correction corrects)
    changed: list[str] = Field(default_factory=list)  # correction: the slots whose value changed


class TextTask(Record):
    """What the text stage is asked to write: one planned command with its persona and style."""

    id: str
    index: int
    command: Command
    persona: str = ""
    style: str = ""
    seed: int
    dialogue: DialogueTurn | None = None
    # slot -> how its value is said (digits, cardinal, grouped), for slots with a `spoken` form
    # (text/spoken.py); left out of dumps when empty, so records of existing corpora keep their bytes
    forms: dict[str, str] = Field(default_factory=dict)
    opening: str = ""  # how the utterance begins (text.openings); "" = the model's choice

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for key in ("forms", "opening"):
            if not data.get(key):
                data.pop(key, None)
        return data


class Triple(Record):
    """A user utterance, the command it expresses and the assistant's reply."""

    id: str
    index: int
    command: Command
    utterance: str
    reply: str
    persona: str = ""
    style: str = ""
    provenance: dict[str, Any] = Field(default_factory=dict)
    dialogue: DialogueTurn | None = None


class VoiceTask(Record):
    """A triple to voice, with the voice and prosody already chosen."""

    id: str
    triple: Triple
    voice: dict[str, Any]
    prosody: dict[str, float]
    sample_rate: int
    format: str
    seed: int
    # The scene the clip is for (noise config, preset, user folders; None = clean audio only). Part of `id`;
    # the voice stage ignores it and the acoustics stage places the clean clip there (acoustics/stage.py).
    acoustics: dict[str, Any] | None = None
    # the assistant reply to voice as well (output_form voiced_replies/both): id, text, voice, prosody.
    # Not part of `id`: the user's audio does not depend on it (voice/replies.py)
    reply: dict[str, Any] | None = None

    def clip_seed(self) -> int:
        """The seed of the clip's random draws: the synthesizer's noise and the scene's."""
        return int(content_id("noise", self.seed, self.id), 16) % (2**31)


class Clip(Record):
    """One audio file with its text and everything needed to reproduce or slice it."""

    id: str
    triple_id: str
    audio_path: str  # relative to the corpus folder
    text: str
    sample_rate: int
    duration_s: float
    voice_id: str
    accent: str
    language: str
    prosody: dict[str, float]
    acoustics: dict[str, Any] = Field(default_factory=dict)  # every sampled parameter, incl. target and measured SNR
    clean_audio_path: str | None = None  # the same speech before acoustics
    provenance: dict[str, Any] = Field(default_factory=dict)
    # the assistant's reply voiced by the assistant voice, clean (it is the device's own output)
    reply_audio_path: str | None = None
    reply_duration_s: float | None = None
    reply_voice_id: str | None = None


class SceneTask(Record):
    """Clean speech for the acoustics stage to place in a scene: one clip, or a dialogue's turns laid out on
    one timeline."""

    id: str  # the clip's or the dialogue's id
    # the clean samples as a float32 AU file: lossless, so placing stored speech equals placing it fresh.
    # Left out of dumps (a quarantine record keeps the task, not the audio).
    speech: bytes = Field(repr=False, exclude=True)
    sample_rate: int
    format: str  # of the files written (flac, wav ...)
    scene: dict[str, Any] | None = None  # VoiceTask.acoustics; None: the speech stays clean
    seed: int  # draws every random parameter of the scene
    audio_path: str  # where the placed audio goes
    clean_path: str | None = None  # where the clean speech is kept too (acoustics.keep_clean); None: not kept


class Placed(Record):
    """What the acoustics stage did: where the audio went and every parameter it drew."""

    id: str
    audio_path: str
    clean_audio_path: str | None = None
    acoustics: dict[str, Any] = Field(default_factory=dict)  # {} for a clean scene


class Quarantined(Record):
    """An item set aside after its retries, with the reason and what was produced."""

    id: str
    stage: str
    reason: str
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    input: dict[str, Any] = Field(default_factory=dict)


def reason_kind(reason: str) -> str:
    """A reason without its numbers and names, so summaries read 'lacks slot value(s) x12' rather than
    one line per item: 'clean entity recall 0.00 < 1 (lost: x)' -> 'clean entity recall'."""
    if "lacks slot value" in reason:
        return "utterance lacks slot value(s)"
    if reason.startswith("utterance has") and "words" in reason:
        return "utterance length out of bounds"
    if reason.startswith("duration"):
        return "implausible duration"
    if reason.startswith("request failed:"):
        return reason.split(" after ")[0][:80]
    words = []
    for w in reason.split(" "):
        if not w or w[0].isdigit() or w[0] in "<>[-(":
            break
        words.append(w)
    return (" ".join(words) or reason)[:80]
