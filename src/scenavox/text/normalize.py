"""Text normalization for matching slot values against what was written or heard.

Two forms. `normalize()` (text checks, dedup, the judge) compares numbers as words. `canonical()`
(QA: WER, CER, entity recall) compares them as digit strings, so that a digit string keeps its
boundaries and its leading zeros: "910,420" == "910 420" == "nine one zero four two zero" ==
"nine hundred ten thousand four hundred twenty" == "910420", but "770 8600" != "778600".

In `normalize()`, numbers are compared as words ("21" == "twenty-one" == "twenty one"), case and
punctuation are ignored, "7:30" reads as "seven thirty", "3rd" as "third", the titles
and street words recognizers like to abbreviate read in full ("Dr. Patel" == "Doctor Patel"),
and British spellings read as American ones ("harbour" == "harbor": Whisper writes either).

Both forms read a clock time said in words as the written time: "half past two in the afternoon" ==
"two thirty pm" == "2:30 pm" == "2.30 pm" == "14:30"; "quarter to three" == "2:45"; "noon" == "12 pm". A unit
abbreviation after a number reads as its word: "20GB" == "20 gigabytes", "500 mg" == "500 milligrams".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

from num2words import num2words

_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_AMPM = re.compile(r"\b([ap])\.?\s?m\b\.?", re.IGNORECASE)
# "St." is left alone: saint or street.
_ABBREV = {"dr": "doctor", "mr": "mister", "mrs": "missus", "prof": "professor", "ave": "avenue", "rd": "road",
           "blvd": "boulevard", "hwy": "highway", "mt": "mount"}
_ABBREV_RE = re.compile(r"\b(" + "|".join(_ABBREV) + r")\b\.?", re.IGNORECASE)
POSSESSIVE = re.compile(r"(\w)['\u2019]s\b", re.IGNORECASE)
_TYPOGRAPHIC = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def plain_quotes(text: str) -> str:
    """Typographic apostrophes and quotes as plain ones, one character for one. The checks and the judge's
    rules spell "don't", "I'll": "I don’t know how to navigate to the airport, can you explain it to me?"
    passed a car build as a request."""
    return text.translate(_TYPOGRAPHIC)


# --- clock times said in words -> "H:MM [am|pm]" ---------------------------------
_HOURS = ("one two three four five six seven eight nine ten eleven twelve").split()
_HOUR = r"(1[0-2]|[1-9]|" + "|".join(_HOURS) + r")"
_PAST = re.compile(r"\b(half|quarter|twenty|ten|five|twenty[- ]five) past " + _HOUR + r"\b")
_TO = re.compile(r"\b(quarter|twenty|ten|five|twenty[- ]five) to " + _HOUR + r"\b")
_MINUTES = {"half": 30, "quarter": 15, "twenty": 20, "ten": 10, "five": 5, "twenty five": 25, "twenty-five": 25}
# "in the morning" after a time ("nine in the morning", "7:30 in the evening") is am / pm
_TIME_WORD = r"(?:\d{1,2}(?::\d{2})?|" + "|".join(_HOURS) + r"|(?:thirteen|fourteen|fifteen|sixteen|seventeen|" \
             r"eighteen|nineteen|twenty|thirty|forty|fifty)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?)"
_DAYPART = re.compile(r"\b(" + _TIME_WORD + r")\s+(?:o'?clock\s+)?(in the morning|in the afternoon|in the evening|"
                      r"at night)\b")
_DOT_CLOCK = re.compile(r"\b(1[0-2]|0?[1-9])\.([0-5]\d)(?=\s*[ap]\.?\s?m\b)")  # British "2.30 pm"
_H24 = re.compile(r"\b(1[3-9]|2[0-3]):([0-5]\d)\b")


def _hour(word: str) -> int:
    return int(word) if word.isdigit() else _HOURS.index(word) + 1


def _clock_times(text: str) -> str:
    """Lower-case text with spoken clock times written as clock times, so that both ways of saying one
    compare equal (see the module docstring)."""
    text = re.sub(r"\b(noon|midday)\b", "12 pm", text)
    text = re.sub(r"\bmidnight\b", "12 am", text)
    text = _PAST.sub(lambda m: f"{_hour(m.group(2))}:{_MINUTES[m.group(1)]:02d}", text)
    text = _TO.sub(lambda m: f"{(_hour(m.group(2)) + 10) % 12 + 1}:{60 - _MINUTES[m.group(1)]:02d}", text)
    text = _DAYPART.sub(lambda m: f"{m.group(1)} {'am' if m.group(2).endswith('morning') else 'pm'}", text)
    text = _DOT_CLOCK.sub(lambda m: f"{int(m.group(1))}:{m.group(2)}", text)
    return _H24.sub(lambda m: f"{int(m.group(1)) - 12}:{m.group(2)} pm", text)


def _num_words(match: re.Match[str]) -> str:
    token = match.group(0)
    try:
        return " " + num2words(float(token) if "." in token else int(token), lang="en") + " "
    except (OverflowError, ValueError, NotImplementedError):
        return f" {token} "


@cache
def _spelling() -> dict[str, str]:
    # Whisper's own British-to-American table (about 1700 words), shipped in whisper-normalizer
    from whisper_normalizer.english import EnglishSpellingNormalizer

    return EnglishSpellingNormalizer().mapping


def _fold(text: str) -> str:
    """NFKC, lower case, and Latin letters without their accents ("Beyoncé" == "Beyonce": writers and
    recognizers spell names either way). Marks on other scripts stay: a Devanagari vowel sign is a letter."""
    text = unicodedata.normalize("NFKC", text).lower()
    if text.isascii():
        return text
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch) and out and "a" <= out[-1] <= "z":
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


# Unit abbreviations after a number, as recognizers write them ("20GB", "500 mg"), read as the words
# a writer uses: otherwise a dose or a data allowance heard right counts as lost.
_UNITS = {"gb": "gigabyte", "mb": "megabyte", "kb": "kilobyte", "tb": "terabyte", "mg": "milligram",
          "ml": "milliliter", "kg": "kilogram", "km": "kilometer", "cm": "centimeter", "mm": "millimeter"}
_UNIT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(_UNITS) + r")\b")


def _units(text: str) -> str:
    return _UNIT_RE.sub(lambda m: f"{m.group(1)} {_UNITS[m.group(2)]}{'' if m.group(1) == '1' else 's'}", text)


def _common(text: str) -> str:
    """The steps both forms share: case, accents, units, %, &, abbreviations, am/pm, clock times ("7:30"
    -> "7 30")."""
    text = _units(_fold(text))
    text = text.replace("%", " percent ").replace("&", " and ")
    text = _ABBREV_RE.sub(lambda m: " " + _ABBREV[m.group(1).lower()] + " ", text)
    text = _AMPM.sub(lambda m: f" {m.group(1)}m ", text)
    text = _clock_times(text)
    return _CLOCK.sub(lambda m: f"{m.group(1)} {'' if m.group(2) == '00' else m.group(2)}", text)


def normalize(text: str) -> str:
    text = _common(text)
    text = _ORDINAL.sub(lambda m: " " + num2words(int(m.group(1)), lang="en", to="ordinal") + " ", text)
    text = _NUMBER.sub(_num_words, text)
    text = re.sub(r"o'clock|oclock", " ", text)
    text = re.sub(r"[^\w\s']|_", " ", text).replace("'", "")
    text = text.replace(" and ", " ")  # "one hundred and five" == "one hundred five"
    spelling = _spelling()
    return " ".join(spelling.get(w, w) for w in text.split())


def contains(haystack: str, needle: str, norm: Callable[[str], str] | None = None) -> bool:
    """Whether needle's words appear, in order and adjacent, in haystack (both normalized by `norm`,
    normalize() by default). A possessive names the same thing: "Adele's new song" contains "Adele"."""
    norm = norm or normalize
    n = norm(needle)
    if not n:
        return False
    if f" {n} " in f" {norm(haystack)} ":
        return True
    bare = POSSESSIVE.sub(r"\1", haystack)
    return bare != haystack and f" {n} " in f" {norm(bare)} "


def missing_slots(utterance: str, slots: dict[str, str]) -> list[str]:
    return [name for name, value in slots.items() if not contains(utterance, value)]


# --- canonical(): numbers as digit strings (QA) ------------------------------------
# Thousands separators in English (910,420) and other locales' style (910.420); a leading
# non-zero group of one to three digits and then groups of exactly three, so "2.5" stays a decimal.
_THOUSANDS = re.compile(r"(?<![\d.,])([1-9]\d{0,2})((?:,\d{3})+(?!\d|,\d)|(?:\.\d{3})+(?!\d|[.,]\d))")
_NUMERAL = re.compile(r"^\d+(?:\.\d+)?$")
_A_MULTIPLIER = re.compile(r"\ba (hundred|thousand|million)\b")
_CURRENCY = {"$": "dollars", "\u00a3": "pounds", "\u20ac": "euros"}
_CURRENCY_RE = re.compile(r"([$\u00a3\u20ac])(\d+(?:\.\d+)?)")


@cache
def _number_words() -> object:
    # Whisper's own English number normalizer ("twenty one" -> 21, "oh two" -> 02, "double five" -> 55),
    # shipped in whisper-normalizer. It is only given words: on numerals it drops leading zeros ("0207"
    # -> "207") and writes a lone 1 as "one", so numerals are kept out of it.
    from whisper_normalizer.english import EnglishNumberNormalizer

    return EnglishNumberNormalizer()


def _words_to_digits(words: list[str]) -> list[str]:
    if not words:
        return []
    out = str(_number_words()(" ".join(words)))  # type: ignore[operator]
    out = out.replace("%", " percent ")
    out = _CURRENCY_RE.sub(lambda m: f"{m.group(2)} {_CURRENCY[m.group(1)]}", out)
    return out.split()


def canonical(text: str) -> str:
    """normalize() with numbers as digit strings: every number, said or written, becomes its digits, and
    adjacent numbers join into one ("571 490", "five seven one, four nine zero" -> "571490"). A lone
    "one" reads as 1 ("1 ticket" == "one ticket")."""
    text = _common(text)
    text = _THOUSANDS.sub(lambda m: m.group(1) + re.sub(r"[.,]", "", m.group(2)), text)
    text = re.sub(r"o'clock|oclock", " ", text)
    text = _A_MULTIPLIER.sub(r"one \1", text)
    text = re.sub(r"(\d)(?!(?:st|nd|rd|th)\b)([a-z])", r"\1 \2", text)  # "5mg" -> "5 mg"; "3rd" stays
    text = re.sub(r"([a-z])(\d)", r"\1 \2", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # a dot between digits is a decimal point
    text = re.sub(r"[^\w\s'.$\u00a3\u20ac]|_", " ", text).replace("'", "")
    tokens: list[str] = []
    words: list[str] = []
    for tok in text.split():
        if _NUMERAL.match(tok):
            tokens += _words_to_digits(words) + [tok]
            words = []
        else:
            words.append(tok)
    tokens += _words_to_digits(words)
    out: list[str] = []
    for tok in tokens:
        tok = "1" if tok == "one" else tok.strip("$\u00a3\u20ac.")
        tok = re.sub(r"^one\.(?=\d)", "1.", tok)  # Whisper's "one point five" -> "one.5"
        if not tok:
            continue
        if tok.isdigit() and out and out[-1].isdigit():
            out[-1] += tok  # adjacent numbers are one digit string: "770 8600" -> "7708600"
        else:
            out.append(tok)
    spelling = _spelling()
    return " ".join(spelling.get(w, w) for w in out if w != "and")


def contains_canonical(haystack: str, needle: str) -> bool:
    """contains() on canonical(): a digit string matches only the same digits, whole."""
    return contains(haystack, needle, canonical)
