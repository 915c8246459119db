"""User audio sources (noise folders, RIR folders): listing, decoding (soundfile), resampling, caching."""

from __future__ import annotations

from functools import lru_cache
from math import gcd
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

AUDIO_EXTENSIONS = (".wav", ".flac")


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def list_audio_files(folder: str | Path) -> list[Path]:
    """wav/flac files under ``folder`` (recursive), sorted so that a seed always picks the same file."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


@lru_cache(maxsize=512)
def _decode(path: str, mtime_ns: int) -> tuple[np.ndarray, int]:
    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError
        raise ValueError(f"cannot decode audio file {path}: {e}; convert it to wav or flac") from None
    return np.ascontiguousarray(x.mean(axis=1), dtype=np.float32), int(sr)


@lru_cache(maxsize=512)
def _load_resampled(path: str, mtime_ns: int, sample_rate: int) -> np.ndarray:
    x, sr = _decode(path, mtime_ns)
    y = resample(x, sr, sample_rate)
    y.setflags(write=False)
    return y


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode a file to mono float32 at ``sample_rate`` (cached per process; read-only array)."""
    p = str(path)
    try:
        mtime = Path(p).stat().st_mtime_ns
    except FileNotFoundError:
        raise ValueError(f"audio file not found: {p}") from None
    return _load_resampled(p, mtime, int(sample_rate))


class AudioSource:
    """A folder (recursive) or explicit list of wav/flac files; errors name the path and the fix."""

    def __init__(self, source: str | Path | Sequence[str | Path], what: str = "audio"):
        if isinstance(source, (str, Path)):
            root = Path(source)
            if not root.exists():
                raise ValueError(f"{what} folder {root} does not exist; give a folder of .wav/.flac files")
            if root.is_file():
                self.root, self.paths = root.parent, [root]
            else:
                self.root, self.paths = root, list_audio_files(root)
        else:
            self.paths = [Path(p) for p in source]
            self.root = None
            for p in self.paths:
                if not p.is_file():
                    raise ValueError(f"{what} file {p} does not exist")
        if not self.paths:
            raise ValueError(f"no .wav/.flac {what} files found in {source}; add some or remove the {what} source")

    def __len__(self) -> int:
        return len(self.paths)

    def relname(self, i: int) -> str:
        p = self.paths[i]
        if self.root is not None:
            try:
                return p.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return p.name
