"""OpenAI TTS (`audio.speech`) and any OpenAI-compatible speech server: a cloud backend.

The text leaves the machine, so these voices are only used when the scenario's
privacy.cloud_upload is true: the registry drops them otherwise (and refuses a scenario that
names one in voices.include), and the planner marks each task with the permission, which
this backend checks again before sending anything.

Voice options (the registry's `options`):
  voice         the server's voice name (alloy, ash, coral, ...; required)
  instructions  accent and tone, e.g. "Speak with a Scottish accent, calm and friendly"
  base_url      an OpenAI-compatible server (default: the openai client's, OPENAI_BASE_URL)
  api_key_env   the environment variable with the key (default OPENAI_API_KEY)

Prosody: rate -> `speed` (0.25-4.0; gpt-4o-mini-tts may ignore it). The server decides the
audio: a seed cannot make it reproducible, so rows from this backend are not byte-reproducible.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...audio import read_mono
from ...errors import UserError
from .base import TTSBackend, needs


class OpenAIBackend(TTSBackend):
    name = "openai"
    licence = "LicenseRef-server-terms"  # the server's terms of use decide what the audio may be used for
    cloud = True
    native_controls = frozenset({"rate"})
    options = {"voice": "the server's voice name (required), e.g. alloy", "instructions": "accent and tone",
               "base_url": "an OpenAI-compatible server", "api_key_env": "variable with the key (OPENAI_API_KEY)"}

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._clients: dict[tuple[str | None, str], Any] = {}

    def _client(self, options: dict[str, Any]) -> Any:
        try:
            from openai import OpenAI
        except ImportError:
            raise needs("openai", "the openai client") from None
        key_env = options.get("api_key_env", "OPENAI_API_KEY")
        key = (options.get("base_url"), key_env)
        if key not in self._clients:
            api_key = os.environ.get(key_env)
            if not api_key:
                raise UserError(f"the openai TTS backend needs an API key in ${key_env}")
            # tenacity-free: the voice stage retries once itself, so the client must not retry too
            self._clients[key] = OpenAI(api_key=api_key, base_url=options.get("base_url"), max_retries=0)
        return self._clients[key]

    @staticmethod
    def native_prosody(voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        return {"speed": round(min(4.0, max(0.25, float(prosody.get("rate", 1.0)))), 4),
                "instructions": voice.get("options", {}).get("instructions", "")}

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        if not voice.get("cloud_upload_allowed", False):
            raise UserError(f"voice '{voice.get('id')}' uses a cloud TTS backend, and the scenario does not allow "
                            f"cloud upload (privacy.cloud_upload: false)")
        options = voice.get("options", {})
        if not options.get("voice"):
            raise UserError(f"voice '{voice.get('id')}': openai voices need options.voice (e.g. alloy)")
        native = self.native_prosody(voice, prosody)
        kwargs: dict[str, Any] = {"model": voice["model"], "voice": options["voice"], "input": text,
                                  "response_format": "wav", "speed": native["speed"]}
        if native["instructions"]:
            kwargs["instructions"] = native["instructions"]
        resp = self._client(options).audio.speech.create(**kwargs)
        data = resp.read() if hasattr(resp, "read") else resp.content
        return read_mono(data)
