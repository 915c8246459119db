"""Frozen speech-encoder features for the probe: the bundled Whisper base encoder, mean-pooled.

The encoder is the one QA already loads (CTranslate2, `qa.asr.whisper_base_dir`), run on the clip's
own length rather than a 30 s padded window: about 10x faster on short commands, and a probe only
needs features that are the same function of the audio for every clip.
"""

from __future__ import annotations

import numpy as np

from ..audio import read_mono, resample
from ..qa.asr import WHISPER_SR, FasterWhisperTranscriber

MAX_FRAMES = 3000  # Whisper's 30 s window; longer clips are cut (the probe's commands are short)


class WhisperEncoder:
    name = "whisper-base-encoder-meanpool"
    dim = 512

    def __init__(self, threads: int = 1):
        import ctranslate2

        self._ct2 = ctranslate2
        fw = FasterWhisperTranscriber(threads=threads)
        self._fe = fw.model.feature_extractor
        self._model = fw.model.model

    def embed(self, audio: np.ndarray, sr: int) -> np.ndarray:
        x = resample(np.asarray(audio, dtype=np.float32), sr, WHISPER_SR) if sr != WHISPER_SR else audio
        feat = self._fe(np.asarray(x, dtype=np.float32))[:, :MAX_FRAMES]
        n = max(2, feat.shape[1] - feat.shape[1] % 2)
        if feat.shape[1] < n:
            feat = np.pad(feat, ((0, 0), (0, n - feat.shape[1])))
        sv = self._ct2.StorageView.from_array(np.ascontiguousarray(feat[None, :, :n], dtype=np.float32))
        out = np.array(self._model.encode(sv, to_cpu=True))[0]
        return out.mean(axis=0).astype(np.float32)

    def embed_bytes(self, data: bytes) -> np.ndarray:
        x, sr = read_mono(data)
        return self.embed(x, sr)
