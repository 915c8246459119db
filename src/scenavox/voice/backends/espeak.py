"""eSpeak NG (formant synthesis) through ctypes, from the library that `espeakng-loader` bundles.

No system install: the wheel carries libespeak-ng 1.52 and its data. The library keeps one
global state per process (one current voice, one set of parameters), so every call sets the
voice and all parameters it uses, under a lock. Variants that add breath noise draw from
eSpeak's own generator, seeded per clip; with a fresh library per utterance (see _Library)
the output is byte-identical in any process and order.

Voice options (the registry's `options`):
  espeak_voice  eSpeak voice name, e.g. en-us, en, en-gb-x-rp, en-gb-scotland, en-029, cmn, yue
  variant       voice variant, e.g. m3, f2, klatt4 (appended as "+variant")
  pitch         base pitch 0-100 (eSpeak default 50); the clip's pitch_semitones shift it
  range         pitch range 0-100 (default 50): how much the intonation moves
  rate          words per minute at prosody rate 1.0 (default 175)
  word_gap_ms   extra pause between words (default 0); the clip's pause_ms adds to clause pauses
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import os
import shutil
import tempfile
import threading
from typing import Any

import numpy as np

from ...errors import UserError
from .base import TTSBackend, needs

# espeak_PARAMETER values (speak_lib.h)
RATE, VOLUME, PITCH, RANGE, PUNCTUATION, CAPITALS, WORDGAP = 1, 2, 3, 4, 5, 6, 7
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
ESPEAK_SSML = 0x10
SAMPLE_RATE = 22050
DEFAULT_RATE_WPM = 175
# eSpeak's pitch parameter is a 0-100 scale over roughly two octaves of base pitch (its
# voices map 0-100 to about 0.5x-2x of the variant's base frequency around 50): one
# semitone is about 100 / 24 units. The mapping is approximate; the semitone value asked for
# is what the row records, the eSpeak value actually set is recorded beside it.
UNITS_PER_SEMITONE = 100 / 24

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Library:
    """A private copy of libespeak-ng, loaded afresh for every utterance.

    eSpeak NG keeps synthesis state in C statics (pitch flutter, wave generator phases) that
    survive espeak_Terminate/espeak_Initialize, so an utterance would depend on what the
    process said before. Loading the library from a private copy, using it for one utterance
    and unloading it again (dlclose) starts every utterance from the same state; it costs
    about 6 ms, against ~10 ms of synthesis. The copy's own path also keeps it apart from
    other users of the bundled library in this process (kokoro-onnx's phonemizer).
    """

    _instance: _Library | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise needs("espeak", "espeakng-loader") from None
        self._tmp = tempfile.mkdtemp(prefix="scenavox-espeak-")
        self.path = os.path.join(self._tmp, "libespeak-ng-private.so")
        shutil.copy(espeakng_loader.get_library_path(), self.path)
        atexit.register(shutil.rmtree, self._tmp, True)
        self.data_home = os.path.dirname(espeakng_loader.get_data_path()).encode()
        self.sample_rate = SAMPLE_RATE
        self._chunks: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._on_audio)  # keep a reference: ctypes does not
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> _Library:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_audio(self, wav: Any, n: int, events: Any) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def _open(self) -> Any:
        lib = ctypes.CDLL(self.path)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        sr = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_home, 0)
        if sr <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({sr}) with data in {self.data_home.decode()}")
        self.sample_rate = int(sr)
        lib.espeak_SetSynthCallback(self._callback)
        return lib

    def speak(self, text: str, name: str, params: dict[int, int], seed: int, ssml: bool) -> np.ndarray:
        with self.lock:
            lib = self._open()
            try:
                if lib.espeak_SetVoiceByName(name.encode()) != 0:
                    raise UserError(
                        f"eSpeak NG has no voice '{name}'; use a full name such as en-us, en, en-gb-x-rp, "
                        f"en-gb-scotland, en-029, en-us-nyc, cmn, yue, with an optional variant (+m3, +f2)")
                for key, value in params.items():
                    lib.espeak_SetParameter(key, int(value), 0)
                lib.espeak_ng_SetRandSeed(seed & 0x7FFFFFFF)  # breath/aspiration noise of some variants
                self._chunks = []
                data = text.encode("utf-8") + b"\0"
                flags = ESPEAK_CHARS_UTF8 | (ESPEAK_SSML if ssml else 0)
                err = lib.espeak_Synth(data, len(data), 0, 0, 0, flags, None, None)
                if err != 0:
                    raise RuntimeError(f"espeak_Synth failed with error {err}")
                chunks, self._chunks = self._chunks, []
            finally:
                lib.espeak_Terminate()
                _ctypes.dlclose(lib._handle)
        if not chunks:
            return np.zeros(0, np.float32)
        return np.concatenate(chunks).astype(np.float32) / 32768.0


def _with_pauses(text: str, pause_ms: int) -> tuple[str, bool]:
    """Escape text for SSML and add a break after each clause mark (, ; : . ! ?) inside it."""
    import re
    from xml.sax.saxutils import escape

    if pause_ms <= 0:
        return text, False
    body = escape(text.strip())
    body = re.sub(r"([,;:.!?\uFF0C\u3002\uFF01\uFF1F])\s+(?=\S)", rf'\1 <break time="{pause_ms}ms"/> ', body)
    return f"<speak>{body}</speak>", True


def espeak_parameters(options: dict[str, Any], prosody: dict[str, float]) -> dict[str, int]:
    """The eSpeak parameters a clip uses (also recorded in the clip's provenance)."""
    base_rate = int(options.get("rate", DEFAULT_RATE_WPM))
    base_pitch = float(options.get("pitch", 50))
    semis = float(prosody.get("pitch_semitones", 0.0))
    return {
        "rate": max(80, min(450, round(base_rate * float(prosody.get("rate", 1.0))))),
        "pitch": max(0, min(99, round(base_pitch + semis * UNITS_PER_SEMITONE))),
        "range": max(0, min(99, int(options.get("range", 50)))),
        "word_gap": max(0, round(int(options.get("word_gap_ms", 0)) / 10)),
    }


class EspeakBackend(TTSBackend):
    name = "espeak"
    licence = "GPL-3.0-or-later"
    native_controls = frozenset({"rate", "pitch_semitones", "pause_ms"})
    options = {"espeak_voice": "eSpeak voice name (required), e.g. en-us, en-gb-x-rp, cmn",
               "variant": "voice variant, e.g. m3, f2, klatt4", "pitch": "base pitch 0-100 (default 50)",
               "range": "pitch range 0-100 (default 50)", "rate": "words per minute at rate 1.0 (default 175)",
               "word_gap_ms": "extra pause between words (default 0)"}

    @classmethod
    def check_voice(cls, voice: Any) -> None:
        if not voice.options.get("espeak_voice"):
            raise ValueError("espeak voices need options.espeak_voice (e.g. en-us, en-gb-x-rp, cmn)")

    def __init__(self, threads: int = 1):
        self.threads = threads  # eSpeak NG is single-threaded

    @staticmethod
    def voice_name(options: dict[str, Any]) -> str:
        name = str(options.get("espeak_voice", "en-us"))
        variant = options.get("variant")
        return f"{name}+{variant}" if variant else name

    def native_prosody(self, voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        options = voice.get("options", {})
        return {"espeak_voice": self.voice_name(options), "rate_wpm": espeak_parameters(options, prosody)["rate"],
                **{k: v for k, v in espeak_parameters(options, prosody).items() if k != "rate"},
                "pause_ms": int(prosody.get("pause_ms", 0))}

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        lib = _Library.get()
        options = voice.get("options", {})
        p = espeak_parameters(options, prosody)
        params = {RATE: p["rate"], PITCH: p["pitch"], RANGE: p["range"], WORDGAP: p["word_gap"], VOLUME: 100,
                  PUNCTUATION: 0, CAPITALS: 0}
        body, ssml = _with_pauses(text, int(prosody.get("pause_ms", 0)))
        audio = lib.speak(body, self.voice_name(options), params, seed, ssml)
        return audio, lib.sample_rate

