"""NeMo and lhotse manifests of the corpus, one pair per split, next to `dataset/`.

  <corpus>/nemo_{split}.jsonl      NeMo ASR: audio_filepath, duration, text + extras
  <corpus>/cuts_{split}.jsonl.gz   a lhotse CutSet (MonoCut + Recording + SupervisionSegment)

Audio paths are relative to the corpus folder, which is also the manifests' folder: NeMo
resolves relative paths against the manifest's folder, so the corpus can move. lhotse
resolves them against the working directory: use `load_cuts(corpus, split)`, or
`CutSet.from_file(p).with_recording_path_prefix(corpus)`.

The files are written without lhotse (plain JSON in lhotse's manifest format); durations
come from the audio file headers (frames / sample rate), so they match the sound exactly.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

from ..audio import probe
from ..records import Clip
from ..splits import SPLITS
from ..store import Store, write_atomic

# dataset columns (row_schema.py) the manifests carry besides text, id and duration
_EXTRAS = ("intent", "slots", "reply", "voice_id", "accent", "language", "gender", "source", "scenario",
           "tts_backend", "tts_model", "voice_licence", "rate", "level_dbfs")


def nemo_path(root: Path, split: str) -> Path:
    return Path(root) / f"nemo_{split}.jsonl"


def cuts_path(root: Path, split: str) -> Path:
    return Path(root) / f"cuts_{split}.jsonl.gz"


def _entries(store: Store, rows: list[dict[str, Any]], clips: dict[str, Clip]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        clip = clips[r["id"]]
        frames, sr, channels = probe(store.file(clip.audio_path))
        out.append({"row": r, "clip": clip, "frames": frames, "sr": sr, "channels": channels})
    return out


def nemo_line(e: dict[str, Any], split: str) -> dict[str, Any]:
    r, clip = e["row"], e["clip"]
    line: dict[str, Any] = {
        "audio_filepath": clip.audio_path,
        "duration": e["frames"] / e["sr"],
        "text": r["text"],
        "id": r["id"],
        "split": split,
        "lang": (r.get("language") or "").split("-")[0],
        "speaker": r.get("voice_id"),
    }
    line.update({k: r.get(k) for k in _EXTRAS if k in r})
    return line


def cut_dict(e: dict[str, Any], split: str) -> dict[str, Any]:
    r, clip = e["row"], e["clip"]
    duration = e["frames"] / e["sr"]
    channels = list(range(e["channels"]))
    custom = {k: r.get(k) for k in _EXTRAS if k in r and k not in ("language", "voice_id", "gender")}
    custom["split"] = split
    return {
        "id": r["id"],
        "start": 0.0,
        "duration": duration,
        "channel": 0 if e["channels"] == 1 else channels,
        "supervisions": [{
            "id": r["id"],
            "recording_id": r["id"],
            "start": 0.0,
            "duration": duration,
            "channel": 0 if e["channels"] == 1 else channels,
            "text": r["text"],
            "language": r.get("language") or None,
            "speaker": r.get("voice_id") or None,
            "gender": r.get("gender") or None,
            "custom": custom,
        }],
        "recording": {
            "id": r["id"],
            "sources": [{"type": "file", "channels": channels, "source": clip.audio_path}],
            "sampling_rate": e["sr"],
            "num_samples": e["frames"],
            "duration": duration,
            "channel_ids": channels,
        },
        "type": "MonoCut",
    }


def write_manifests(store: Store, rows_by_split: dict[str, list[dict[str, Any]]], clips: dict[str, Clip]) -> list[Path]:
    """Write both manifests for every non-empty split (atomically); returns the paths written."""
    written: list[Path] = []
    for split in SPLITS:
        rows = rows_by_split.get(split) or []
        for p in (nemo_path(store.root, split), cuts_path(store.root, split)):
            if not rows:
                p.unlink(missing_ok=True)  # a split that is now empty must not keep an old manifest
        if not rows:
            continue
        entries = _entries(store, rows, clips)
        nemo = "".join(json.dumps(nemo_line(e, split), ensure_ascii=False) + "\n" for e in entries)
        write_atomic(nemo_path(store.root, split), nemo)
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:  # mtime=0: byte-identical reruns
            for e in entries:
                gz.write((json.dumps(cut_dict(e, split), ensure_ascii=False) + "\n").encode("utf-8"))
        write_atomic(cuts_path(store.root, split), buf.getvalue())
        written += [nemo_path(store.root, split), cuts_path(store.root, split)]
    return written


def load_cuts(root: Path | str, split: str = "train"):
    """The split's lhotse CutSet with audio paths made absolute (needs `pip install lhotse`)."""
    try:
        from lhotse import CutSet
    except ImportError:
        raise ImportError("reading lhotse manifests needs lhotse: pip install lhotse") from None
    root = Path(root).resolve()
    return CutSet.from_file(cuts_path(root, split)).with_recording_path_prefix(str(root))
