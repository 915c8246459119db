"""Fixtures for the publish tests: a tiny corpus built by calling the export code on
records made here (real FLAC bytes of a sine, written with soundfile), no LLM or TTS."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scenavox.records import Clip, Command, Triple, content_id  # noqa: E402
from scenavox.scenario import parse_scenario  # noqa: E402
from scenavox.store import Store  # noqa: E402

SCENARIO_YAML = """
name: tinycar
description: A tiny in-car assistant corpus for tests.
output_form: voiced_replies
noise: {environment: vehicle_cabin, min_snr_db: 0, max_snr_db: 15}
languages:
  - language: en
    weight: 1
    accents: [{accent: en-US, weight: 0.5}, {accent: en-GB, weight: 0.5}]
privacy: {cloud_upload: false, authorization: tests}
failure_cost: medium
intents:
  - name: set_temperature
    slots: {temperature: {number: {min: 16, max: 28}}}
  - name: call_contact
    slots: {contact: {values: [Mom, Sarah]}}
audio: {sample_rate: 16000}
compliance:
  purpose: testing the exporter
  retention: delete after the test
  consent: no real voices
  training_use: true
  region_notes: no personal data
size: {n: 6, splits: {train: 0.5, validation: 0.25, test: 0.25}}
seed: 3
"""

VOICES = [
    {"id": "piper-joe-en-us", "accent": "en-US", "backend": "piper", "licence": "CC0-1.0",
     "engine_licence": "GPL-3.0-or-later"},
    {"id": "espeak-en-gb", "accent": "en-GB", "backend": "espeak", "licence": "GPL-3.0-or-later",
     "engine_licence": "GPL-3.0-or-later"},
]


def sine_flac(seconds: float, sr: int = 16000, freq: float = 220.0) -> bytes:
    import io

    t = np.arange(int(round(seconds * sr))) / sr
    x = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def make_corpus(root: Path, n: int = 6, voices: list[dict] | None = None):
    """A corpus folder with n clips: returns (store, scenario, clips, triples)."""
    voices = voices or VOICES
    sc = parse_scenario(SCENARIO_YAML)
    store = Store(root)
    clips, triples = [], {}
    for i in range(n):
        v = voices[i % len(voices)]
        cmd = Command(intent="set_temperature", slots={"temperature": str(16 + i)}) if i % 2 == 0 else \
            Command(intent="call_contact", slots={"contact": "Mom"})
        t = Triple(id=content_id("t", i), index=i, command=cmd, utterance=f"utterance number {i}",
                   reply=f"reply {i}", persona="commuter", style="terse",
                   provenance={"text_backend": "fake", "text_model": "fake-1"})
        duration = 0.5 + 0.25 * i
        cid = content_id("c", i)
        rel = f"audio/{cid}.flac"
        store.put_bytes(rel, sine_flac(duration, freq=200 + 40 * i))
        c = Clip(id=cid, triple_id=t.id, audio_path=rel, text=t.utterance, sample_rate=16000, duration_s=duration,
                 voice_id=v["id"], accent=v["accent"], language="en", prosody={"rate": 1.0 + 0.05 * i, "level_dbfs": -20.0},
                 provenance={"tts_backend": v["backend"], "tts_model": "bundled:joe", "voice_licence": v["licence"],
                             "engine_licence": v["engine_licence"], "gender": "male"})
        clips.append(c)
        triples[t.id] = t
    return store, sc, clips, triples


@pytest.fixture
def corpus(tmp_path):
    from scenavox.publish.export import export_dataset

    store, sc, clips, triples = make_corpus(tmp_path / "tinycar")
    counts = export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {"seed": 3, "n": 6}, shard_size=2)
    return {"store": store, "scenario": sc, "clips": clips, "triples": triples, "counts": counts,
            "folder": store.root / "dataset"}
