"""Typed records that flow between stages, with content-addressed ids.

An id is a hash of everything that determines a record, so the same inputs always give
the same id (resume and dedup by existence), and different inputs never share one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def content_id(*parts: Any, length: int = 16) -> str:
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


class Command(Record):
    intent: str
    slots: dict[str, str] = Field(default_factory=dict)


class TextTask(Record):
    """What the text stage is asked to write: one planned command with its persona and style."""

    id: str
    index: int
    command: Command
    persona: str = ""
    style: str = ""
    seed: int


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


class VoiceTask(Record):
    """A triple to voice, with the voice and prosody already chosen."""

    id: str
    triple: Triple
    voice: dict[str, Any]
    prosody: dict[str, float]
    sample_rate: int
    format: str
    seed: int
    acoustics: dict[str, Any] | None = None  # noise config, preset, user folders; None = clean audio only


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


class Quarantined(Record):
    """An item set aside after its retries, with the reason and what was produced."""

    id: str
    stage: str
    reason: str
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    input: dict[str, Any] = Field(default_factory=dict)
