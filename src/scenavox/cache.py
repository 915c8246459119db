"""The user's cache folder: what scenavox makes once and reuses across runs (the Whisper model joined
from its packages, the text engine's KV cells of a scenario's shared prompt). Nothing in it is downloaded."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """SCENAVOX_CACHE, else $XDG_CACHE_HOME/scenavox, else ~/.cache/scenavox."""
    env = os.environ.get("SCENAVOX_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scenavox"
