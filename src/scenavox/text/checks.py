"""The checks every answer's utterance and reply must pass, whoever chose the command (the planner,
or the model in free mode): here, so that the text stage and free mode share them without importing
each other."""

from __future__ import annotations

import re
from typing import Any

from .answers import MAX_CHARS
from .language import language_problem
from .normalize import missing_slots, normalize
from .spoken import HINTS, forms_said, say


def check_texts(
    data: dict[str, Any], slots: dict[str, str], min_words: int, max_words: int, languages: list[str] | None = None,
    forms: dict[str, str] | None = None,
) -> tuple[dict[str, str] | None, str]:
    """The checks every answer's utterance and reply must pass, whoever chose the command.
    forms: slot -> the form its value must be said in (digits, cardinal, grouped; text/spoken.py)."""
    utt = request_only(str(data.get("utterance", "")).strip(), slots, forms or {})
    reply = str(data.get("reply", "")).strip()
    if not utt or not reply:
        return None, "utterance or reply is empty"
    if not any(ch.isalpha() for ch in reply):
        return None, "reply has no words"
    words = len(utt.split())
    if words < min_words or words > max_words:
        return None, f"utterance has {words} words; allowed {min_words}-{max_words}"
    for name, text in (("utterance", utt), ("reply", reply)):
        if len(text) >= MAX_CHARS:  # the schema's cap: constrained decoding cut the sentence off there
            return None, f"{name} was cut off at {MAX_CHARS} characters"
    forms = forms or {}
    missing = missing_slots(utt, {k: v for k, v in slots.items() if k not in forms})
    if missing:
        vals = ", ".join(f"{m}={slots[m]!r}" for m in missing)
        return None, f"utterance lacks slot value(s) {vals}"
    problem = form_problem(utt, {k: v for k, v in slots.items() if k in forms}, forms)
    if problem:
        return None, problem
    if normalize(utt) == normalize(reply):
        return None, "utterance and reply are the same"
    for name, text in (("utterance", utt), ("reply", reply)):
        if _repetitive(text):
            return None, f"{name} repeats itself"
    if languages:
        for name, text in (("utterance", utt), ("reply", reply)):
            problem = language_problem(text, languages, slots.values(), what=name)
            if problem:
                return None, problem
    return {"utterance": utt, "reply": reply}, ""


def form_problem(utterance: str, slots: dict[str, str], forms: dict[str, str]) -> str:
    """"" when every slot value is said in its form; else the reason."""
    low = utterance.lower()
    for hint in HINTS.values():
        if hint in low:  # the prompt's note copied into the words: it would be voiced
            return f"utterance copies the prompt's note '{hint}'"
    for name, value in slots.items():
        said = forms_said(utterance, value)
        if not said:
            how = f" ({HINTS[forms[name]]}: {say(value, forms[name])})" if forms[name] in HINTS else ""
            return f"utterance lacks slot value {name}={value!r}{how}"
        if forms[name] == "any":
            continue
        if forms[name] not in said:
            return f"slot {name}={value!r} is {' / '.join(HINTS[f] for f in sorted(said))}, not {HINTS[forms[name]]}"
    return ""


def _repetitive(text: str) -> bool:
    """A small model sometimes loops ("He's a doctor here. He's a doctor here."): catch it."""
    words = normalize(text).split()
    grams = [tuple(words[k : k + 3]) for k in range(len(words) - 2)]
    return len(grams) >= 4 and len(set(grams)) / len(grams) < 0.75


_SENTENCE_END = re.compile(r"(?<=[.?!])[\s,]+(?=\S)")


def request_only(utt: str, slots: dict[str, str], forms: dict[str, str]) -> str:
    """The utterance up to the sentence that completes its command; what a small model rambles on
    with after it ("Call Mom for me. I'm calling you today.") is cut. Read by a person, a quarter of
    the bundled model's accepted car utterances carried such a tail, which the voice would speak and
    an intent model would learn from. An utterance whose command is not complete stays whole (the
    checks below then refuse it); one without slots stays whole too (nothing marks its end)."""
    if not slots:
        return utt
    parts = _SENTENCE_END.split(utt)
    plain = {n: v for n, v in slots.items() if n not in forms}
    formed = {n: v for n, v in slots.items() if n in forms}
    for k in range(1, len(parts)):
        head = " ".join(parts[:k])
        if not missing_slots(head, plain) and not form_problem(head, formed, forms):
            return head
    return utt
