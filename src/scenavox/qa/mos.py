"""Naturalness proxy: DNSMOS (P.808 MOS and SIG/BAK/OVRL) from the models `speechmos` ships.

speechmos opens its ONNX sessions with every core; here they get an explicit thread count
so QA workers x threads stays within the machine (see DESIGN section 7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError


class DNSMOS:
    name = "dnsmos"

    def __init__(self, threads: int = 1):
        try:
            import onnxruntime as ort
            from speechmos import dnsmos as _dm
        except ImportError:
            raise UserError("the MOS proxy needs: pip install speechmos librosa requests") from None
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, threads)
        so.inter_op_num_threads = 1
        models = Path(_dm.__file__).parent / "dnsmos_models"
        scorer = _dm.DNSMOS.__new__(_dm.DNSMOS)  # speechmos's scoring code, our sessions
        scorer.primary_model_path = str(models / "sig_bak_ovr.onnx")
        scorer.onnx_sess = ort.InferenceSession(scorer.primary_model_path, so, providers=["CPUExecutionProvider"])
        scorer.p808_onnx_sess = ort.InferenceSession(str(models / "model_v8.onnx"), so,
                                                     providers=["CPUExecutionProvider"])
        self._scorer = scorer

    def score(self, audio_16k: np.ndarray) -> dict[str, float]:
        """{'ovrl', 'sig', 'bak', 'p808'} for a float32 16 kHz clip (short clips are looped to 9 s)."""
        x = np.clip(np.asarray(audio_16k, dtype=np.float32), -1.0, 1.0)
        if x.size < 1600:  # under 0.1 s there is nothing to judge
            return {"ovrl": float("nan"), "sig": float("nan"), "bak": float("nan"), "p808": float("nan")}
        need = int(9.01 * 16000) + 1  # speechmos loops short clips by doubling; tile to one 9 s window instead
        if x.size < need:
            x = np.tile(x, need // x.size + 1)[:need]
        r = self._scorer(x, 16000, False)
        return {"ovrl": round(float(r["ovrl_mos"]), 3), "sig": round(float(r["sig_mos"]), 3),
                "bak": round(float(r["bak_mos"]), 3), "p808": round(float(r["p808_mos"]), 3)}
