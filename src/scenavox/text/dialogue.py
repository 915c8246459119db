"""Multi-turn planning: item indices grouped into dialogues, each user turn with its own command.

The layout index -> (dialogue, turn) is drawn dialogue by dialogue from rngs keyed by the
dialogue number, so it is prefix-stable (it does not depend on n) like the one-turn plan.
Every turn is still one text item written on its own (no dependency on another turn's
generated words), so items stay parallel and resumable; the prompt is told the turn kind and
the previous turn's command instead.

Turn kinds: `first`; `follow_up` (a new planned command); `correction` (the previous command
with one slot value changed: "no, make it 22 degrees"). barge_in mode marks turns that cut
into the assistant's previous reply; hand_over mode switches to the second speaker role at one
turn of the dialogue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from ..records import Command, DialogueTurn, TextTask, content_id
from ..scenario import RhythmMode, Scenario
from .commands import _rng, plan_commands, prompt_slots, slot_values

CORRECTION_SHARE = 0.35  # of the turns after the first, when the previous command has a slot to change
BARGE_IN_SHARE = 0.5  # barge_in mode: of the turns after the first (at least one per dialogue)


@dataclass(frozen=True)
class TurnSlot:
    dialogue: int
    turn: int
    n_turns: int


def is_dialogue(scenario: Scenario) -> bool:
    return scenario.interaction_rhythm.mode != RhythmMode.one_turn


def layout(scenario: Scenario, seed: int, n: int) -> list[TurnSlot]:
    """(dialogue, turn, turns in that dialogue) for item indices 0..n-1."""
    r = scenario.interaction_rhythm
    out: list[TurnSlot] = []
    d = 0
    while len(out) < n:
        k = _rng("dialogue-turns", seed, d).randint(r.min_turns, r.max_turns)
        out += [TurnSlot(d, j, k) for j in range(k)]
        d += 1
    return out[:n]


def plan_tasks(scenario: Scenario, n: int, seed: int, extra_fingerprint: str = "") -> list[TextTask]:
    """The text plan: plan_commands() for one_turn scenarios (unchanged), dialogue turns otherwise."""
    base = plan_commands(scenario, n, seed, extra_fingerprint=extra_fingerprint)
    if not is_dialogue(scenario):
        return base
    r = scenario.interaction_rhythm
    mode = r.mode
    intents = {i.name: i for i in scenario.intents}
    turn_fp = turn_template()[1]  # the dialogue prompt shapes the text: part of every turn's id
    out: list[TextTask] = []
    first: TextTask | None = None
    hand_over_at = 0
    persona_of: dict[int, str] = {}
    barged = False
    for task, ts in zip(base, layout(scenario, seed, n)):
        if ts.turn == 0:
            first, barged, persona_of = task, False, {}
            hand_over_at = (_rng("hand-over", seed, ts.dialogue).randint(1, ts.n_turns - 1)
                            if mode == RhythmMode.hand_over and ts.n_turns >= 2 else ts.n_turns)
        assert first is not None
        rng = _rng("turn", seed, ts.dialogue, ts.turn)
        prev = out[-1].command if ts.turn > 0 else None
        command, kind, changed = task.command, "first", []
        if prev is not None:
            kind = "follow_up"
            if rng.random() < CORRECTION_SHARE:
                fixed = _correct(prev, intents[prev.intent].slots, scenario, rng)
                if fixed is not None:
                    command, changed, kind = fixed[0], [fixed[1]], "correction"
        barge = False
        if mode == RhythmMode.barge_in and ts.turn > 0:
            barge = rng.random() < BARGE_IN_SHARE or (ts.turn == ts.n_turns - 1 and not barged)
            barged = barged or barge
        who = 1 if ts.turn >= hand_over_at else 0
        # one persona per speaker: the planned persona of the turn where that speaker starts
        persona = persona_of.setdefault(who, task.persona)
        turn = DialogueTurn(
            id=content_id("dialogue", first.id), number=ts.dialogue, turn=ts.turn, n_turns=ts.n_turns, kind=kind,
            barge_in=barge, speaker=r.speakers[who], speaker_index=who, previous=prev, changed=changed,
        )
        tid = content_id("text-turn", task.id, turn_fp, command.model_dump(), persona, turn.model_dump(mode="json"))
        # text.openings are for one-turn items: a turn's prompt says what kind of turn it is
        out.append(task.model_copy(update={"id": tid, "command": command, "persona": persona, "dialogue": turn,
                                           "opening": ""}))
    return out


def _correct(prev: Command, sources: dict, scenario: Scenario, rng) -> tuple[Command, str] | None:  # noqa: ANN001
    """The previous command with one of its slots set to another value (None: nothing to change)."""
    options = []
    parents = {s.depends_on for s in sources.values() if s.depends_on}
    for slot, value in prev.slots.items():
        src = sources.get(slot)
        if slot in parents:  # another drug would leave the dose of the previous one
            continue
        values = slot_values(src, scenario, prev.slots) if src is not None else []
        if any(v != value for v in values):
            options.append((slot, values))
    if not options:
        return None
    slot, values = options[rng.randrange(len(options))]
    # a nearby value reads like a real correction ("22 degrees", not "16") when values are ordered
    pos = values.index(prev.slots[slot]) if prev.slots[slot] in values else 0
    near = [v for v in values[max(0, pos - 2) : pos + 3] if v != prev.slots[slot]]
    near = near or [v for v in values if v != prev.slots[slot]]
    new = near[rng.randrange(len(near))]
    return Command(intent=prev.intent, slots={**prev.slots, slot: new}), slot


def spoken_slots(task: TextTask) -> dict[str, str]:
    """The slot values the user must say in this turn: a correction says only what changed."""
    d = task.dialogue
    if d is not None and d.kind == "correction":
        return {k: task.command.slots[k] for k in d.changed}
    return task.command.slots


def describe(command: Command | None) -> str:
    """A command as the prompt shows it: "set_temperature (temperature: 20 degrees)"."""
    if command is None:
        return ""
    slots = ", ".join(f"{k}: {v}" for k, v in command.slots.items())
    return f"{command.intent} ({slots})" if slots else command.intent


def turn_template() -> tuple[str, str]:
    """(source, fingerprint) of prompts/templates/turn.j2."""
    from ..scenario import prompts_dir

    src = (prompts_dir() / "templates" / "turn.j2").read_text(encoding="utf-8")
    return src, hashlib.sha256(src.encode()).hexdigest()[:12]


@lru_cache(maxsize=4)
def _turn_macro(source: str):  # noqa: ANN202
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    return env.from_string(source).module.turn


def dialogue_request(prompts, task: TextTask) -> str:  # noqa: ANN001 - a text.stage.PromptBuilder
    """The request for one dialogue turn: the command's request plus the turn() macro's text
    (the scenario's template's own turn() if it has one, else prompts/templates/turn.j2)."""
    module = prompts.module
    macro = getattr(module, "turn", None) or _turn_macro(turn_template()[0])
    shown = prompt_slots(task, spoken_slots(task))
    req = prompts._request(task.command.intent, shown, task.persona, task.style)
    new = " and ".join(shown.values()) if task.dialogue.kind == "correction" else ""
    extra = str(macro(task.dialogue, describe(task.dialogue.previous), new)).strip()
    return f"{req}\n{extra}" if extra else req
