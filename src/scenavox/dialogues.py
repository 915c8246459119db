"""Dialogue audio: the voiced turns of each complete dialogue laid out on one timeline.

user turn, gap, assistant reply (when replies are voiced), gap, next user turn ... with gaps
drawn in [MIN_GAP_S, MAX_GAP_S]; a barge-in turn starts before the reply it interrupts has
ended (overlap in [MIN_OVERLAP_S, MAX_OVERLAP_S]) and the two are mixed. The clean speech is
laid out first and the acoustics stage places the whole scene at once, as it places a single
clip (the user's noise and RIR folders included), so the noise bed runs on through the gaps
(and the device's reply is heard through the same room, as a microphone would hear it).
Without clean audio the clips are laid out as they are, in a clean scene.

A dialogue with a missing turn (set aside, removed as a duplicate, failed QA, or beyond the
corpus size) is not rendered; its good turns stay in the corpus as utterances. Everything is a
function of (scenario, seed, clips): a rerun writes the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from pydantic import Field

from .acoustics.stage import AcousticsStage
from .audio import encode_lossless, read_mono
from .records import Clip, Command, Record, SceneTask, Triple, content_id
from .stages import Outcome
from .store import Store

MIN_GAP_S, MAX_GAP_S = 0.2, 1.0
MIN_OVERLAP_S, MAX_OVERLAP_S = 0.3, 1.0
EDGE_S = 0.25  # silence (or noise) before the first and after the last word


class DialogueSegment(Record):
    role: str  # "user" or "assistant"
    speaker: str  # the user's role (e.g. driver) or "assistant"
    turn: int
    start_s: float
    end_s: float
    text: str
    clip_id: str
    voice_id: str
    kind: str = ""  # user turns: first | follow_up | correction
    barge_in: bool = False  # a user turn that starts while the reply before it is still playing
    overlap_s: float = 0.0
    command: Command | None = None  # user turns: the turn's own command


class Dialogue(Record):
    id: str
    audio_path: str
    sample_rate: int
    duration_s: float
    n_turns: int
    mode: str
    voiced_replies: bool
    segments: list[DialogueSegment]
    acoustics: dict[str, Any] = Field(default_factory=dict)


def complete_dialogues(clips: list[Clip], triples: dict[str, Triple]) -> list[list[tuple[Clip, Triple]]]:
    """The dialogues whose every turn is among `clips`, each as its turns in order."""
    by_dialogue: dict[str, dict[int, tuple[Clip, Triple]]] = defaultdict(dict)
    size: dict[str, int] = {}
    for c in clips:
        t = triples.get(c.triple_id)
        if t is None or t.dialogue is None:
            continue
        by_dialogue[t.dialogue.id][t.dialogue.turn] = (c, t)
        size[t.dialogue.id] = t.dialogue.n_turns
    out = [[turns[j] for j in range(size[d])] for d, turns in by_dialogue.items() if len(turns) == size[d]]
    return sorted(out, key=lambda turns: turns[0][1].dialogue.number)


def _load(store: Store, rel: str, sr: int) -> np.ndarray:
    return read_mono(store.file(rel), sr)[0]


def layout(store: Store, scenario: Any, seed: int, turns: list[tuple[Clip, Triple]]
           ) -> tuple[Dialogue, np.ndarray, bool]:
    """The dialogue's record (no acoustics yet), its turns mixed on one timeline, and whether they are the
    clean speech (then the scene's acoustics apply to the whole timeline)."""
    sr = scenario.audio.sample_rate
    first = turns[0][1].dialogue
    rng = np.random.default_rng(int(content_id("dialogue-audio", seed, first.id), 16) % 2**32)
    clean = all(c.clean_audio_path for c, _ in turns) and all(c.acoustics for c, _ in turns)
    pieces: list[tuple[int, np.ndarray]] = []
    segments: list[DialogueSegment] = []
    t = EDGE_S
    reply_span: tuple[float, float] | None = None  # the previous reply's (start, end)
    for c, tr in turns:
        d = tr.dialogue
        user = _load(store, c.clean_audio_path if clean else c.audio_path, sr)
        gap = float(rng.uniform(MIN_GAP_S, MAX_GAP_S))
        overlap = float(rng.uniform(MIN_OVERLAP_S, MAX_OVERLAP_S))
        start = t + gap if segments else t
        barge = bool(d.barge_in and reply_span is not None)
        if barge:  # cut in before the reply ends, but after it has begun
            rs, re_ = reply_span
            overlap = min(overlap, 0.8 * (re_ - rs))
            start = re_ - overlap
        start = round(start * sr) / sr
        pieces.append((round(start * sr), user))
        end = start + len(user) / sr
        segments.append(DialogueSegment(
            role="user", speaker=d.speaker, turn=d.turn, start_s=round(start, 4), end_s=round(end, 4), text=tr.utterance,
            clip_id=c.id, voice_id=c.voice_id, kind=d.kind, barge_in=barge, overlap_s=round(overlap, 4) if barge else 0.0,
            command=tr.command,
        ))
        t = max(end, reply_span[1]) if barge and reply_span else end
        reply_span = None
        if c.reply_audio_path:
            reply = _load(store, c.reply_audio_path, sr)
            rstart = round((t + float(rng.uniform(MIN_GAP_S, MAX_GAP_S))) * sr) / sr
            pieces.append((round(rstart * sr), reply))
            rend = rstart + len(reply) / sr
            segments.append(DialogueSegment(
                role="assistant", speaker="assistant", turn=d.turn, start_s=round(rstart, 4), end_s=round(rend, 4),
                text=tr.reply, clip_id=c.id, voice_id=c.reply_voice_id or "",
            ))
            reply_span = (rstart, rend)
            t = rend
    total = round((t + EDGE_S) * sr)
    x = np.zeros(total, np.float32)
    for at, y in pieces:
        x[at : at + len(y)] += y
    dia = Dialogue(
        id=first.id, audio_path=Store.dialogue_rel(first.id, scenario.audio.format), sample_rate=sr,
        duration_s=round(len(x) / sr, 4), n_turns=first.n_turns, mode=scenario.interaction_rhythm.mode.value,
        voiced_replies=any(c.reply_audio_path for c, _ in turns), segments=segments,
    )
    return dia, x, clean


def scene_task(dia: Dialogue, x: np.ndarray, scene: dict[str, Any] | None, seed: int, fmt: str) -> SceneTask:
    """The acoustics stage's task for a laid-out dialogue: `scene` is the clips' scene (VoiceTask.acoustics)."""
    return SceneTask(id=dia.id, speech=encode_lossless(x, dia.sample_rate), sample_rate=dia.sample_rate, format=fmt,
                     scene=scene, seed=int(content_id("dialogue-noise", seed, dia.id), 16) % 2**31,
                     audio_path=dia.audio_path)


Place = Callable[[Iterable[SceneTask]], Iterable[Outcome]]  # runs the acoustics stage over scene tasks


def write_dialogues(store: Store, scenario: Any, seed: int, clips: list[Clip], triples: dict[str, Triple],
                    scene: dict[str, Any] | None, place: Place | None = None) -> list[Dialogue]:
    """Render every complete dialogue to dialogues/<id>.<ext>, write dialogues.jsonl, drop stale files.

    `scene`: the scene the clips were placed in (VoiceTask.acoustics; None: acoustics off). `place` runs the
    acoustics stage over the scene tasks (an executor's map); by default here, in this process."""
    laid: dict[str, Dialogue] = {}

    def tasks() -> Iterator[SceneTask]:  # laid out as the stage asks for them: few scenes in memory at once
        for turns in complete_dialogues(clips, triples):
            dia, x, clean = layout(store, scenario, seed, turns)
            laid[dia.id] = dia
            yield scene_task(dia, x, scene if clean else None, seed, scenario.audio.format)

    placed: dict[str, Dialogue] = {}
    for outcome in (place or _place_here)(tasks()):
        if outcome.quarantined is not None:  # the same scene placed every turn already: a bug, not bad input
            raise RuntimeError(f"dialogue {outcome.id}: acoustics failed: {outcome.quarantined.reason}")
        for rel, data in outcome.files.items():
            store.put_bytes(rel, data)
        placed[outcome.id] = laid[outcome.id].model_copy(update={"acoustics": outcome.record.acoustics})
    out = [placed[d] for d in laid]  # in dialogue order, whatever order they were placed in
    keep = {d.audio_path.split("/")[-1] for d in out}
    folder = store.dialogues_dir
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and p.name not in keep:
                p.unlink(missing_ok=True)
    if out or store.file("dialogues.jsonl").exists():  # one-turn corpora get no empty manifest
        store.write_jsonl("dialogues.jsonl", out)
    return out


def _place_here(tasks: Iterable[SceneTask]) -> Iterator[Outcome]:
    stage = AcousticsStage()
    return (stage.run_one(t) for t in tasks)
