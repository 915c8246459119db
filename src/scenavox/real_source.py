"""Where a scenario's real recordings are (`mix.real`) and in which format.

Checked when a scenario loads (so a wrong path is one line before any work) and again when the
mixer reads the recordings (`scenavox.mix`). Knows nothing of the scenario model: it reads the two
fields it needs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from .errors import UserError

HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class RealRef(Protocol):
    """The two fields of `scenario.MixConfig` that say where real data is."""

    real: str | None
    format: str


def _offline() -> bool:
    truthy = {"1", "true", "yes", "on"}
    return any(os.environ.get(v, "").strip().lower() in truthy for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def locate_real(cfg: RealRef, base_dir: Path, *, check_online: bool = True) -> tuple[str, Path | str]:
    """(kind, location): kind is parquet, disk, audiofolder, manifest or hub."""
    ref = str(cfg.real or "").strip()
    p = Path(ref).expanduser()
    if not p.is_absolute():
        p = Path(base_dir) / p
    if cfg.format != "hub" and p.exists():
        kind = cfg.format if cfg.format != "auto" else _guess_kind(p)
        if kind in ("disk", "audiofolder") and not p.is_dir():
            raise UserError(f"'{ref}' is a file; format {kind} needs a folder")
        return kind, p
    looks_local = ref.startswith((".", "/", "~")) or ref.endswith((".json", ".jsonl", ".parquet", ".csv"))
    if cfg.format == "hub" or (cfg.format == "auto" and HUB_ID_RE.match(ref) and not looks_local):
        if check_online and _offline():
            raise UserError(f"'{ref}' is not a local path, and a Hub dataset cannot be read offline (HF_HUB_OFFLINE is "
                            "set); download it first and point mix.real at the folder")
        return "hub", ref
    raise UserError(f"real data '{ref}' not found (relative paths are relative to the scenario file: {base_dir})")


def _guess_kind(p: Path) -> str:
    if p.is_file():
        if p.suffix in (".json", ".jsonl"):
            return "manifest"
        if p.suffix == ".parquet":
            return "parquet"
        raise UserError(f"'{p}': a real-data file must be a NeMo/JSONL manifest (.json/.jsonl) or a .parquet file")
    if (p / "dataset_dict.json").is_file() or (p / "state.json").is_file():
        return "disk"
    if metadata_files(p):
        return "audiofolder"
    if any(p.rglob("*.parquet")):
        return "parquet"
    raise UserError(f"'{p}' holds no parquet files, no save_to_disk dataset and no metadata.csv/metadata.jsonl; "
                    "set mix.format or point mix.real at a manifest")


def metadata_files(p: Path) -> list[Path]:
    found = []
    for d in [p, *sorted(x for x in p.iterdir() if x.is_dir())]:
        for name in ("metadata.csv", "metadata.jsonl"):
            if (d / name).is_file():
                found.append(d / name)
    return found
