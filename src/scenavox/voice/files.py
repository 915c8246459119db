"""Where voice files live: the registries (voices/*.yaml) and the vendored Kokoro styles (voices/kokoro/).

Its own module because both the registry and the Kokoro backend need it, and the registry imports
the backends (a backend importing the registry would be a cycle)."""

from __future__ import annotations

from pathlib import Path


def voices_dir() -> Path:
    """./voices when the working directory has one (a user's own registries), else the project's."""
    here = Path.cwd() / "voices"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "voices"


def kokoro_styles_dir() -> Path:
    """voices/kokoro beside the registries in use, else the project's (a user's voices/ may hold only YAML)."""
    here = voices_dir() / "kokoro"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "voices" / "kokoro"
