"""The voice stage: choose a voice and prosody per triple, synthesize, trim, set the level.

It writes clean clips only: the speech as float32 samples (voice/<id>.au, lossless) with a Clip
record that has no acoustics yet. The acoustics stage places the clip in the scenario's scene and
writes the corpus files (audio/, clean/); the voiced replies (voice/replies.py) are final here.
"""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np

from ..audio import encode_lossless, resample
from ..errors import UserError
from ..records import Clip, Quarantined, Triple, VoiceTask, content_id
from ..scenario import Scenario
from ..splits import timbre_key
from ..stages import Outcome, Resources, Stage
from ..store import Store
from .audio import set_level, trim_silence
from .backends import backend_class, is_cloud, pitch_native, snapshot
from .registry import Voice, scenario_voices
from .replies import assistant_voice, reply_provenance, reply_spec, synthesize_reply, voices_replies
from .speakers import prosody_key

# A clip shorter or longer than this per word is a synthesis failure, not speech.
MIN_S_PER_WORD, MAX_S_PER_WORD = 0.08, 2.0
# Chinese is written without spaces: each character is one word for the duration bounds (a Kokoro
# Mandarin clip of 20 characters lasts ~4 s, over the bound of a one-"word" text)
_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


class VoicePlanner:
    """Assigns voices so that realized accent shares track the scenario's weights.

    Accents follow a smooth weighted round-robin over item indices and voices within an
    accent rotate by per-voice quotas (equal, held-out voices smaller), so the choice for item
    i depends only on (scenario, seed, i).
    """

    def __init__(self, scenario: Scenario, seed: int):
        self.scenario = scenario
        self.seed = seed
        self.voices = scenario_voices(scenario)
        targets = scenario.accent_weights
        self.by_accent: dict[str, list[Voice]] = {}
        self.fallback: dict[str, bool] = {}
        for accent in targets:
            exact = [v for v in self.voices if v.accent == accent]
            same_lang = [v for v in self.voices if v.language == accent.split("-")[0]]
            self.by_accent[accent] = exact or same_lang
            self.fallback[accent] = not exact
            if not self.by_accent[accent]:
                raise UserError(
                    f"{scenario.source_path}: languages: no voice for accent {accent} in registry "
                    f"'{scenario.voices.registry}'; add one to voices/ or change the accent weights"
                )
        self.accents = list(targets)
        self.weights = [targets[a] for a in self.accents]
        # Per-voice quotas within an accent: shares by the voices' weights, except that held-out voices (which
        # publish/export sends to the test split only) get together the test share of their
        # accent, so the held-out speakers do not swamp the test split nor starve train.
        splits = scenario.size.splits
        test_share = splits.get("test", 0.0) / sum(splits.values())
        # a held-out voice's other accents are the same speaker, held out with it (splits.speaker_of)
        declared = set(scenario.voices.held_out)
        pool = [v for vs in self.by_accent.values() for v in vs]
        held_keys = {timbre_key(v.backend, v.model, v.options, v.speaker) for v in pool if v.id in declared}
        held = declared | {v.id for v in pool if timbre_key(v.backend, v.model, v.options, v.speaker) in held_keys}
        self.voice_weights: dict[str, list[float]] = {}
        for accent, voices in self.by_accent.items():
            n_held = sum(v.id in held for v in voices)
            if 0 < n_held < len(voices):
                share = max(test_share, 0.05)
                rest = sum(v.weight for v in voices if v.id not in held)
                self.voice_weights[accent] = [share / n_held if v.id in held else (1 - share) * v.weight / rest
                                              for v in voices]
            else:
                self.voice_weights[accent] = [v.weight for v in voices]
        self._rotation: dict[str, tuple[Any, list[int]]] = {}

    def schedule(self, n: int) -> list[tuple[str, int]]:
        """(accent, turn within that accent) for item indices 0..n-1."""
        from ..sampling import SmoothWeightedRoundRobin

        sched = SmoothWeightedRoundRobin(self.weights)
        turns: dict[str, int] = {}
        out = []
        for _ in range(n):
            accent = self.accents[sched.next()]
            out.append((accent, turns.get(accent, 0)))
            turns[accent] = turns.get(accent, 0) + 1
        return out

    def voice_for(self, accent: str, k: int) -> Voice:
        """The k-th voice of an accent: smooth weighted round-robin over the per-voice quotas."""
        from ..sampling import SmoothWeightedRoundRobin

        sched, seq = self._rotation.setdefault(accent, (SmoothWeightedRoundRobin(self.voice_weights[accent]), []))
        while len(seq) <= k:
            seq.append(sched.next())
        return self.by_accent[accent][seq[k]]

    def task_for(self, t: Triple, slot: tuple[str, int]) -> VoiceTask:
        accent, k = slot
        voice = self.voice_for(accent, k)
        cfg = self.scenario.audio
        rng = random.Random(content_id("prosody", self.seed, prosody_key(t)))
        p = cfg.prosody
        prosody = {
            "rate": round(rng.uniform(p.min_rate, p.max_rate), 3),
            "noise_scale": round(rng.uniform(0.5, 0.8), 3),
            "noise_w_scale": round(rng.uniform(0.6, 0.9), 3),
            "level_dbfs": round(rng.uniform(p.min_level_dbfs, p.max_level_dbfs), 2),
        }
        # drawn after the older values so those stay what they were for the same seed
        pitch = round(rng.uniform(p.min_pitch_semitones, p.max_pitch_semitones), 2)
        # backends without a pitch control speak at their own pitch and record 0 semitones
        prosody["pitch_semitones"] = pitch if pitch_native(voice.backend) else 0.0
        prosody["pause_ms"] = rng.randint(p.min_pause_ms, p.max_pause_ms)
        vd = voice.model_dump(mode="json")
        vd["target_accent"] = accent
        vd["accent_fallback"] = self.fallback[accent]
        if is_cloud(voice.backend):  # checked again by the backend before anything is sent
            vd["cloud_upload_allowed"] = self.scenario.privacy.cloud_upload
        if voice.origin == "cloned":  # checked again by the backend, with the consent records, before synthesis
            vd["cloning_allowed"] = self.scenario.privacy.voice_cloning
        acoustics = self.acoustics
        vid = content_id("clip", t.id, t.utterance, vd, prosody, cfg.sample_rate, cfg.format, acoustics)
        reply = reply_spec(self.assistant, t, cfg.sample_rate, cfg.format) if voices_replies(self.scenario) else None
        return VoiceTask(id=vid, triple=t, voice=vd, prosody=prosody, sample_rate=cfg.sample_rate,
                         format=cfg.format, seed=self.seed, acoustics=acoustics, reply=reply)

    @property
    def assistant(self) -> Voice:
        if getattr(self, "_assistant", None) is None:
            used = [v for vs in self.by_accent.values() for v in vs]
            self._assistant = assistant_voice(self.scenario, used)
        return self._assistant

    @property
    def acoustics(self) -> dict[str, Any] | None:
        """The scene every clip is placed in (VoiceTask.acoustics, part of the clip id; the acoustics stage
        reads it, dialogue scenes too). None when acoustics are off: clean clips."""
        ac = self.scenario.acoustics
        if not ac.enabled:
            return None
        base = self.scenario.base_dir()
        return {
            "noise": self.scenario.noise.model_dump(mode="json"), "preset": ac.preset,
            "noise_dirs": [str((base / d).resolve()) for d in ac.noise_dirs],
            "rir_dirs": [str((base / d).resolve()) for d in ac.rir_dirs],
            "user_noise_weight": ac.user_noise_weight, "keep_clean": ac.keep_clean,
        }


class VoiceStage(Stage):
    name = "voice"

    def __init__(self, threads: int = 1):
        self.resources = Resources(cpus=threads, threads=threads)
        self._registry = snapshot()  # travels to the workers with the stage, backends registered at run time too
        self._backends: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_backends"] = {}
        return state

    def _backend(self, name: str) -> Any:
        """One instance per backend and worker, from the registry (voice/backends/base.py)."""
        if name not in self._backends:
            self._backends[name] = backend_class(name, self._registry)(threads=self.resources.threads)
        return self._backends[name]

    def process(self, task: VoiceTask) -> Outcome:
        text = task.triple.utterance
        words = max(1, len(_CJK.sub(r" \1 ", text).split()))  # a Chinese character counts as a word
        reasons = []
        seed = task.clip_seed()
        for attempt in range(2):  # one retry: ONNX and phonemizer failures are sometimes transient
            try:
                backend = self._backend(task.voice["backend"])
                raw, sr = backend.synthesize(text, task.voice, task.prosody, seed)
            except UserError:
                raise  # a configuration problem (missing extra, unknown speaker, no consent) stops the run
            except Exception as exc:  # noqa: BLE001
                reasons.append(f"{type(exc).__name__}: {exc}")
                continue
            x = trim_silence(raw.astype(np.float32), sr)
            x = resample(x, sr, task.sample_rate)
            dur = len(x) / task.sample_rate
            if not (MIN_S_PER_WORD * words <= dur <= MAX_S_PER_WORD * words + 1.0):
                reasons.append(f"duration {dur:.2f}s is implausible for {words} words")
                continue
            x = set_level(x, task.prosody["level_dbfs"])
            files: dict[str, bytes] = {}
            reply_fields: dict[str, Any] = {}
            if task.reply is not None:
                try:
                    files, reply_fields = synthesize_reply(self._backend, task, seed)
                except Exception as exc:  # noqa: BLE001
                    reasons.append(f"reply: {type(exc).__name__}: {exc}")
                    continue
            rel = speech_path(task.id)
            files[rel] = encode_lossless(x, task.sample_rate)
            clip = Clip(
                id=task.id, triple_id=task.triple.id, audio_path=rel, text=text, sample_rate=task.sample_rate,
                duration_s=round(dur, 4), voice_id=task.voice["id"], accent=task.voice["accent"],
                language=task.voice["language"], prosody=task.prosody, **reply_fields,
                provenance={
                    "tts_backend": task.voice["backend"], "tts_model": task.voice["model"],
                    "speaker": task.voice.get("speaker"), "voice_options": task.voice.get("options", {}),
                    "target_accent": task.voice["target_accent"], "accent_fallback": task.voice["accent_fallback"],
                    "voice_licence": task.voice["licence"], "engine_licence": task.voice.get("engine_licence", ""),
                    "gender": task.voice.get("gender"), "age_group": task.voice.get("age_group"),
                    "origin": task.voice.get("origin"), "source_sample_rate": sr, "attempts": attempt + 1,
                    "native_prosody": _native_prosody(backend, task), **reply_provenance(task),
                    **{k: task.voice[k] for k in ("age", "region", "description") if task.voice.get(k) is not None},
                },
            )
            return Outcome(id=task.id, record=clip, files=files)
        return Outcome(
            id=task.id,
            quarantined=Quarantined(id=task.id, stage=self.name, reason=reasons[-1],
                                    attempts=[{"reason": r} for r in reasons], input=task.model_dump(mode="json")),
        )


def speech_path(clip_id: str) -> str:
    """Where a voiced clip's clean speech waits for the acoustics stage (removed once the clip is placed)."""
    return Store.voiced_rel(clip_id)


def _native_prosody(backend: Any, task: VoiceTask) -> dict[str, Any]:
    """The backend's own parameters for this clip's prosody (eSpeak wpm/pitch, Kokoro speed/blend...)."""
    native = getattr(backend, "native_prosody", None)
    return native(task.voice, task.prosody) if native else {}


