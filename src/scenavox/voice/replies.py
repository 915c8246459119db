"""The assistant's voiced replies (output_form voiced_replies or both).

Each clip also gets its reply spoken by the assistant voice, clean (it is the device's own
output), in a file of its own: replies/<reply id>.<ext>. The reply's id is content-addressed
apart from the clip's, so the user audio (and the ids and bytes of one-turn corpora) does not
depend on it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..audio import encode, resample
from ..errors import UserError
from ..records import Clip, Triple, VoiceTask, content_id
from ..scenario import OutputForm, Scenario
from ..store import Store
from .audio import set_level, trim_silence
from .backends import is_cloud
from .registry import Voice, load_registry

# The device speaks evenly: one fixed prosody for every reply.
ASSISTANT_PROSODY = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8, "level_dbfs": -20.0,
                     "pitch_semitones": 0.0, "pause_ms": 80}


def voices_replies(scenario: Scenario) -> bool:
    return scenario.output_form in (OutputForm.voiced_replies, OutputForm.both)


def assistant_voice(scenario: Scenario, user_voices: list[Voice]) -> Voice:
    """voices.assistant, else the first registry voice with role assistant of the primary language
    (not in voices.exclude), else the first registry voice of that language that no user accent uses
    (so the device does not sound like a customer), else the first of that language."""
    voices = load_registry(scenario.voices.registry, scenario.base_dir())
    want = scenario.voices.assistant
    if want is not None:
        found = [v for v in voices if v.id == want]
        if not found:
            raise UserError(f"{scenario.source_path}: voices.assistant: unknown voice id '{want}'; "
                            "see `scenavox voices list`")
        v = found[0]
        if is_cloud(v.backend) and not scenario.privacy.cloud_upload:
            raise UserError(f"{scenario.source_path}: voices.assistant: '{want}' uses a cloud TTS backend, but "
                            "privacy.cloud_upload is false; pick a local voice or allow cloud upload")
        return v
    lang = scenario.primary_language.split("-")[0]
    ok = [v for v in voices if v.language.split("-")[0] == lang
          and (not is_cloud(v.backend) or scenario.privacy.cloud_upload)
          and not (v.role == "assistant" and v.id in scenario.voices.exclude)]
    used = {v.id for v in user_voices}
    pick = [v for v in ok if v.role == "assistant"] or [v for v in ok if v.id not in used] or ok
    if not pick:
        raise UserError(f"{scenario.source_path}: voices.assistant: no voice for language '{lang}' in registry "
                        f"'{scenario.voices.registry}' to speak the replies; set voices.assistant")
    return pick[0]


def reply_spec(voice: Voice, t: Triple, sample_rate: int, fmt: str) -> dict[str, Any]:
    vd = voice.model_dump(mode="json")
    vd.update(target_accent=voice.accent, accent_fallback=False)
    if is_cloud(voice.backend):
        vd["cloud_upload_allowed"] = True  # assistant_voice() refused it otherwise
    rid = content_id("reply", t.id, t.reply, vd, ASSISTANT_PROSODY, sample_rate, fmt)
    return {"id": rid, "text": t.reply, "voice": vd, "prosody": dict(ASSISTANT_PROSODY)}


def reply_path(task: VoiceTask) -> str | None:
    return Store.reply_rel(task.reply["id"], task.format) if task.reply else None


def synthesize_reply(backend_for: Callable[[str], Any], task: VoiceTask, seed: int) -> tuple[dict[str, bytes], dict]:
    """The reply's audio file and the Clip fields that point to it; raises when synthesis fails."""
    r = task.reply or {}
    raw, sr = backend_for(r["voice"]["backend"]).synthesize(r["text"], r["voice"], r["prosody"], seed)
    x = resample(trim_silence(np.asarray(raw, dtype=np.float32), sr), sr, task.sample_rate)
    if x.size < 0.1 * task.sample_rate:
        raise RuntimeError(f"reply audio is empty or too short ({x.size / task.sample_rate:.2f}s)")
    x = set_level(x, r["prosody"]["level_dbfs"])
    rel = reply_path(task)
    assert rel is not None
    fields = {"reply_audio_path": rel, "reply_duration_s": round(len(x) / task.sample_rate, 4),
              "reply_voice_id": r["voice"]["id"]}
    return {rel: encode(x, task.sample_rate, task.format)}, fields


def reply_provenance(task: VoiceTask) -> dict[str, Any]:
    """What the clip's provenance says about its reply's voice (its licences reach the dataset card)."""
    if task.reply is None:
        return {}
    v = task.reply["voice"]
    out = {"id": v["id"], "tts_backend": v["backend"], "tts_model": v["model"],
           "voice_licence": v["licence"], "engine_licence": v.get("engine_licence", "")}
    if v.get("description"):  # what the voice is (e.g. a student of a user voice's teacher): the card says it
        out["description"] = v["description"]
    return {"reply_voice": out}


def clip_matches(root: Any, clip: Clip, task: VoiceTask) -> bool:
    """A stored clip is reusable for this task when its reply (or the lack of one) is the one asked for."""
    want = reply_path(task)
    if clip.reply_audio_path != want:
        return False
    return want is None or (root / want).is_file()
