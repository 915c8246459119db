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
    """Layout (all under `root`):

    scenario.yaml         the scenario as run (normalized)
    text/<id>.json        triples written by the text stage
    clips/<id>.json       clip records; audio/<id>.<ext> holds the sound
    quarantine/<stage>/<id>.json   items set aside, with reasons
    triples.jsonl clips.jsonl quarantine.jsonl   manifests, rebuilt at the end of a run
    dataset/              the Hugging Face dataset (parquet)
    run.json              the summary of the last run
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)

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
        write_atomic(self.root / "quarantine" / q.stage / f"{q.id}.json", q.model_dump_json())

    def quarantined(self, stage: str, item_id: str) -> Quarantined | None:
        return self.get(f"quarantine/{stage}", item_id, Quarantined)

    def iter_quarantine(self) -> Iterator[Quarantined]:
        d = self.root / "quarantine"
        if d.is_dir():
            for sub in sorted(p for p in d.iterdir() if p.is_dir()):
                yield from self.iter_records(f"quarantine/{sub.name}", Quarantined)

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
