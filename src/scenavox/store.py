"""The corpus folder: atomic writes, one file per finished item, manifests, a run lock.

The folder is the source of truth for resume: an item is done when its record file exists
and parses. Every file is written to a temporary name in the same folder and renamed, so a
kill -9 at any moment leaves either the old state or the new one, never half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import UserError
from .records import Quarantined

R = TypeVar("R", bound=BaseModel)

TMP_MARK = ".tmp-"


def write_atomic(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=path.name + TMP_MARK, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Store:
    """Layout (all under `root`). The folder names are written here and nowhere else: stages ask
    the store for paths (`Store.audio_rel(id, ext)`, `store.dataset_dir`, `store.file(rel)` ...).

    scenario.yaml         the scenario as run (normalized)
    text/<id>.json        triples written by the text stage
    clips/<id>.json       clip records; audio/<id>.<ext> holds the sound, clean/<id>.<ext> the same
                          speech before acoustics, replies/<id>.<ext> the voiced assistant reply
    qa/clips/<id>.json    QA verdicts; qa/ also holds the QA stage's summaries
    quarantine/<stage>/<id>.json   items set aside, with reasons
    dialogues/<id>.<ext>  rendered multi-turn dialogues (dialogues.jsonl lists them)
    real/<id>.flac        real recordings blended in by scenario.mix
    triples.jsonl clips.jsonl quarantine.jsonl   manifests, rebuilt at the end of a run
    dataset/              the Hugging Face dataset (parquet)
    report/               the QA report (index.html, report.json)
    run.json              the summary of the last run
    """

    # record kinds: one JSON file per item, <kind>/<id>.json
    TEXT = "text"
    VOICED = "voice"  # clean clips waiting for the acoustics stage (record + lossless speech), removed once placed
    CLIPS = "clips"
    QA_RESULTS = "qa/clips"
    # folders of sound files, one per item; records hold their paths relative to the root
    AUDIO = "audio"
    CLEAN = "clean"
    REPLIES = "replies"
    DIALOGUES = "dialogues"
    REAL = "real"
    # other folders
    QUARANTINE = "quarantine"
    QA = "qa"
    DATASET = "dataset"
    REPORT = "report"

    def __init__(self, root: Path | str):
        self.root = Path(root)

    # -- paths ----------------------------------------------------------------------
    def file(self, rel: str | Path) -> Path:
        """The file at a path relative to the corpus folder (as records hold them)."""
        return self.root / rel

    @classmethod
    def audio_rel(cls, item_id: str, ext: str) -> str:
        """A clip's sound as the listener hears it (after acoustics)."""
        return f"{cls.AUDIO}/{item_id}.{ext}"

    @classmethod
    def voiced_rel(cls, item_id: str) -> str:
        return f"{cls.VOICED}/{item_id}.au"

    @classmethod
    def clean_rel(cls, item_id: str, ext: str) -> str:
        """The same speech before acoustics."""
        return f"{cls.CLEAN}/{item_id}.{ext}"

    @classmethod
    def reply_rel(cls, item_id: str, ext: str) -> str:
        return f"{cls.REPLIES}/{item_id}.{ext}"

    @classmethod
    def dialogue_rel(cls, item_id: str, ext: str) -> str:
        return f"{cls.DIALOGUES}/{item_id}.{ext}"

    @classmethod
    def real_rel(cls, item_id: str) -> str:
        return f"{cls.REAL}/{item_id}.flac"

    @classmethod
    def qa_rel(cls, name: str) -> str:
        """A file of the QA stage (summary.json, results.jsonl, failed.jsonl ...)."""
        return f"{cls.QA}/{name}"

    @property
    def dataset_dir(self) -> Path:
        return self.root / self.DATASET

    @property
    def report_dir(self) -> Path:
        return self.root / self.REPORT

    @property
    def dialogues_dir(self) -> Path:
        return self.root / self.DIALOGUES

    @property
    def real_dir(self) -> Path:
        return self.root / self.REAL

    @property
    def speaker_cache_dir(self) -> Path:
        """Speaker embeddings of clips, cached by the QA stage."""
        return self.root / self.QA / "speaker"

    # -- lifecycle --------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One run per folder; the OS drops the lock when the process dies, even on kill -9."""
        self.root.mkdir(parents=True, exist_ok=True)
        fh = open(self.root / ".lock", "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise UserError(f"{self.root}: another scenavox run is using this folder; wait for it or pick --out") from None
        try:
            self.clean_temp()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def clean_temp(self) -> int:
        """Remove temporary files left by a killed run."""
        n = 0
        for p in self.root.rglob(f"*{TMP_MARK}*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            n += 1
        return n

    # -- records ------------------------------------------------------------------
    def path(self, kind: str, item_id: str, ext: str = "json") -> Path:
        return self.root / kind / f"{item_id}.{ext}"

    def get(self, kind: str, item_id: str, model: type[R]) -> R | None:
        p = self.path(kind, item_id)
        try:
            return model.model_validate_json(p.read_bytes())
        except FileNotFoundError:
            return None
        except (ValidationError, ValueError):
            return None  # unreadable (e.g. an older format): redo the item

    def put(self, kind: str, record: BaseModel, item_id: str | None = None) -> None:
        rid = item_id or getattr(record, "id")
        write_atomic(self.path(kind, rid), record.model_dump_json())

    def put_bytes(self, rel: str, data: bytes) -> None:
        write_atomic(self.root / rel, data)

    def iter_records(self, kind: str, model: type[R]) -> Iterator[R]:
        d = self.root / kind
        if not d.is_dir():
            return
        for p in sorted(d.glob("*.json")):
            try:
                yield model.model_validate_json(p.read_bytes())
            except (ValidationError, ValueError):
                continue

    # -- quarantine ---------------------------------------------------------------
    def quarantine(self, q: Quarantined) -> None:
        write_atomic(self.path(f"{self.QUARANTINE}/{q.stage}", q.id), q.model_dump_json())

    def quarantined(self, stage: str, item_id: str) -> Quarantined | None:
        return self.get(f"{self.QUARANTINE}/{stage}", item_id, Quarantined)

    def iter_quarantine(self) -> Iterator[Quarantined]:
        d = self.root / self.QUARANTINE
        if d.is_dir():
            for sub in sorted(p for p in d.iterdir() if p.is_dir()):
                yield from self.iter_records(f"{self.QUARANTINE}/{sub.name}", Quarantined)

    # -- manifests ----------------------------------------------------------------
    def write_jsonl(self, name: str, records: list[BaseModel]) -> Path:
        lines = [json.dumps(r.model_dump(mode="json"), sort_keys=True, ensure_ascii=False) for r in records]
        path = self.root / name
        write_atomic(path, "".join(line + "\n" for line in lines))
        return path

    def write_json(self, name: str, data: object) -> Path:
        path = self.root / name
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        return path
