"""How a number or identifier is said: digits ("five seven one four nine zero"), cardinal ("five hundred
seventy-one thousand ..."), grouped ("fifty-seven, fourteen, ninety"). The planner tells the writer the form
(say()), and the text check accepts an utterance only if it says the value in an allowed form (forms_said())."""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

from .normalize import canonical, contains

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGIT = {w: str(k) for k, w in enumerate(DIGIT_WORDS)} | {"oh": "0", "o": "0"}
_TEENS = {w: 10 + k for k, w in enumerate(("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                                            "seventeen", "eighteen", "nineteen"))}
_TENS = {w: 20 + 10 * k for k, w in enumerate(("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                                                "ninety"))}
_MULT = {"hundred": 100, "thousand": 1000, "million": 10**6}
_REPEAT = {"double": 2, "triple": 3}
_NUMBER_WORDS = set(_DIGIT) | set(_TEENS) | set(_TENS) | set(_MULT) | set(_REPEAT) | {"and"}


def _groups(value: str) -> list[str]:
    """The value's runs of digits and letters, in order ("(555) 123-4567" -> 555, 123, 4567)."""
    return re.findall(r"\d+|[A-Za-z]+", value)


def numeric(value: str) -> tuple[str, str]:
    """(the digits a form applies to, the rest): "500 mg" -> ("500", "mg"); an identifier keeps its letters."""
    m = re.match(r"^\s*([\d,]+)\s*(.*)$", value)
    if m and not re.search(r"\d", m.group(2)):
        return m.group(1).replace(",", ""), m.group(2).strip()
    return value, ""


def possible(value: str, form: str) -> bool:
    """A value with a leading zero or letters has no cardinal reading; a single digit is not grouped."""
    num, _ = numeric(value)
    digits = "".join(g for g in _groups(num) if g.isdigit())
    if form == "cardinal":
        return num.isdigit() and not (len(num) > 1 and num.startswith("0"))
    if form == "grouped":
        return len(digits) >= 3 and _form_of(_tokens(say(num, "grouped"))) == "grouped"
    return bool(digits)


def _say_digits(run: str) -> str:
    return " ".join(DIGIT_WORDS[int(c)] if c.isdigit() else c.upper() for c in run)


def _say_group(run: str) -> str:
    """One group as people say groups: "57" fifty-seven, "571" five seventy-one, "4567" forty-five sixty-seven,
    a leading zero as "oh"."""
    if not run.isdigit():
        return _say_digits(run)
    if run.startswith("0"):
        return "oh " + _say_group(run[1:]) if len(run) > 1 else "oh"
    if len(run) <= 2:
        return num2words(int(run))
    if len(run) == 3:
        return f"{DIGIT_WORDS[int(run[0])]} {_say_group(run[1:])}"
    head = len(run) % 2 or 2
    return f"{_say_group(run[:head])} {_say_group(run[head:])}"


def _split_plain(run: str) -> list[str]:
    """An undelimited digit run in groups of two (three first when odd): 571490 -> 57 14 90."""
    if len(run) <= 3:
        return [run]
    head = 3 if len(run) % 2 else 2
    return [run[:head], *_split_plain(run[head:])] if len(run) - head >= 2 else [run]


def say(value: str, form: str) -> str:
    """The words of value in a form, for the prompt."""
    num, rest = numeric(value)
    if form == "cardinal":
        words = num2words(int(num)).replace(",", "")
    else:
        runs = _groups(num)
        if form == "grouped" and len(runs) == 1 and runs[0].isdigit():
            runs = _split_plain(runs[0])
        words = ", ".join(_say_digits(r) if form == "digits" or not r.isdigit() else _say_group(r) for r in runs)
    return f"{words} {rest}".strip()


HINTS = {"digits": "said digit by digit", "cardinal": "said as one number", "grouped": "said in groups"}


def hint(value: str, form: str) -> str:
    """The slot as the prompt shows it: the words to say, then how they are said. A cardinal stays a
    numeral: a small model copies it as it is, and speech synthesis reads a numeral as one number."""
    return value if form == "cardinal" else f"{say(value, form)} ({HINTS[form]})"


# --- which form an utterance uses ------------------------------------------------------
def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 571,490 is one numeral (read as one number)
    text = re.sub(r"(\d)([a-z])|([a-z])(\d)", lambda m: " ".join(g for g in m.groups() if g), text)
    return re.sub(r"[^\w\s]|_", " ", text).split()


def _is_number_token(tok: str) -> bool:
    return tok.isdigit() or tok in _NUMBER_WORDS or (len(tok) == 1 and tok.isalpha())


def _numberish(tok: str) -> bool:
    """A word that would continue a number (not a letter of a code, not "and")."""
    return tok.isdigit() or (tok in _NUMBER_WORDS and tok != "and")


def _cardinal(tokens: list[str]) -> int | None:
    """A strict reading of tokens as ONE cardinal number ("five hundred seventy one thousand four hundred
    ninety"); None when they are several numbers ("fifty seven fourteen ninety", "five seven one")."""
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0])
    total, current, last = 0, 0, None  # last: the kind of the previous word
    for tok in tokens:
        if tok == "and":
            if last not in ("hundred", "thousand"):
                return None
            continue
        if tok in _MULT:
            if last in (None, "and"):
                return None
            if tok == "hundred":
                if current % 100 == 0 or current >= 100:
                    return None
                current *= 100
                last = "hundred"
            else:
                total, current, last = total + current * _MULT[tok], 0, "thousand"
            continue
        if tok in _DIGIT and tok not in ("oh", "o"):
            if last in ("ones", "teens"):
                return None
            current, last = current + int(_DIGIT[tok]), "ones"
        elif tok in _TEENS:
            if last in ("ones", "teens", "tens"):
                return None
            current, last = current + _TEENS[tok], "teens"
        elif tok in _TENS:
            if last in ("ones", "teens", "tens"):
                return None
            current, last = current + _TENS[tok], "tens"
        else:
            return None
    return total + current if last is not None else None


def _form_of(tokens: list[str]) -> str:
    words = [t for t in tokens if not (len(t) == 1 and t.isalpha() and t not in ("o",))]
    if all((t in _DIGIT or t in _REPEAT or (t.isdigit() and len(t) == 1)) for t in words):
        return "digits"
    if _cardinal(words) is not None:
        return "cardinal"
    return "grouped"


def forms_said(utterance: str, value: str) -> set[str]:
    """The forms in which utterance says value's number: every run of number words and numerals whose
    digits (canonical()) are the value's, classified as digits, cardinal or grouped. Empty: not said."""
    num, rest = numeric(value)
    if rest and not contains(utterance, rest):
        return set()
    want = canonical(num).replace(" ", "")
    toks = _tokens(utterance)
    found: set[str] = set()
    runs, cur = [], []
    for t in toks:
        if _is_number_token(t):
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    for run in runs:
        for a in range(len(run)):
            for b in range(len(run), a, -1):
                span = run[a:b]
                if span[0] in ("and",) or span[-1] in ("and", "double", "triple"):
                    continue
                # a longer number is another value: "five seven one four nine zero zero" does not say 571490
                if (a > 0 and _numberish(run[a - 1])) or (b < len(run) and _numberish(run[b])):
                    continue
                if canonical(" ".join(span)).replace(" ", "") == want:
                    found.add(_form_of(span))
    return found
