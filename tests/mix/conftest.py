"""Tiny real-speech sources in every supported format, and synthetic rows built with the export
code from Clip/Triple records (no TTS or LLM). Audio is short sine/noise, written with soundfile."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scenavox.records import Clip, Command, Triple, content_id
from scenavox.scenario import parse_scenario
from scenavox.store import Store

BASE_YAML = """
name: tinymix
description: A tiny corpus for mixer tests.
languages:
  - language: en
    weight: 1
    accents: [{accent: en-US, weight: 0.5}, {accent: en-GB, weight: 0.5}]
intents:
  - name: set_temperature
    slots: {temperature: {number: {min: 16, max: 28}}}
  - name: call_contact
    slots: {contact: {values: [Mom, Sarah]}}
audio: {sample_rate: 16000}
size: {n: 200, splits: {train: 0.8, validation: 0.1, test: 0.1}}
seed: 3
"""

SYN_VOICES = [("piper-a", "en-US"), ("piper-b", "en-US"), ("espeak-c", "en-GB"), ("espeak-d", "en-GB"),
              ("espeak-e", "en-GB")]


def scenario(mix: dict | None = None, voices: dict | None = None, **extra):
    import yaml

    data = yaml.safe_load(BASE_YAML)
    if mix is not None:
        data["mix"] = mix
    if voices is not None:
        data["voices"] = voices
    data.update(extra)
    return parse_scenario(yaml.safe_dump(data))


def tone(seconds: float, sr: int, freq: float, seed: int = 0) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    return (0.2 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def audio_bytes(x: np.ndarray, sr: int, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def real_records(speakers: int = 16, per_speaker: int = 15, sr: int = 22050) -> list[dict]:
    """Plain records: speaker k has accent en-US (even k) or en-GB (odd k); intents alternate."""
    out = []
    for k in range(speakers):
        for j in range(per_speaker):
            dur = 0.05 + 0.01 * ((k + j) % 5)
            out.append({"file": f"spk{k:02d}/utt{j:02d}.wav", "speaker_id": f"spk{k:02d}",
                        "text": f"Set the temperature to {18 + j} degrees, speaker {k}.",
                        "accent": "en-US" if k % 2 == 0 else "en-GB",
                        "intent": "set_temperature" if j % 2 == 0 else "call_contact",
                        "x": tone(dur, sr, 150 + 10 * k + j, seed=k * 100 + j), "sr": sr})
    return out


def write_audiofolder(root: Path, records: list[dict], meta: str = "csv") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for r in records:
        p = root / r["file"]
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, r["x"], r["sr"], subtype="PCM_16")
    cols = ["file_name", "transcription", "speaker_id", "accent", "intent"]
    rows = [[r["file"], r["text"], r["speaker_id"], r["accent"], r["intent"]] for r in records]
    if meta == "csv":
        with (root / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            w.writerows(rows)
    else:
        (root / "metadata.jsonl").write_text("".join(json.dumps(dict(zip(cols, r))) + "\n" for r in rows))
    return root


def write_manifest(root: Path, records: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for r in records:
        p = root / "wavs" / r["file"]
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, r["x"], r["sr"], subtype="PCM_16")
        lines.append(json.dumps({"audio_filepath": f"wavs/{r['file']}", "text": r["text"],
                                 "duration": len(r["x"]) / r["sr"], "speaker": r["speaker_id"]}))
    m = root / "train_manifest.json"
    m.write_text("\n".join(lines) + "\n")
    return m


def hf_rows(records: list[dict]) -> list[dict]:
    return [{"audio": {"bytes": audio_bytes(r["x"], r["sr"], "FLAC"), "path": Path(r["file"]).name},
             "sentence": r["text"], "client_id": r["speaker_id"], "accent": r["accent"]} for r in records]


def write_parquet(root: Path, records: list[dict], *, with_datasets: bool = False) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    rows = hf_rows(records)
    half = len(rows) // 2
    if with_datasets:  # as the Hub layout written by `datasets` (Audio feature in the schema metadata)
        from datasets import Audio, Dataset

        for name, part in (("train-00000-of-00001", rows[:half]), ("test-00000-of-00001", rows[half:])):
            Dataset.from_list(part).cast_column("audio", Audio(sampling_rate=records[0]["sr"])) \
                .to_parquet(str(root / "data" / f"{name}.parquet"))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows[:half]), root / "data" / "train-00000-of-00001.parquet")
        pq.write_table(pa.Table.from_pylist(rows[half:]), root / "data" / "test-00000-of-00001.parquet")
    return root


def write_disk(root: Path, records: list[dict]) -> Path:
    from datasets import Audio, Dataset, DatasetDict

    rows = hf_rows(records)
    half = len(rows) // 2
    dd = DatasetDict({s: Dataset.from_list(part).cast_column("audio", Audio(sampling_rate=records[0]["sr"]))
                      for s, part in (("train", rows[:half]), ("validation", rows[half:]))})
    dd.save_to_disk(str(root))
    return root


def synthetic_corpus(root: Path, sc, n: int = 200, voices=SYN_VOICES, with_files: bool = False):
    """n clips (0.05 s each when files are written) -> (store, clips, triples)."""
    store = Store(root)
    clips, triples = [], {}
    for i in range(n):
        vid, accent = voices[i % len(voices)]
        cmd = Command(intent="set_temperature", slots={"temperature": str(16 + i % 12)}) if i % 3 else \
            Command(intent="call_contact", slots={"contact": "Mom"})
        t = Triple(id=content_id("t", i), index=i, command=cmd, utterance=f"Utterance number {i}.", reply=f"reply {i}",
                   provenance={"text_backend": "fake", "text_model": "fake-1"})
        cid = content_id("c", i)
        rel = f"audio/{cid}.flac"
        dur = 0.05 + 0.01 * (i % 4)
        if with_files:
            store.put_bytes(rel, audio_bytes(tone(dur, 16000, 300 + i), 16000, "FLAC"))
        clips.append(Clip(id=cid, triple_id=t.id, audio_path=rel, text=t.utterance, sample_rate=16000, duration_s=dur,
                          voice_id=vid, accent=accent, language="en", prosody={"rate": 1.0, "level_dbfs": -20.0},
                          provenance={"tts_backend": "fake", "voice_licence": "CC0-1.0"}))
        triples[t.id] = t
    return store, clips, triples


def dialogue_corpus(root: Path, sc, n_dialogues: int = 20, turns: int = 3, seed: int = 3):
    """n_dialogues dialogues of `turns` user turns, one voice per dialogue (as the voice planner
    gives them), with audio files, rendered by `scenavox.dialogues` -> (store, clips, triples, dialogues)."""
    from scenavox.dialogues import write_dialogues
    from scenavox.records import DialogueTurn

    store = Store(root)
    clips, triples = [], {}
    for d in range(n_dialogues):
        vid, accent = SYN_VOICES[d % len(SYN_VOICES)]
        for k in range(turns):
            i = d * turns + k
            turn = DialogueTurn(id=content_id("dialogue", d), number=d, turn=k, n_turns=turns,
                                kind="first" if k == 0 else "follow_up")
            t = Triple(id=content_id("t", i), index=i, utterance=f"Turn {k} of dialogue {d}.", reply=f"reply {i}",
                       command=Command(intent="set_temperature", slots={"temperature": str(16 + i % 12)}),
                       provenance={"text_backend": "fake", "text_model": "fake-1"}, dialogue=turn)
            cid = content_id("c", i)
            rel = f"audio/{cid}.flac"
            store.put_bytes(rel, audio_bytes(tone(0.1, 16000, 300 + i), 16000, "FLAC"))
            clips.append(Clip(id=cid, triple_id=t.id, audio_path=rel, text=t.utterance, sample_rate=16000,
                              duration_s=0.1, voice_id=vid, accent=accent, language="en",
                              prosody={"rate": 1.0, "level_dbfs": -20.0},
                              provenance={"tts_backend": "fake", "voice_licence": "CC0-1.0"}))
            triples[t.id] = t
    return store, clips, triples, write_dialogues(store, sc, seed, clips, triples, scene=None)


def synthetic_rows(root: Path, sc, n: int = 200, voices=SYN_VOICES, seed: int = 3):
    """Rows exactly as the exporter builds them before the mixer splits them (no audio bytes)."""
    from scenavox.publish.export import build_rows

    store, clips, triples = synthetic_corpus(root, sc, n, voices)
    return build_rows(store, sc, clips, triples, seed, with_audio=False)


@pytest.fixture(scope="session")
def real_folder(tmp_path_factory):
    return write_audiofolder(tmp_path_factory.mktemp("real") / "af", real_records())
