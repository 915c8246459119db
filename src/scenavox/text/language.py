"""Is a generated sentence in one of the scenario's languages?

Two tests, cheapest first:
1. Script. Each language is written in a script (Han for zh/yue, Hangul for ko, Cyrillic for
   ru ...). A sentence whose letters are mostly in a script none of the allowed languages use is
   wrong, whatever a classifier says; one mostly in Han passes for zh/yue (Mandarin and Cantonese
   share the script, and this check does not tell them apart).
2. Within Latin script: py3langid (its naive Bayes model ships inside the package, no download),
   its probabilities renormalised over the allowed languages plus the major languages a model
   may drift into. Short sentences are mostly names and numbers and carry little signal, so:
   slot values are removed first, fewer than MIN_WORDS remaining words always pass, and a
   sentence fails only when another language beats every allowed one by MARGIN.

Code-switching ("Hola, can I get 2 tacos?" in an English scenario) passes as long as the
allowed language still leads; a scenario whose speakers really mix two languages lists both.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

MIN_WORDS = 3
MARGIN = 0.5
MIN_LETTERS = 4

# The script of each language we expect to meet; anything not listed is written in Latin.
SCRIPT_OF = {
    "zh": "HAN", "yue": "HAN", "cmn": "HAN", "wuu": "HAN", "hak": "HAN", "nan": "HAN", "lzh": "HAN",
    "ja": "JAPANESE", "ko": "HANGUL",
    "ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "sr": "CYRILLIC", "mk": "CYRILLIC", "be": "CYRILLIC",
    "kk": "CYRILLIC", "mn": "CYRILLIC",
    "ar": "ARABIC", "fa": "ARABIC", "ur": "ARABIC", "ps": "ARABIC",
    "hi": "DEVANAGARI", "mr": "DEVANAGARI", "ne": "DEVANAGARI",
    "el": "GREEK", "he": "HEBREW", "th": "THAI", "ka": "GEORGIAN", "hy": "ARMENIAN",
    "bn": "BENGALI", "ta": "TAMIL", "te": "TELUGU", "gu": "GUJARATI", "kn": "KANNADA", "ml": "MALAYALAM",
}
# A language to name in the reason when a sentence is in a script no allowed language uses.
LANGUAGE_OF_SCRIPT = {"HAN": "zh", "JAPANESE": "ja", "HANGUL": "ko", "CYRILLIC": "ru", "ARABIC": "ar",
                      "DEVANAGARI": "hi", "GREEK": "el", "HEBREW": "he", "THAI": "th", "GEORGIAN": "ka",
                      "ARMENIAN": "hy", "BENGALI": "bn", "TAMIL": "ta", "TELUGU": "te", "GUJARATI": "gu",
                      "KANNADA": "kn", "MALAYALAM": "ml", "LATIN": "en"}
# Latin-script languages a model drifts into; a sentence in a rarer one is not worth the false alarms
# the classifier gives on short English commands (Creoles, Frisian, Luxembourgish ...).
LATIN_RIVALS = ("en", "es", "fr", "de", "it", "pt", "nl", "pl", "tr", "id", "vi", "sv", "ro", "cs")


def base_language(tag: str) -> str:
    code = tag.split("-")[0].lower()
    return "zh" if code == "cmn" else code


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    first = name.split()[0]
    if first == "CJK":
        return "HAN"
    if first in ("HIRAGANA", "KATAKANA"):
        return "JAPANESE"
    return first


def script_counts(text: str) -> Counter[str]:
    return Counter(s for s in map(_script, text) if s)


def strip_values(text: str, values: Iterable[str]) -> str:
    """The text without the slot values (longest first, any case): what the model wrote around them."""
    for v in sorted((v for v in values if v), key=len, reverse=True):
        text = re.sub(re.escape(v), " ", text, flags=re.IGNORECASE)
    return text


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> Any:
    try:
        from py3langid.langid import _load_identifier
    except ImportError:
        from ..errors import UserError

        raise UserError("the language check needs py3langid (pip install py3langid), or set "
                        "text.check_language: false") from None
    return _load_identifier(norm_probs=True)


def identifier() -> Any:
    with _lock:  # one load per process, whichever thread asks first
        return _identifier()


def detect_language(text: str, allowed: set[str], slot_values: Iterable[str] = ()) -> str | None:
    """None when text may be in an allowed language (base codes such as en, zh); otherwise the
    language it is in."""
    allowed = {base_language(a) for a in allowed}
    text = strip_values(text, slot_values)
    counts = script_counts(text)
    letters = sum(counts.values())
    if letters < MIN_LETTERS:
        return None
    allowed_scripts = {SCRIPT_OF.get(a, "LATIN") for a in allowed}
    if "JAPANESE" in allowed_scripts:
        allowed_scripts.add("HAN")  # kanji
    script = counts.most_common(1)[0][0]
    if script == "HAN" and counts.get("JAPANESE", 0) > 0:
        script = "JAPANESE"  # kanji with kana is Japanese, not Chinese
    in_allowed = sum(c for s, c in counts.items() if s in allowed_scripts)
    if in_allowed >= letters / 2:
        if script != "LATIN" or "LATIN" not in allowed_scripts:
            return None
        return _latin_language(text, {a for a in allowed if SCRIPT_OF.get(a, "LATIN") == "LATIN"})
    if script in allowed_scripts:  # mixed scripts, none in the majority: undecided
        return None
    if script == "LATIN":
        return _latin_language(text, set()) or "en"
    return LANGUAGE_OF_SCRIPT.get(script, script.lower())


def _latin_language(text: str, allowed: set[str]) -> str | None:
    words = re.findall(r"[^\W\d_]+", text)
    if len(words) < MIN_WORDS:
        return None
    ident = identifier()
    labels = set(ident.nb_classes)
    candidates = (set(LATIN_RIVALS) | allowed) & labels
    if allowed and not (allowed & labels):
        return None  # the classifier does not know the allowed language: it cannot judge
    probs = {lang: p for lang, p in ident.rank(" ".join(words)) if lang in candidates}
    total = sum(probs.values()) or 1.0
    best = max(probs, key=probs.__getitem__)
    if best in allowed:
        return None
    best_allowed = max((probs.get(a, 0.0) for a in allowed), default=0.0)
    return best if (probs[best] - best_allowed) / total >= MARGIN else None


def language_problem(text: str, languages: Iterable[str], slot_values: Iterable[str] = (),
                     what: str = "utterance") -> str:
    """"" when text passes, else a reason such as "utterance language es, expected en"."""
    allowed = sorted({base_language(x) for x in languages})
    found = detect_language(text, set(allowed), slot_values)
    if found is None:
        return ""
    return f"{what} language {found}, expected {' or '.join(allowed)}"
