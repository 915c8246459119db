"""Coqui TTS (`coqui-tts`, imported as `TTS`; the `coqui` extra): multi-speaker VITS and XTTS v2.

The registry's `model` is a local model (a folder with config.json and a checkpoint, or a
checkpoint file with config.json beside it; XTTS: its folder) or a coqui model name such as
tts_models/en/vctk/vits or tts_models/multilingual/multi-dataset/xtts_v2, which coqui
downloads once into its own cache (a network is needed for that; XTTS also asks to accept
its licence: read the CPML, then set COQUI_TOS_AGREED=1).
`speaker` names a speaker of a multi-speaker model (VCTK: p225 ... p376; XTTS: one of its
built-in speakers). A cloned voice (origin: cloned) lists `reference` clips instead and is
synthesized only when the scenario allows cloning and each clip has a consent record
(voice/consent.py); the planner refuses it earlier, this backend checks again.

Voice options (the registry's `options`):
  language  text language of a multilingual model (XTTS: en, es, fr, de, ...; default: the
            voice's language)
  speed     speaking speed at prosody rate 1.0 (default 1.0); the clip's rate multiplies it

Prosody: VITS has no `speed`: rate -> the model's length_scale (its own value / speed), and
noise_scale / noise_w_scale -> inference_noise_scale / inference_noise_scale_dp, set for the
call and restored after it. XTTS: rate -> `speed`. pause_ms -> silence between sentences.
No pitch control (pitch_semitones stays 0). Torch's generator is seeded per clip, so a clip
is reproducible with the same thread count. Licences: coqui-tts is MPL-2.0; VCTK VITS
weights are listed by coqui as Apache-2.0, trained on VCTK (CC-BY-4.0); XTTS weights are
under the Coqui Public Model License (CPML), non-commercial: say licence: CPML in the
registry, and the dataset card carries it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UserError
from ..consent import check_consent
from .base import TTSBackend, needs

CHECKPOINT_NAMES = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth")


def model_files(model: str) -> tuple[str, str | None, str | None]:
    """(model name, checkpoint, config) for a registry `model`: a local path or a coqui model name."""
    path = Path(model)
    if path.is_dir():
        cfg = path / "config.json"
        if not cfg.is_file():
            raise UserError(f"coqui model folder {path} has no config.json")
        if json.loads(cfg.read_text(encoding="utf-8")).get("model") == "xtts":
            return "", str(path), str(cfg)  # XTTS loads its files from the folder
        named = [path / n for n in CHECKPOINT_NAMES if (path / n).is_file()]
        found = named[:1] or sorted(path.glob("*.pth"))
        if len(found) != 1:
            raise UserError(f"coqui model folder {path}: expected one checkpoint ({', '.join(CHECKPOINT_NAMES)} "
                            f"or a single *.pth), found {len(found)}")
        return "", str(found[0]), str(cfg)
    if path.is_file():
        cfg = path.with_name("config.json")
        if not cfg.is_file():
            raise UserError(f"coqui checkpoint {path} needs config.json beside it")
        return "", str(path), str(cfg)
    if model.startswith("tts_models/") or model in {"xtts", "xtts_v2"}:
        return model, None, None
    raise UserError(f"coqui model '{model}' is neither a model folder or checkpoint nor a coqui model name "
                    f"(tts_models/<lang>/<dataset>/<model>)")


class _Loaded:
    """One coqui model in this worker, with the defaults that prosody overrides are restored to."""

    def __init__(self, tts: Any):
        self.tts = tts
        self.synth = tts.synthesizer
        self.model = self.synth.tts_model
        self.is_xtts = getattr(self.synth.tts_config, "model", "") == "xtts"
        self.sample_rate = int(self.synth.output_sample_rate)
        self.defaults = {k: getattr(self.model, k) for k in
                         ("length_scale", "inference_noise_scale", "inference_noise_scale_dp") if hasattr(self.model, k)}

    @property
    def speakers(self) -> list[str]:
        sm = getattr(self.model, "speaker_manager", None)
        if sm is None:
            return []
        return list(sm.speakers) if self.is_xtts else list(sm.speaker_names)

    @property
    def languages(self) -> list[str]:
        if self.is_xtts:
            return list(self.synth.tts_config.languages)
        lm = getattr(self.model, "language_manager", None)
        names = list(lm.language_names) if lm is not None else []
        return names if len(names) > 1 else []


class CoquiBackend(TTSBackend):
    name = "coqui"
    licence = "MPL-2.0"  # coqui-tts; the weights' licence is the voice's (XTTS v2: CPML)
    native_controls = frozenset({"rate", "noise_scale", "noise_w_scale", "pause_ms"})
    options = {"language": "text language of a multilingual model (default: the voice's)",
               "speed": "speed at rate 1.0 (default 1.0)"}

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._models: dict[str, _Loaded] = {}
        self._lock = threading.Lock()  # the prosody lives on the shared model object

    def _load(self, model: str) -> _Loaded:
        if model in self._models:
            return self._models[model]
        try:
            import torch
            from TTS.api import TTS
        except ImportError:
            raise needs("coqui", "coqui-tts and torch") from None
        torch.set_num_threads(self.threads)  # workers x threads = cores, as for the ONNX backends
        name, checkpoint, config = model_files(model)
        if name:
            tts = TTS(name, progress_bar=False)
        else:
            tts = TTS(model_path=checkpoint, config_path=config, progress_bar=False)
        loaded = self._models[model] = _Loaded(tts)
        return loaded

    @staticmethod
    def speed(voice: dict[str, Any], prosody: dict[str, float]) -> float:
        base = float(voice.get("options", {}).get("speed", 1.0))
        return round(min(2.0, max(0.5, base * float(prosody.get("rate", 1.0)))), 4)

    def native_prosody(self, voice: dict[str, Any], prosody: dict[str, float]) -> dict[str, Any]:
        m = self._models.get(voice["model"])
        speed = self.speed(voice, prosody)
        out: dict[str, Any] = {"sentence_silence_ms": int(prosody.get("pause_ms", 0))}
        if m is not None and m.is_xtts:
            out["speed"] = speed
        else:
            base = m.defaults.get("length_scale", 1.0) if m is not None else 1.0
            out.update(length_scale=round(float(base) / speed, 4), noise_scale=prosody.get("noise_scale"),
                       noise_w_scale=prosody.get("noise_w_scale"))
        if m is not None and m.languages:
            out["language"] = self.language(m, voice)
        if voice.get("reference"):
            out["reference"] = [Path(r).name for r in voice["reference"]]
            out["consent"] = check_consent(voice["id"], voice["reference"])
        return out

    @staticmethod
    def language(m: _Loaded, voice: dict[str, Any]) -> str | None:
        if not m.languages:
            return None
        lang = str(voice.get("options", {}).get("language") or voice.get("language", ""))
        same = [x for x in m.languages if x.split("-")[0] == lang.split("-")[0]]
        if lang not in m.languages and len(same) == 1:  # en-GB -> en, zh -> zh-cn
            lang = same[0]
        if lang not in m.languages:
            raise UserError(f"voice '{voice['id']}': coqui model {voice['model']} does not speak '{lang}'; "
                            f"set options.language to one of {', '.join(m.languages)}")
        return lang

    def _speaker_args(self, m: _Loaded, voice: dict[str, Any]) -> dict[str, Any]:
        if voice.get("reference"):
            if not voice.get("cloning_allowed", False):
                raise UserError(f"voice '{voice['id']}' is cloned, and the scenario does not allow cloning "
                                f"(privacy.voice_cloning: false)")
            check_consent(voice["id"], voice["reference"])
            if not getattr(m.model.config, "supports_cloning", m.is_xtts):
                raise UserError(f"voice '{voice['id']}': coqui model {voice['model']} cannot clone from reference "
                                f"clips; use XTTS v2")
            return {"speaker_name": None, "speaker_wav": list(voice["reference"])}
        speaker = voice.get("speaker")
        known = m.speakers
        if known and speaker is None:
            raise UserError(f"voice '{voice['id']}': coqui model {voice['model']} has {len(known)} speakers; "
                            f"set speaker (e.g. {known[0]})")
        if speaker is not None and str(speaker) not in known:
            shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            raise UserError(f"voice '{voice['id']}': coqui model {voice['model']} has no speaker '{speaker}'"
                            + (f"; it has {shown}" if known else " (a single-speaker model: drop `speaker`)"))
        return {"speaker_name": str(speaker) if speaker is not None else None}

    def synthesize(self, text: str, voice: dict[str, Any], prosody: dict[str, float], seed: int = 0
                   ) -> tuple[np.ndarray, int]:
        import torch
        from TTS.utils.synthesizer import PAD_SILENCE_SAMPLES

        with self._lock:
            m = self._load(voice["model"])
            args = self._speaker_args(m, voice)
            language = self.language(m, voice)
            speed = self.speed(voice, prosody)
            kwargs: dict[str, Any] = {}
            if m.is_xtts:
                kwargs["speed"] = speed
            else:
                if "length_scale" in m.defaults:
                    m.model.length_scale = float(m.defaults["length_scale"]) / speed
                if "inference_noise_scale" in m.defaults and "noise_scale" in prosody:
                    m.model.inference_noise_scale = float(prosody["noise_scale"])
                if "inference_noise_scale_dp" in m.defaults and "noise_w_scale" in prosody:
                    m.model.inference_noise_scale_dp = float(prosody["noise_w_scale"])
            torch.manual_seed(seed)
            try:
                sentences = m.synth.split_into_sentences(text, language) or [text]
                chunks = []
                for sentence in sentences:
                    wav = np.asarray(m.synth.tts(sentence, language_name=language, split_sentences=False,
                                                 **args, **kwargs), np.float32)
                    chunks.append(wav[: max(0, len(wav) - PAD_SILENCE_SAMPLES)])  # coqui pads every sentence
            finally:
                for key, value in m.defaults.items():
                    setattr(m.model, key, value)
        gap = np.zeros(int(m.sample_rate * prosody.get("pause_ms", 0) / 1000), np.float32)
        parts = [p for k, c in enumerate(chunks) for p in ((gap, c) if k else (c,))]
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return audio.astype(np.float32), m.sample_rate
