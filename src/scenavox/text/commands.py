"""Command-first sampling: the code picks intent and slot values, the LLM only writes words.

Item i depends only on (scenario, seed, i), never on n, so growing a corpus from 200 to
400 items keeps the first 200. Intents follow the target mix by smooth weighted
round-robin (every prefix is within one item of the exact shares); each slot walks a
seeded shuffle of its values, so every listed value is used before any repeats. Identifier sources
(digits, pattern, phone) and number ranges of more than SAMPLE_ABOVE values are not enumerated: the
k-th draw is a seeded permutation of the value space at k (a Feistel network), so draws never repeat
before the space is used up. A slot with depends_on walks its own shuffle per value of its parent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from functools import lru_cache
from pathlib import Path

from ..records import Command, TextTask, content_id
from ..sampling import SmoothWeightedRoundRobin
from ..scenario import Intent, Scenario, SlotSource, file_values, normalized, pattern_parts
from . import spoken as _spoken

SAMPLE_ABOVE = 100_000  # number ranges with more values are sampled, not listed


def _rng(*parts: object) -> random.Random:
    return random.Random(content_id(*parts, length=16))


def slot_values(src: SlotSource, scenario: Scenario, context: dict[str, str] | None = None) -> list[str]:
    """The values a slot takes. A sampled source gives a sample (its first draws); a dependent one the
    values allowed with its parent's value in context, or all of them."""
    if sampled(src):
        return [_sampled_value(src, ("hint",), k) for k in range(min(20, _space(src)))]
    if isinstance(src.values, dict):
        parent = (context or {}).get(str(src.depends_on))
        if parent in src.values:
            return [str(v).strip() for v in src.values[parent]]
        return list(dict.fromkeys(str(v).strip() for vals in src.values.values() for v in vals))
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


def sampled(src: SlotSource) -> bool:
    return src.format is not None or (src.number is not None and src.number.count > SAMPLE_ABOVE)


def _space(src: SlotSource) -> int:
    if src.number is not None:
        return src.number.count
    size = 1
    for chars, placeholder in pattern_parts(str(src.format)):
        size *= len(chars) if placeholder else 1
    return size


def _value_at(src: SlotSource, index: int) -> str:
    if src.number is not None:
        unit = f" {src.number.unit}" if src.number.unit else ""
        return f"{src.number.min + index * src.number.step}{unit}"
    out = []
    for chars, placeholder in reversed(pattern_parts(str(src.format))):
        if placeholder:
            index, pos = divmod(index, len(chars))
            out.append(chars[pos])
        else:
            out.append(chars)
    return "".join(reversed(out))


def _permute(i: int, n: int, key: str) -> int:
    """A seeded bijection of range(n): a four-round Feistel network on the smallest even bit width,
    walked until it lands inside range(n) (cycle walking)."""
    half = max(1, ((n - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    x = i
    while True:
        left, right = x >> half, x & mask
        for r in range(4):
            f = int.from_bytes(hashlib.sha256(f"{key}|{r}|{right}".encode()).digest()[:8], "big") & mask
            left, right = right, left ^ f
        x = (left << half) | right
        if x < n:
            return x


def _sampled_value(src: SlotSource, key: tuple, occurrence: int) -> str:
    """The occurrence-th draw: no repeats until all values of the space have been drawn."""
    n = _space(src)
    epoch, pos = divmod(occurrence, n)
    return _value_at(src, _permute(pos, n, content_id(*key, epoch)))


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
    openings = scenario.text.openings
    tasks = []
    for i in range(n):
        intent: Intent = scenario.intents[sched.next()]
        k = seen.get(intent.name, 0)
        seen[intent.name] = k + 1
        rng = _rng("item", seed, i)
        slots: dict[str, str] = {}
        for slot in intent.slot_order():  # declared order unless a slot depends on a later one
            src = intent.slots[slot]
            if src.optional and rng.random() < 0.5:
                continue
            key = ("slot", seed, intent.name, slot)
            if src.depends_on is not None:
                parent = slots.get(src.depends_on)
                if parent is None:  # the parent was left out: so is its dependent
                    continue
                count_key = f"{intent.name}\0{slot}\0{parent}"
                seen[count_key] = seen.get(count_key, -1) + 1
                slots[slot] = _deck_value(slot_values(src, scenario, slots), (*key, parent), seen[count_key])
            elif sampled(src):
                slots[slot] = _sampled_value(src, key, k)
            else:
                slots[slot] = _deck_value(slot_values(src, scenario), key, k)
        slots = {s: slots[s] for s in intent.slots if s in slots}
        forms = _forms(intent, slots, seed, i)
        persona = rng.choices(persona_names, weights=persona_w)[0] if persona_names else ""
        style = rng.choice(scenario.styles) if scenario.styles else ""
        command = Command(intent=intent.name, slots=slots)
        task_seed = rng.randrange(2**31)
        # its own random stream: the other draws stay as they were
        opening = _rng("opening", seed, i).choice(openings) if openings else ""
        tid = content_id("text", fp, extra_fingerprint, seed, i, command.model_dump(), persona, style,
                         *([forms] if forms else []), *([opening] if opening else []))
        tasks.append(TextTask(id=tid, index=i, command=command, persona=persona, style=style, seed=task_seed,
                              forms=forms, opening=opening))
    return tasks


def _forms(intent: Intent, slots: dict[str, str], seed: int, i: int) -> dict[str, str]:
    """How each slot with a spoken form is said in item i: drawn by the slot's weights among the forms its
    value has (a leading zero has no cardinal reading). Its own random stream: other draws stay as they were."""
    out = {}
    for slot, value in slots.items():
        weights = intent.slots[slot].spoken_weights()
        if not weights:
            continue
        if "any" in weights:
            out[slot] = "any"
            continue
        options = {f: w for f, w in weights.items() if _spoken.possible(value, f)}
        if not options:
            options = {"digits": 1.0}
        rng = _rng("spoken", seed, i, intent.name, slot)
        out[slot] = rng.choices(list(options), weights=list(options.values()))[0]
    return out


def prompt_slots(task: TextTask, slots: dict[str, str] | None = None) -> dict[str, str]:
    """The slots as the prompt shows them: a slot with a spoken form as the words to say and how."""
    slots = task.command.slots if slots is None else slots
    return {k: (_spoken.hint(v, task.forms[k]) if task.forms.get(k, "any") != "any" else v) for k, v in slots.items()}
