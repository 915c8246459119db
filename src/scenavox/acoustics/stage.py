"""The acoustics stage: clean speech in, the same speech heard in the scenario's scene out.

One code path for a single clip and for a dialogue's turns laid out on one timeline
(dialogues.py): noise at the scenario's SNR, reverberation, channel, with the user's noise and
RIR folders, then one peak limiter, then encoding. The scene's random draws come from the
task's seed only, so placing the same speech twice gives the same bytes.

The clean speech arrives as float32 samples (SceneTask.speech), exactly as the voice stage made
it: placing a 16-bit copy instead would move the noisy audio by a rounding step.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ..audio import encode, read_mono
from ..errors import UserError
from ..records import Clip, Placed, SceneTask, VoiceTask
from ..stages import Outcome, Resources, Stage
from ..store import Store
from .core import limit_peak
from .presets import AcousticSources, apply_acoustics, build_preset


def clip_scene(task: VoiceTask, speech: bytes) -> SceneTask:
    """The scene task of a voiced clip: its planned scene, seed and corpus paths."""
    scene = task.acoustics
    keep_clean = scene is not None and scene.get("keep_clean", True)
    return SceneTask(
        id=task.id, speech=speech, sample_rate=task.sample_rate, format=task.format, scene=scene,
        seed=task.clip_seed(),
        audio_path=Store.audio_rel(task.id, task.format),
        clean_path=Store.clean_rel(task.id, task.format) if keep_clean else None,
    )


def placed_clip(clip: Clip, placed: Placed) -> Clip:
    """The voiced (clean) clip record completed with where its audio went and the scene's parameters."""
    return clip.model_copy(update={"audio_path": placed.audio_path, "clean_audio_path": placed.clean_audio_path,
                                   "acoustics": placed.acoustics})


def sources(scene: dict[str, Any]) -> AcousticSources:
    """The user's noise and RIR folders of a scene (VoiceTask.acoustics)."""
    return AcousticSources(noise_dirs=tuple(scene.get("noise_dirs", ())), rir_dirs=tuple(scene.get("rir_dirs", ())),
                           user_noise_weight=scene.get("user_noise_weight", 0.5))


class AcousticsStage(Stage):
    name = "acoustics"

    def __init__(self, threads: int = 1):
        self.resources = Resources(cpus=threads, threads=threads)

    def process(self, task: SceneTask) -> Outcome:
        x, sr = read_mono(task.speech)
        if sr != task.sample_rate:
            raise ValueError(f"speech is at {sr} Hz, the scene at {task.sample_rate} Hz")
        params: dict[str, Any] = {}
        if task.scene is None:
            y, _ = limit_peak(x)  # overlapping dialogue turns can add up past full scale
        else:
            # the scenario's noise answer as the presets read it (environment, SNR range)
            noise, preset = SimpleNamespace(**task.scene["noise"]), task.scene.get("preset")
            src = sources(task.scene)
            try:  # lists the user's folders (cached): a missing or empty one is the scenario's fault, not the clip's
                build_preset(preset, noise, sources=src)
            except ValueError as exc:
                raise UserError(f"acoustics: {exc} (acoustics.noise_dirs / rir_dirs in the scenario)") from None
            # apply_acoustics ends with the same limiter and records its gain (output_gain_db)
            y, params = apply_acoustics(x, sr, noise, preset, task.seed, sources=src)
        files = {task.audio_path: encode(y, sr, task.format)}
        if task.clean_path is not None:
            files[task.clean_path] = encode(x, sr, task.format)
        record = Placed(id=task.id, audio_path=task.audio_path, clean_audio_path=task.clean_path, acoustics=params)
        return Outcome(id=task.id, record=record, files=files)
