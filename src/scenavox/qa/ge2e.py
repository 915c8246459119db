"""Speaker embeddings: resemblyzer's GE2E voice encoder, run in numpy.

The same model and steps as `resemblyzer.VoiceEncoder.embed_utterance` after `preprocess_wav` (volume to
-30 dBFS, long silences trimmed by webrtcvad; 40-mel power spectrogram; 1.6-s partials at 1.3 per second;
a 3-layer LSTM and a ReLU projection; the partials' mean, L2-normed), with the weights read from the
`pretrained.pt` resemblyzer ships. Why not resemblyzer itself: importing it (torch, librosa) and its
one-clip-at-a-time LSTM took about 12 s at the end of every default build, after the stages, with nothing
else to overlap; here the partials of many clips go through the LSTM together. tests/qa/test_ge2e.py checks
the embeddings against resemblyzer's.
"""

from __future__ import annotations

import collections
import importlib.util
import pickle
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError

SR = 16000
HOP = 160  # 10 ms mel frames
N_FFT = 400  # 25 ms windows
N_MELS = 40
PARTIAL = 160  # frames per partial utterance (1.6 s)
RATE, MIN_COVERAGE = 1.3, 0.75  # embed_utterance's defaults
VAD_WINDOW = 480  # 30 ms at 16 kHz
VAD_AVERAGE, VAD_MAX_SILENCE = 8, 6
TARGET_DBFS = -30.0
INT16_MAX = 2**15 - 1
CHUNK = 64  # partials per LSTM pass: bounds the memory of the input projections (64 x 160 x 1024 floats)


def _weights_file() -> Path:
    spec = importlib.util.find_spec("resemblyzer")  # the file only: importing resemblyzer pulls torch and librosa
    if spec is None or not spec.submodule_search_locations:
        raise UserError("speaker checks need resemblyzer's encoder weights: pip install 'scenavox[qa-extra]'")
    return Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"


_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32}


def read_torch_legacy(path: Path) -> Any:
    """A checkpoint in torch's legacy (pre-zip) format, tensors as numpy arrays, without torch.

    The format: four pickles (magic number, protocol, system info, the object whose tensors name their
    storages by key), then each storage's element count (int64) and raw little-endian bytes, in the order of
    a fifth pickle's key list. Only tensors, storages and OrderedDict are allowed in: a file naming any other
    class is refused, so reading it runs no code."""
    storages: dict[str, dict[str, Any]] = {}
    tensors: list[tuple[dict[str, Any], int, tuple[int, ...], tuple[int, ...], dict[str, Any]]] = []

    def rebuild(storage: dict[str, Any], offset: int, size: Any, stride: Any, *_: Any) -> dict[str, Any]:
        holder: dict[str, Any] = {}
        tensors.append((storage, offset, tuple(size), tuple(stride), holder))
        return holder

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return rebuild
            if module == "torch" and name in _DTYPES:
                return _DTYPES[name]
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"{path.name}: {module}.{name} is not allowed in a weights file")

        def persistent_load(self, pid: Any) -> Any:
            _kind, dtype, key, _location, numel = pid[:5]
            return storages.setdefault(key, {"dtype": np.dtype(dtype), "numel": numel})

    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        obj = Unpickler(f).load()
        for key in pickle.load(f):
            st = storages[key]
            (n,) = struct.unpack("<q", f.read(8))
            st["data"] = np.frombuffer(f.read(n * st["dtype"].itemsize), st["dtype"])
    for st, offset, size, stride, holder in tensors:
        item = st["data"].itemsize
        holder["array"] = np.lib.stride_tricks.as_strided(
            st["data"][offset:], size, [s * item for s in stride]).copy()

    def resolve(x: Any) -> Any:
        if isinstance(x, dict) and set(x) == {"array"}:
            return x["array"]
        if isinstance(x, dict):
            return type(x)((k, resolve(v)) for k, v in x.items())
        return x

    return resolve(obj)


@lru_cache(maxsize=1)
def weights() -> dict[str, np.ndarray]:
    """The encoder's LSTM and projection weights (float32), read once per process."""
    state = read_torch_legacy(_weights_file())["model_state"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items() if k.startswith(("lstm", "linear"))}


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40), frames x mels."""
    from .mos import mel_power

    return mel_power(wav, N_FFT, HOP, N_MELS, SR).astype(np.float32)


def preprocess(wav: np.ndarray) -> np.ndarray:
    """resemblyzer.preprocess_wav of a 16 kHz clip: volume raised (never lowered) to -30 dBFS, then every
    silence longer than about 6 VAD windows (webrtcvad, mode 3, on 30-ms windows, smoothed) cut out."""
    import webrtcvad

    wav = np.asarray(wav, dtype=np.float32)
    rms = np.sqrt(np.mean((wav * INT16_MAX) ** 2))
    change = TARGET_DBFS - 20 * np.log10(rms / INT16_MAX)
    if change > 0:
        wav = wav * (10 ** (change / 20))
    wav = wav[: len(wav) - len(wav) % VAD_WINDOW]
    pcm = np.round(wav * INT16_MAX).astype("<i2").tobytes()
    vad = webrtcvad.Vad(3)
    flags = np.array([vad.is_speech(pcm[i * 2:(i + VAD_WINDOW) * 2], sample_rate=SR)
                      for i in range(0, len(wav), VAD_WINDOW)], dtype=float)
    padded = np.concatenate((np.zeros((VAD_AVERAGE - 1) // 2), flags, np.zeros(VAD_AVERAGE // 2)))
    ret = np.cumsum(padded, dtype=float)
    ret[VAD_AVERAGE:] = ret[VAD_AVERAGE:] - ret[:-VAD_AVERAGE]
    mask = np.round(ret[VAD_AVERAGE - 1:] / VAD_AVERAGE).astype(bool)
    # binary dilation by VAD_MAX_SILENCE + 1 windows (scipy's, centred, zeros past the ends)
    width = VAD_MAX_SILENCE + 1
    mask = np.convolve(mask.astype(int), np.ones(width, dtype=int))[width // 2: width // 2 + len(mask)] > 0
    return wav[np.repeat(mask, VAD_WINDOW)]


def partial_slices(n_samples: int) -> list[slice]:
    """VoiceEncoder.compute_partial_slices: the mel frames of each 1.6-s partial utterance."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SR / RATE) / HOP))
    out = [slice(i, i + PARTIAL) for i in range(0, max(1, n_frames - PARTIAL + step + 1), step)]
    coverage = (n_samples - out[-1].start * HOP) / (PARTIAL * HOP)
    if coverage < MIN_COVERAGE and len(out) > 1:
        out = out[:-1]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow where x is far below 0


def _encode(mels: np.ndarray) -> np.ndarray:
    """The encoder's forward pass on (partials, 160, 40) mels: L2-normed ReLU projections of the last LSTM
    layer's final hidden state. PyTorch's gate order: input, forget, cell, output."""
    w = weights()
    x = mels
    for layer in range(3):
        w_hh = w[f"lstm.weight_hh_l{layer}"].T
        proj = x @ w[f"lstm.weight_ih_l{layer}"].T + (w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"])
        hidden = w_hh.shape[0]
        h = np.zeros((len(mels), hidden), np.float32)
        c = np.zeros_like(h)
        out = np.empty((len(mels), x.shape[1], hidden), np.float32)
        for t in range(x.shape[1]):
            g = proj[:, t] + h @ w_hh
            i, f = _sigmoid(g[:, :hidden]), _sigmoid(g[:, hidden:2 * hidden])
            c = f * c + i * np.tanh(g[:, 2 * hidden:3 * hidden])
            h = _sigmoid(g[:, 3 * hidden:]) * np.tanh(c)
            out[:, t] = h
        x = out
    e = np.maximum(h @ w["linear.weight"].T + w["linear.bias"], 0.0)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def embed(wavs: list[np.ndarray]) -> np.ndarray:
    """One embedding per preprocessed 16 kHz clip (VoiceEncoder.embed_utterance), (clips, 256), unit length.
    The partials of all clips go through the LSTM together, CHUNK at a time."""
    mels, owner = [], []
    for k, wav in enumerate(wavs):
        slices = partial_slices(len(wav))
        stop = slices[-1].stop * HOP
        padded = np.pad(wav, (0, max(0, stop - len(wav))), "constant")
        frames = mel_frames(padded)
        for s in slices:
            mels.append(frames[s])
            owner.append(k)
    if not mels:
        return np.zeros((0, 256), np.float32)
    stack = np.stack(mels)
    partials = np.concatenate([_encode(stack[i:i + CHUNK]) for i in range(0, len(stack), CHUNK)])
    own = np.asarray(owner)
    out = np.stack([partials[own == k].mean(axis=0) for k in range(len(wavs))])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)
