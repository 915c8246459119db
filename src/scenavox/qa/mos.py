"""Naturalness proxy: DNSMOS (P.808 MOS and SIG/BAK/OVRL) with the ONNX models `speechmos` ships.

The scoring follows speechmos.dnsmos (same models, windows, polynomial fits) but with the
mel spectrogram in numpy (librosa's defaults, checked against librosa in the tests):
speechmos imports librosa, whose numba kernels cost seconds to compile in every worker,
and opens its ONNX sessions on every core. Here sessions get an explicit thread count.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UserError

SR = 16000
INPUT_LENGTH = 9.01  # seconds per DNSMOS window


def _models_dir() -> Path:
    spec = importlib.util.find_spec("speechmos")  # the model files only: importing speechmos pulls librosa
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the MOS proxy needs the DNSMOS models: pip install speechmos")
    return Path(list(spec.submodule_search_locations)[0]) / "dnsmos_models"


def _hz_to_mel(f: np.ndarray) -> np.ndarray:  # Slaney scale (librosa htk=False)
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mels = f / f_sp
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=4)
def mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) (Slaney scale and norm)."""
    fft_f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_f)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def mel_power(audio: np.ndarray, n_fft: int, hop_length: int, n_mels: int, sr: int = SR) -> np.ndarray:
    """librosa.feature.melspectrogram (centred, zero-padded, periodic Hann, power 2, Slaney mels), in float64,
    frames x mels. DNSMOS's P.808 features and the speaker encoder's (qa/ge2e.py) start from it."""
    y = np.pad(np.asarray(audio, dtype=np.float32), n_fft // 2, mode="constant")
    n_frames = 1 + (len(y) - n_fft) // hop_length
    idx = np.arange(n_fft)[None, :] + hop_length * np.arange(n_frames)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    spec = np.abs(np.fft.rfft(y[idx] * window, axis=1)) ** 2  # frames x bins
    return spec @ mel_filters(sr, n_fft, n_mels).T.astype(np.float64)


def melspec_db(audio: np.ndarray, n_mels: int = 120, frame_size: int = 320, hop_length: int = 160) -> np.ndarray:
    """speechmos's DNSMOS.audio_melspec: librosa melspectrogram (centred, zero-padded, periodic Hann,
    power 2), power_to_db(ref=max, top_db=80), then (x + 40) / 40; frames x mels."""
    mel = mel_power(audio, frame_size + 1, hop_length, n_mels)
    db = 10.0 * np.log10(np.maximum(1e-10, mel))
    db -= 10.0 * np.log10(max(1e-10, float(mel.max())))
    db = np.maximum(db, db.max() - 80.0)
    return ((db + 40.0) / 40.0).astype(np.float32)


_P_OVR = np.poly1d([-0.06766283, 1.11546468, 0.04602535])
_P_SIG = np.poly1d([-0.08397278, 1.22083953, 0.0052439])
_P_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])


class DNSMOS:
    name = "dnsmos"

    def __init__(self, threads: int = 1):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, threads)
        so.inter_op_num_threads = 1
        d = _models_dir()
        cpu = ["CPUExecutionProvider"]
        self.primary = ort.InferenceSession(str(d / "sig_bak_ovr.onnx"), so, providers=cpu)
        self.p808 = ort.InferenceSession(str(d / "model_v8.onnx"), so, providers=cpu)

    def score(self, audio_16k: np.ndarray) -> dict[str, float]:
        """{'ovrl', 'sig', 'bak', 'p808'} for a float32 16 kHz clip; clips under 9 s are tiled to one window."""
        return self.score_many([audio_16k])[0]

    def score_many(self, clips: list[np.ndarray]) -> list[dict[str, float]]:
        """score() of each clip (a clip's scores do not depend on the others)."""
        need = int(INPUT_LENGTH * SR)
        windows: list[np.ndarray] = []
        owner: list[int] = []
        for i, audio in enumerate(clips):
            x = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
            if x.size < 1600:  # under 0.1 s there is nothing to judge
                continue
            if x.size < need + 1:
                x = np.tile(x, need // x.size + 2)[: need + 1]
            hops = int(np.floor(len(x) / SR) - INPUT_LENGTH) + 1
            for k in range(max(1, hops)):
                seg = x[k * SR: k * SR + need]
                if len(seg) == need:
                    windows.append(seg)
                    owner.append(i)
        out = [{"ovrl": float("nan"), "sig": float("nan"), "bak": float("nan"), "p808": float("nan")}
               for _ in clips]
        if not windows:
            return out
        # one window per ONNX call: a batch of two ran no faster here, and onnxruntime's memory arena keeps
        # the largest batch's activations (the SIG/BAK/OVRL model's first layers are 74 MB a window) for
        # the rest of the process: 560 MB resident after a batch of two, 320 MB with one at a time
        p808 = np.array([self.p808.run(None, {"input_1": melspec_db(w[:-160])[None]})[0][0, 0] for w in windows])
        sbo = np.concatenate([self.primary.run(None, {"input_1": w[None]})[0] for w in windows])
        own = np.asarray(owner)
        for i in sorted(set(owner)):
            sel = own == i
            s, b, o = sbo[sel, 0], sbo[sel, 1], sbo[sel, 2]
            out[i] = {"ovrl": round(float(np.mean(_P_OVR(o))), 3), "sig": round(float(np.mean(_P_SIG(s))), 3),
                      "bak": round(float(np.mean(_P_BAK(b))), 3), "p808": round(float(np.mean(p808[sel])), 3)}
        return out
