"""Command-first sampling: the code picks intent and slot values, the LLM only writes words.

Item i depends only on (scenario, seed, i), never on n, so growing a corpus from 200 to
400 items keeps the first 200. Intents follow the target mix by smooth weighted
round-robin (every prefix is within one item of the exact shares); each slot walks a
seeded shuffle of its values, so every listed value is used before any repeats.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache
from pathlib import Path

from ..records import Command, TextTask, content_id
from ..sampling import SmoothWeightedRoundRobin
from ..scenario import Intent, Scenario, SlotSource, file_values, normalized


def _rng(*parts: object) -> random.Random:
    return random.Random(content_id(*parts, length=16))


def slot_values(src: SlotSource, scenario: Scenario) -> list[str]:
    if src.file is not None:
        # only a file inside the scenario's folder or an allowed one, and only text (Scenario.text_file)
        return list(_file_values(scenario.text_file(src.file, "slot file")))
    return list(_slot_values(src.model_dump_json()))


@lru_cache(maxsize=256)
def _file_values(path: Path) -> tuple[str, ...]:
    return tuple(file_values(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=256)
def _slot_values(src_json: str) -> tuple[str, ...]:
    src = SlotSource.model_validate_json(src_json)
    if src.values is not None:
        return tuple(str(v).strip() for v in src.values)
    if src.number is not None:
        nums = range(src.number.min, src.number.max + 1, src.number.step)
        unit = f" {src.number.unit}" if src.number.unit else ""
        return tuple(f"{n}{unit}" for n in nums)
    if src.date is not None:
        days = (src.date.end - src.date.start).days
        return tuple(_spoken_date(src.date.start + dt.timedelta(days=d)) for d in range(days + 1))
    if src.time is not None:
        h0, m0 = map(int, src.time.start.split(":"))
        h1, m1 = map(int, src.time.end.split(":"))
        out = []
        for minute in range(h0 * 60 + m0, h1 * 60 + m1 + 1, src.time.step_minutes):
            out.append(_spoken_time(minute // 60, minute % 60))
        return tuple(out)
    raise ValueError("slot source has no values")  # unreachable: validated by the model


def _ordinal_suffix(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _spoken_date(d: dt.date) -> str:
    return f"{d.strftime('%B')} {d.day}{_ordinal_suffix(d.day)}"


def _spoken_time(h: int, m: int) -> str:
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    return f"{h12} {suffix}" if m == 0 else f"{h12}:{m:02d} {suffix}"


def _deck_value(values: list[str], key: tuple, occurrence: int) -> str:
    """The occurrence-th draw from an endless sequence of seeded shuffles of values."""
    epoch, pos = divmod(occurrence, len(values))
    deck = list(values)
    _rng(*key, epoch).shuffle(deck)
    return deck[pos]


def plan_commands(scenario: Scenario, n: int, seed: int, extra_fingerprint: str = "") -> list[TextTask]:
    """extra_fingerprint: anything else that shapes the text (e.g. the prompt template's hash)."""
    sched = SmoothWeightedRoundRobin(scenario.intent_weights)
    seen: dict[str, int] = {}
    persona_names = [p.name for p in scenario.personas]
    persona_w = [p.weight for p in scenario.personas]
    fp = scenario.fingerprint("description", "intents", "personas", "styles", "examples", "text", "languages")
    tasks = []
    for i in range(n):
        intent: Intent = scenario.intents[sched.next()]
        k = seen.get(intent.name, 0)
        seen[intent.name] = k + 1
        rng = _rng("item", seed, i)
        slots: dict[str, str] = {}
        for slot, src in intent.slots.items():
            if src.optional and rng.random() < 0.5:
                continue
            slots[slot] = _deck_value(slot_values(src, scenario), ("slot", seed, intent.name, slot), k)
        persona = rng.choices(persona_names, weights=persona_w)[0] if persona_names else ""
        style = rng.choice(scenario.styles) if scenario.styles else ""
        command = Command(intent=intent.name, slots=slots)
        task_seed = rng.randrange(2**31)
        tid = content_id("text", fp, extra_fingerprint, seed, i, command.model_dump(), persona, style)
        tasks.append(TextTask(id=tid, index=i, command=command, persona=persona, style=style, seed=task_seed))
    return tasks
