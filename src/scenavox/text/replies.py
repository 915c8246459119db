"""Scenario-declared replies (`intents[].replies`): the assistant's words for a command, filled from its
slot values, used instead of the model's reply where an intent declares them.

Why: the bundled 135M model writes a reply that does not fit its command three times in four (car,
tests/data/audit), and the judge finds too few of them. A template is faithful by construction; it is
also less varied, which matters less for the device's own voice than for the user's words.
"""

from __future__ import annotations

import string

from ..scenario import Scenario


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


class ReplyTemplates:
    def __init__(self, scenario: Scenario):
        self.by_intent = {i.name: list(i.replies) for i in scenario.intents if i.replies}
        # the model may skip writing replies only where every intent always has a template it can fill:
        # one that uses required slots only (an optional slot may be absent from a command)
        self.always = bool(scenario.intents) and all(
            any(_fields(t) <= {k for k, s in i.slots.items() if not s.optional} for t in (i.replies or []))
            for i in scenario.intents)

    def reply(self, intent: str, slots: dict[str, str], seed: int) -> str | None:
        """One of the intent's templates that this command's slots fill (chosen by seed), or None."""
        usable = [t for t in self.by_intent.get(intent, []) if _fields(t) <= set(slots)]
        if not usable:
            return None
        return usable[seed % len(usable)].format(**slots)
