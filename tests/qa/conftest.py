"""A tiny real corpus: Piper speech written through the Store, as the voice stage would."""

from __future__ import annotations

import numpy as np
import pytest

from scenavox.audio import encode, resample
from scenavox.records import Clip, Command, Triple, content_id
from scenavox.scenario import parse_scenario
from scenavox.store import Store
from scenavox.voice.audio import set_level, trim_silence

SCENARIO = """
name: qa_mini
description: Car commands for QA tests.
failure_cost: {cost}
languages:
  - language: en
    weight: 1
    accents: [{{accent: en-US, weight: 0.5}}, {{accent: en-GB, weight: 0.5}}]
intents:
  - name: set_temperature
    slots:
      temperature: {{number: {{min: 16, max: 28}}}}
  - name: call_contact
    slots:
      contact: {{values: [Mom, Sarah, David]}}
acoustics: {{enabled: false}}
"""

VOICE = {"model": "bundled:joe", "options": {"espeak_voice": "en-us"}}
PROSODY = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8}


def scenario(cost: str = "medium", extra: str = ""):
    return parse_scenario(SCENARIO.format(cost=cost) + extra)


@pytest.fixture(scope="session")
def piper():
    from scenavox.voice.backends.piper import PiperBackend

    return PiperBackend(threads=1)


def speak(piper, text: str, sr: int = 16000) -> np.ndarray:
    raw, raw_sr = piper.synthesize(text, VOICE, PROSODY, seed=1)
    x = resample(trim_silence(raw.astype(np.float32), raw_sr), raw_sr, sr)
    return set_level(x, -22.0)


def add_clip(store: Store, text: str, audio: np.ndarray, intent: str, slots: dict[str, str], *,
             voice_id: str = "piper-joe-us", accent: str = "en-US", sr: int = 16000, index: int = 0,
             provenance: dict | None = None, acoustics: dict | None = None, clean: np.ndarray | None = None
             ) -> tuple[Clip, Triple]:
    t = Triple(id=content_id("t", text, index), index=index, command=Command(intent=intent, slots=slots),
               utterance=text, reply="Okay.")
    cid = content_id("c", text, index, float(np.sum(np.abs(audio))))
    rel = f"audio/{cid}.flac"
    store.put_bytes(rel, encode(audio, sr, "flac"))
    clean_rel = None
    if clean is not None:  # the speech before acoustics, as the voice stage keeps it
        clean_rel = f"clean/{cid}.flac"
        store.put_bytes(clean_rel, encode(clean, sr, "flac"))
    c = Clip(id=cid, triple_id=t.id, audio_path=rel, text=text, sample_rate=sr, duration_s=len(audio) / sr,
             voice_id=voice_id, accent=accent, language="en", prosody=PROSODY,
             provenance={"target_accent": accent, **(provenance or {})}, acoustics=acoustics or {}, clean_audio_path=clean_rel)
    store.put("text", t)
    store.put("clips", c)
    return c, t


@pytest.fixture(scope="session")
def transcriber():
    from scenavox.qa.asr import FasterWhisperTranscriber

    return FasterWhisperTranscriber(threads=2)
