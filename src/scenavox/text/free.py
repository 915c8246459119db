"""Free mode (text.mode: free): the LLM writes the command too.

The planner still picks an intent per item (so intents keep their target shares), but the
model chooses the slot values, may pick another declared intent, and answers
{"intent", "slots", "utterance", "reply"}. The record's command is what the model returned,
after checks a command-first item never needs: the intent is declared, every slot belongs to
it, every required slot is filled, and every value is said in the utterance. For strong models:
a small one invents values badly and its items are set aside with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import UserError
from ..records import Command, TextTask
from ..scenario import Intent, Scenario, SlotSource
from .answers import MAX_CHARS, parse_answer
from .checks import check_texts
from .commands import slot_values


def answer_schema(scenario: Scenario) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": [i.name for i in scenario.intents]},
            "slots": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 60}},
            "utterance": {"type": "string", "minLength": 2, "maxLength": MAX_CHARS},
            "reply": {"type": "string", "minLength": 2, "maxLength": MAX_CHARS},
        },
        "required": ["intent", "slots", "utterance", "reply"],
    }


def slot_hint(src: SlotSource, scenario: Scenario) -> str:
    """What kind of value a slot takes, in a few words, for the system prompt."""
    if src.number is not None:
        unit = f" {src.number.unit}" if src.number.unit else ""
        return f"a number from {src.number.min} to {src.number.max}{unit}"
    values = slot_values(src, scenario)
    kind = "a date" if src.date is not None else "a time" if src.time is not None else "a value"
    shown = ", ".join(values[:4]) + (", ..." if len(values) > 4 else "")
    return f"{kind} like {shown}"


def slot_hints(scenario: Scenario) -> dict[str, dict[str, str]]:
    return {i.name: {s: slot_hint(src, scenario) + (" (optional)" if src.optional else "") for s, src in i.slots.items()}
            for i in scenario.intents}


def check_command(data: dict[str, Any], intents: dict[str, Intent]) -> tuple[Command | None, str]:
    intent = str(data.get("intent", "")).strip()
    if intent not in intents:
        return None, f"intent {intent!r} is not declared ({', '.join(intents)})"
    raw_slots = data.get("slots") or {}
    if not isinstance(raw_slots, dict):
        return None, "slots is not a JSON object"
    declared = intents[intent].slots
    unknown = sorted(set(raw_slots) - set(declared))
    if unknown:
        return None, f"slot(s) {', '.join(unknown)} do not belong to intent {intent}"
    slots = {str(k): str(v).strip() for k, v in raw_slots.items() if v is not None and str(v).strip()}
    missing = [s for s, src in declared.items() if not src.optional and s not in slots]
    if missing:
        return None, f"required slot(s) {', '.join(missing)} of intent {intent} are not filled"
    return Command(intent=intent, slots=slots), ""


def check_free_answer(raw: str, intents: dict[str, Intent], min_words: int, max_words: int,
                      languages: list[str] | None = None, max_chars: int = MAX_CHARS
                      ) -> tuple[dict[str, Any] | None, str]:
    """(fields with a "command", "") or (None, reason). max_chars: the utterance's cap (text.max_chars)."""
    data, reason = parse_answer(raw)
    if data is None:
        return None, reason
    command, reason = check_command(data, intents)
    if command is None:
        return None, reason
    fields, reason = check_texts(data, command.slots, min_words, max_words, languages, max_chars=max_chars)
    if fields is None:
        return None, reason
    return {**fields, "command": command}, ""


class FreePrompts:
    """The macros system_free(scenario, hints) and request_free(intent, persona, style) of the
    scenario's template; the few-shot examples answer with their whole command."""

    def __init__(self, base: Any):  # base: the stage's PromptBuilder (template, intents, fingerprint)
        self.base = base
        module = base.module
        if not hasattr(module, "system_free") or not hasattr(module, "request_free"):
            raise UserError(f"{base.path}: text.mode free needs the template macros system_free(scenario, hints) "
                            "and request_free(intent, persona, style); see prompts/templates/triple.j2")
        sc = base.scenario
        msgs = [{"role": "system", "content": str(module.system_free(sc, slot_hints(sc))).strip()}]
        for ex in sc.examples:
            msgs.append({"role": "user", "content": self._request(ex.intent)})
            msgs.append({"role": "assistant", "content": json.dumps(
                {"intent": ex.intent, "slots": ex.slots, "utterance": ex.utterance, "reply": ex.reply})})
        self.prefix = msgs

    def _request(self, intent: str, persona: str = "", style: str = "") -> str:
        return str(self.base.module.request_free(self.base.intents[intent], persona, style)).strip()

    def messages(self, task: TextTask) -> list[dict[str, str]]:
        return [*self.prefix, {"role": "user", "content": self._request(task.command.intent, task.persona,
                                                                         task.style)}]
