"""Text normalization for matching slot values against what was written or heard.

Numbers are compared as words ("21" == "twenty-one" == "twenty one"), case and
punctuation are ignored, "7:30" reads as "seven thirty", "3rd" as "third", the titles
and street words recognizers like to abbreviate read in full ("Dr. Patel" == "Doctor Patel"),
and British spellings read as American ones ("harbour" == "harbor": Whisper writes either).
"""

from __future__ import annotations

import re
import unicodedata
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
_POSSESSIVE = re.compile(r"(\w)['\u2019]s\b", re.IGNORECASE)


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


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("%", " percent ").replace("&", " and ")
    text = _ABBREV_RE.sub(lambda m: " " + _ABBREV[m.group(1).lower()] + " ", text)
    text = _AMPM.sub(lambda m: f" {m.group(1)}m ", text)
    text = _CLOCK.sub(lambda m: f"{m.group(1)} {'' if m.group(2) == '00' else m.group(2)}", text)
    text = _ORDINAL.sub(lambda m: " " + num2words(int(m.group(1)), lang="en", to="ordinal") + " ", text)
    text = _NUMBER.sub(_num_words, text)
    text = re.sub(r"o'clock|oclock", " ", text)
    text = re.sub(r"[^\w\s']|_", " ", text).replace("'", "")
    text = text.replace(" and ", " ")  # "one hundred and five" == "one hundred five"
    spelling = _spelling()
    return " ".join(spelling.get(w, w) for w in text.split())


def contains(haystack: str, needle: str) -> bool:
    """Whether needle's words appear, in order and adjacent, in haystack (both normalized).
    A possessive names the same thing: "Adele's new song" contains "Adele"."""
    n = normalize(needle)
    if not n:
        return False
    if f" {n} " in f" {normalize(haystack)} ":
        return True
    bare = _POSSESSIVE.sub(r"\1", haystack)
    return bare != haystack and f" {n} " in f" {normalize(bare)} "


def missing_slots(utterance: str, slots: dict[str, str]) -> list[str]:
    return [name for name, value in slots.items() if not contains(utterance, value)]
