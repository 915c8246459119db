"""Consent records for cloned voices: no voice is cloned from a recording without one.

A reference clip `voices/clips/alice.wav` needs `voices/clips/alice.consent.yaml` beside it:

    speaker: Alice Example              # who is heard in the clip
    consented_by: Alice Example         # the speaker, or their legal guardian
    date: 2025-03-14                    # when consent was given
    scope: synthetic speech for training and testing speech recognition; not for publication
    allows_cloning: true                # consent to synthesize new speech in this voice
    expires: 2027-03-14                 # optional; an expired record refuses cloning
    evidence: signed form 2025-017      # optional: where the signed form or recording of consent lives
    contact: privacy@example.com        # optional: who to ask, e.g. to withdraw consent

Withdrawing consent = deleting the record (or setting allows_cloning: false): the next run
refuses the voice. The clip's provenance carries the speaker, date and scope of the record.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UserError

FIELDS_HINT = "speaker, consented_by, date, scope, allows_cloning: true"


class ConsentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field(min_length=1)
    consented_by: str = Field(min_length=1)
    date: datetime.date
    scope: str = Field(min_length=1)
    allows_cloning: bool
    expires: datetime.date | None = None
    evidence: str = ""
    contact: str = ""
    notes: str = ""


def consent_path(clip: str | Path) -> Path:
    """alice.wav -> alice.consent.yaml, beside the clip."""
    p = Path(clip)
    return p.with_name(p.stem + ".consent.yaml")


def load_consent(voice_id: str, clip: str | Path, today: datetime.date | None = None) -> ConsentRecord:
    """The clip's consent record, or a UserError naming the file and what is missing."""
    clip, record = Path(clip), consent_path(clip)
    if not clip.is_file():
        raise UserError(f"voice '{voice_id}': reference clip {clip} not found")
    if not record.is_file():
        raise UserError(f"voice '{voice_id}': cloning from {clip.name} needs a consent record at {record} "
                        f"({FIELDS_HINT})")
    try:
        data = yaml.safe_load(record.read_text(encoding="utf-8"))
        rec = ConsentRecord.model_validate(data)
    except yaml.YAMLError as exc:
        raise UserError(f"{record}: YAML syntax error: {exc}") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise UserError(f"{record}: {where}: {first['msg']} (a consent record needs {FIELDS_HINT})") from None
    if not rec.allows_cloning:
        raise UserError(f"{record}: allows_cloning is false: voice '{voice_id}' may not be cloned from {clip.name}")
    if rec.expires is not None and rec.expires < (today or datetime.date.today()):
        raise UserError(f"{record}: consent expired on {rec.expires}: voice '{voice_id}' may not be cloned")
    return rec


def check_consent(voice_id: str, clips: list[str]) -> list[dict[str, Any]]:
    """Every reference clip's record, summarized for the clip provenance; UserError on the first gap."""
    if not clips:
        raise UserError(f"voice '{voice_id}': a cloned voice needs reference clips, each with a consent record")
    out = []
    for clip in clips:
        rec = load_consent(voice_id, clip)
        out.append({"clip": Path(clip).name, "speaker": rec.speaker, "consented_by": rec.consented_by,
                    "date": rec.date.isoformat(), "scope": rec.scope})
    return out
