"""The Scenario: one YAML file answering six questions about a product situation.

The six questions (output form, interaction rhythm, environmental noise, languages and
accents, privacy and authorization, failure cost) each steer a stage; the remaining
sections (intents, personas, voices, acoustics, mix, qa, compliance, size) are declared
here so the file format stays stable while later stages fill them in.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Iterable, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_serializer,
                      model_validator)

from .errors import UserError
from .splits import SPLITS

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _check_weights(weights: list[float], what: str) -> None:
    """Weights are shares (sum 1) or percentages (sum 100); anything else is a typo."""
    total = sum(weights)
    if any(w < 0 for w in weights):
        raise ValueError(f"{what} weights must be >= 0")
    if total <= 0:
        raise ValueError(f"{what} weights sum to 0; give at least one positive weight")
    if not (abs(total - 1.0) <= 0.011 or abs(total - 100.0) <= 0.51):
        raise ValueError(
            f"{what} weights sum to {total:g}; give shares that sum to 1 or percentages that sum to 100"
        )


def normalized(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


# --- 1. output form ---------------------------------------------------------------
class OutputForm(str, Enum):
    text_only = "text_only"  # replies stay text; user turns are voiced
    voiced_replies = "voiced_replies"  # assistant replies are voiced as well
    both = "both"  # replies kept as text and voiced


# --- 2. interaction rhythm -------------------------------------------------------
class RhythmMode(str, Enum):
    one_turn = "one_turn"
    multi_turn = "multi_turn"
    barge_in = "barge_in"
    hand_over = "hand_over"


class InteractionRhythm(_Strict):
    mode: RhythmMode = RhythmMode.one_turn
    min_turns: int = Field(1, ge=1, le=20)
    max_turns: int = Field(1, ge=1, le=20)
    # hand_over: who speaks first and who takes over (e.g. [driver, passenger]); told to the LLM
    speakers: list[str] = Field(default_factory=lambda: ["user", "other user"], min_length=2, max_length=2)

    @model_validator(mode="after")
    def _turns(self) -> "InteractionRhythm":
        if self.min_turns > self.max_turns:
            raise ValueError("min_turns must be <= max_turns")
        if self.mode == RhythmMode.one_turn and self.max_turns != 1:
            raise ValueError("mode one_turn needs max_turns 1; use multi_turn for dialogues")
        if self.mode == RhythmMode.hand_over and self.max_turns < 2:
            raise ValueError("mode hand_over needs max_turns >= 2 (one turn per speaker at least)")
        if any(not s.strip() for s in self.speakers) or self.speakers[0] == self.speakers[1]:
            raise ValueError("speakers must be two different, non-empty roles such as [driver, passenger]")
        return self


# --- 3. environmental noise ------------------------------------------------------
class Environment(str, Enum):
    quiet_indoor = "quiet_indoor"
    vehicle_cabin = "vehicle_cabin"
    outdoor_street = "outdoor_street"
    cafe = "cafe"
    stall = "stall"
    factory = "factory"


class Noise(_Strict):
    environment: Environment = Environment.quiet_indoor
    min_snr_db: float = Field(20.0, ge=-10, le=60)
    max_snr_db: float = Field(30.0, ge=-10, le=60)
    description: str = ""

    @model_validator(mode="after")
    def _range(self) -> "Noise":
        if self.min_snr_db > self.max_snr_db:
            raise ValueError("min_snr_db must be <= max_snr_db")
        return self


# --- 4. languages and accents ----------------------------------------------------
# private-use subtags after -x- (en-GB-x-north) name accents no registered subtag covers
BCP47_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*(-x(-[A-Za-z0-9]{1,8})+)?$")


class Accent(_Strict):
    accent: str = Field(description="BCP-47 tag with region or variant, e.g. en-US, en-GB-scotland")
    weight: float = Field(gt=0)

    @field_validator("accent")
    @classmethod
    def _tag(cls, v: str) -> str:
        if not BCP47_RE.match(v):
            raise ValueError(f"'{v}' is not a BCP-47 tag such as en-US or en-GB-scotland")
        return v


class Language(_Strict):
    language: str = Field(description="BCP-47 language, e.g. en, zh, yue")
    weight: float = Field(gt=0)
    accents: list[Accent] = Field(default_factory=list)

    @field_validator("language")
    @classmethod
    def _tag(cls, v: str) -> str:
        if not BCP47_RE.match(v):
            raise ValueError(f"'{v}' is not a BCP-47 language tag such as en or zh")
        return v

    @model_validator(mode="after")
    def _accents(self) -> "Language":
        if self.accents:
            _check_weights([a.weight for a in self.accents], "accent")
            for a in self.accents:
                if a.accent.split("-")[0] != self.language.split("-")[0]:
                    raise ValueError(f"accent {a.accent} does not belong to language {self.language}")
        return self


# --- 5. privacy and authorization ------------------------------------------------
class Privacy(_Strict):
    cloud_upload: bool = False  # may text or audio leave the machine (cloud LLM/TTS)?
    voice_cloning: bool = False  # may voices be cloned from reference clips (needs consent records)?
    children_data: bool = False  # does the situation involve children's speech?
    authorization: str = ""  # who authorized this corpus, under which agreement


# --- 6. failure cost -------------------------------------------------------------
class FailureCost(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


# --- intents, slots and value sources -------------------------------------------
class NumberSource(_Strict):
    min: int
    max: int
    step: int = Field(1, gt=0)
    unit: str = ""

    @model_validator(mode="after")
    def _range(self) -> "NumberSource":
        if self.min > self.max:
            raise ValueError("min must be <= max")
        return self

    @property
    def count(self) -> int:
        return (self.max - self.min) // self.step + 1


class DateSource(_Strict):
    start: _dt.date
    end: _dt.date

    @model_validator(mode="after")
    def _range(self) -> "DateSource":
        if self.start > self.end:
            raise ValueError("start must be on or before end")
        return self


class TimeSource(_Strict):
    start: str = "06:00"
    end: str = "22:00"
    step_minutes: int = Field(30, gt=0, le=720)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", str(v)):
            raise ValueError(f"'{v}' is not a 24-hour time like 07:30")
        return str(v)

    @model_validator(mode="after")
    def _range(self) -> "TimeSource":
        if self.start > self.end:
            raise ValueError("start must be before end")
        return self


# Identifier patterns: '#' a digit, 'N' a digit 1-9, 'A' a letter, 'X' a letter or digit, '\' keeps the next
# character as it is; anything else is literal. Letters leave out I and O: said or heard, they pass for 1 and 0.
PATTERN_CHOICES = {"#": "0123456789", "N": "123456789", "A": "ABCDEFGHJKLMNPQRSTUVWXYZ",
                   "X": "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"}
PHONE_FORMATS = {"us": "(N##) N##-####", "uk": "07### ######", "uk_landline": "0N## ### ####"}
SPOKEN_FORMS = ("digits", "cardinal", "grouped")
SpokenForm = Literal["digits", "cardinal", "grouped", "any"]


def pattern_parts(pattern: str) -> list[tuple[str, bool]]:
    """(characters, placeholder?) per position of an identifier pattern."""
    out, k = [], 0
    while k < len(pattern):
        ch = pattern[k]
        if ch == "\\" and k + 1 < len(pattern):
            out.append((pattern[k + 1], False))
            k += 2
            continue
        out.append((PATTERN_CHOICES[ch], True) if ch in PATTERN_CHOICES else (ch, False))
        k += 1
    return out


class SlotSource(_Strict):
    """Exactly one of: values (inline list, or with depends_on a list per parent value), file (one value per
    line), number, date, time, digits (an n-digit identifier), pattern (an identifier format), phone."""

    values: list[str] | dict[str, list[str]] | None = None
    file: str | None = None
    number: NumberSource | None = None
    date: DateSource | None = None
    time: TimeSource | None = None
    digits: int | None = Field(None, ge=1, le=30, description="an identifier of this many digits, the first not 0")
    pattern: str | None = Field(None, max_length=64, description=(
        "an identifier format: '#' a digit, 'N' a digit 1-9, 'A' a letter (no I or O), 'X' a letter or digit, "
        "'\\' keeps the next character; anything else is literal, e.g. 'AA-####'"))
    phone: str | None = Field(None, max_length=64, description=(
        "a phone number: us, uk (mobile), uk_landline, or a format as in pattern, e.g. '0### ### ####'"))
    depends_on: str | None = Field(None, description=(
        "another slot of the intent; values then maps each of its values to the values allowed with it"))
    spoken: SpokenForm | dict[Literal["digits", "cardinal", "grouped"], float] | None = Field(None, description=(
        "how a number or identifier is said: digits (one digit at a time), cardinal (one number), grouped "
        "(in groups, e.g. 'fifty-seven fourteen ninety'), any, or weights such as {digits: 0.7, grouped: 0.3}; "
        "identifiers default to digits"))
    optional: bool = False  # when true, about half the commands leave this slot out

    SOURCES: ClassVar[tuple[str, ...]] = ("values", "file", "number", "date", "time", "digits", "pattern", "phone")
    # Fields added after corpora existed: left out of dumps while unset, so scenario fingerprints (and
    # with them item ids) of existing corpora stay as they were.
    NEW_FIELDS: ClassVar[tuple[str, ...]] = ("digits", "pattern", "phone", "depends_on", "spoken")

    @field_validator("values", mode="before")
    @classmethod
    def _numbers_as_text(cls, v: Any) -> Any:
        """YAML reads `[500, 850]` as numbers; they are values like any other."""
        def text(x: Any) -> Any:
            return str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x

        if isinstance(v, list):
            return [text(x) for x in v]
        if isinstance(v, dict):
            return {str(k): [text(x) for x in xs] if isinstance(xs, list) else xs for k, xs in v.items()}
        return v

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for k in self.NEW_FIELDS:
            if data.get(k) is None:
                data.pop(k, None)
        return data

    @model_validator(mode="after")
    def _one(self) -> "SlotSource":
        given = [k for k in self.SOURCES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one value source: values, file, number, date, time, digits, pattern or phone"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if isinstance(self.values, dict):
            if self.depends_on is None:
                raise ValueError("values is a mapping; give depends_on with the slot whose values it maps")
            for parent, vals in self.values.items():
                if not vals or any(not str(v).strip() for v in vals):
                    raise ValueError(f"values for '{parent}' is empty or has an empty value")
        elif self.values is not None:
            if not self.values:
                raise ValueError("values is empty; list at least one value")
            if any(not str(v).strip() for v in self.values):
                raise ValueError("values contains an empty value")
        if self.depends_on is not None and not isinstance(self.values, dict):
            raise ValueError(f"depends_on needs values as a mapping from each value of '{self.depends_on}' "
                             "to the values allowed with it")
        if self.phone is not None and self.phone not in PHONE_FORMATS and not any(
                ph for _, ph in pattern_parts(self.phone)):
            raise ValueError(f"phone '{self.phone}' is neither {', '.join(PHONE_FORMATS)} nor a format with # digits")
        if self.pattern is not None and not any(ph for _, ph in pattern_parts(self.pattern)):
            raise ValueError(f"pattern '{self.pattern}' has no placeholder; use # (digit), N (1-9), A (letter), "
                             "X (letter or digit)")
        if self.spoken is not None and not (self.number is not None or self.identifier or self._numeric_values()):
            raise ValueError("spoken applies to number, digits, pattern and phone slots, and to values that all "
                             "start with a number (500 milligrams)")
        if isinstance(self.spoken, dict):
            _check_weights(list(self.spoken.values()), "spoken")
        return self

    def _numeric_values(self) -> bool:
        vals = self.values if isinstance(self.values, list) else [
            v for vs in (self.values or {}).values() for v in vs]
        return bool(vals) and all(re.match(r"^\s*\d", str(v)) for v in vals)

    @property
    def identifier(self) -> bool:
        return self.digits is not None or self.pattern is not None or self.phone is not None

    @property
    def format(self) -> str | None:
        """The identifier pattern (digits and phone included), or None for other sources."""
        if self.digits is not None:
            return "N" + "#" * (self.digits - 1)
        if self.phone is not None:
            return PHONE_FORMATS.get(self.phone, self.phone)
        return self.pattern

    @property
    def kind(self) -> str:
        """The slot type the report groups entity recall by: identifier, number, date, time or name."""
        if self.identifier:
            return "identifier"
        if self.number is not None or self._numeric_values():  # [500 milligrams, 850 milligrams] too
            return "number"
        return "date" if self.date is not None else "time" if self.time is not None else "name"

    def spoken_weights(self) -> dict[str, float]:
        """{form: share} of the forms this slot is said in; {"any": 1} = in any form, as the writer likes;
        {} = no spoken form (sources without one: the check compares numbers as words, as before)."""
        spoken = self.spoken if self.spoken is not None else ("digits" if self.identifier else None)
        if spoken is None:
            return {}
        if isinstance(spoken, str):
            return {spoken: 1.0}
        return dict(zip(spoken, normalized(list(spoken.values()))))


class Intent(_Strict):
    name: str
    description: str = ""
    weight: float | None = Field(None, ge=0)
    slots: dict[str, SlotSource] = Field(default_factory=dict)
    # the assistant's replies for this intent, with {slot} fields ("Calling {contact} now."): when
    # given, the text stage uses one of them instead of the model's reply (faithful by construction,
    # less varied: README "Replies")
    replies: list[str] | None = None

    @model_validator(mode="after")
    def _reply_fields(self) -> "Intent":
        import string

        for r in self.replies or []:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(r) if f is not None]
            except ValueError as exc:
                raise ValueError(f"replies: {r!r} is not a reply template ({exc}); write slots as {{name}}") from None
            bad = [f for f in fields if f not in self.slots]
            if bad:
                raise ValueError(f"replies: {r!r} names {{{bad[0]}}}, which is not a slot of intent "
                                 f"'{self.name}'; use one of: {', '.join(self.slots) or '(no slots)'}")
        return self

    @field_validator("name")
    @classmethod
    def _ident(cls, v: str) -> str:
        if not IDENT_RE.match(v):
            raise ValueError(f"'{v}' is not an identifier (letters, digits, underscore)")
        return v

    @field_validator("slots")
    @classmethod
    def _slot_names(cls, v: dict[str, SlotSource]) -> dict[str, SlotSource]:
        for k in v:
            if not IDENT_RE.match(k):
                raise ValueError(f"slot name '{k}' is not an identifier (letters, digits, underscore)")
        _check_dependencies(v)
        return v

    def slot_order(self) -> list[str]:
        """Slot names with every parent before the slots that depend on it (declared order otherwise)."""
        order: list[str] = []
        while len(order) < len(self.slots):
            for name, src in self.slots.items():
                if name not in order and (src.depends_on is None or src.depends_on in order):
                    order.append(name)
        return order


def _check_dependencies(slots: dict[str, SlotSource]) -> None:
    """depends_on names another slot of the intent, with an inline value list (checked here) or a file
    (checked at load), the mapping covers exactly the parent's values, and there is no cycle."""
    for name, src in slots.items():
        parent = src.depends_on
        if parent is None:
            continue
        where = f"{name}.depends_on"
        if parent == name or parent not in slots:
            raise ValueError(f"{where}: '{parent}' is not another slot of this intent ({', '.join(slots)})")
        psrc = slots[parent]
        if psrc.values is None and psrc.file is None:
            raise ValueError(f"{where}: '{parent}' must take its values from a list (values or file)")
        if isinstance(psrc.values, list):
            _check_mapping(name, parent, [str(v).strip() for v in psrc.values], src.values)  # type: ignore[arg-type]
        seen, cur = [name], parent
        while cur is not None:
            if cur in seen:
                raise ValueError(f"{where}: depends_on forms a cycle ({' -> '.join([*seen, cur])})")
            seen.append(cur)
            cur = slots[cur].depends_on if cur in slots else None


def _check_mapping(name: str, parent: str, parent_values: list[str], mapping: dict[str, list[str]]) -> None:
    missing = [v for v in parent_values if v not in mapping]
    if missing:
        raise ValueError(f"{name}.values: no values for {parent} {', '.join(repr(m) for m in missing)}; "
                         f"map every value of {parent} to the values allowed with it")
    extra = [k for k in mapping if k not in parent_values]
    if extra:
        raise ValueError(f"{name}.values: {', '.join(repr(e) for e in extra)} is not a value of {parent}")


class Persona(_Strict):
    name: str
    description: str = ""
    weight: float = Field(1.0, gt=0)


class Example(_Strict):
    intent: str
    slots: dict[str, str] = Field(default_factory=dict)
    utterance: str = Field(min_length=1)
    reply: str = Field(min_length=1)


# --- stage sections ---------------------------------------------------------------
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class Price(_Strict):
    """Prices per million tokens, for the cost line of the run summary."""

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return round(prompt_tokens / 1e6 * self.input_per_mtok + completion_tokens / 1e6 * self.output_per_mtok, 6)


class JudgeConfig(_Strict):
    """text.judge: the faithfulness gate (text/judge/). Thresholds are the judge's minimum probability
    that the utterance asks for its command (and that the reply confirms it); None = the preset of
    the scenario's failure_cost (text/judge/thresholds.py)."""

    # None: on for every text backend but `fake` (a fixed pattern for orchestration tests: nothing to judge)
    enabled: bool | None = None
    min_utterance: float | None = Field(None, ge=0, le=1)
    min_reply: float | None = Field(None, ge=0, le=1)
    check_reply: bool | None = None  # None: judge replies only where the scenario voices them


class TextConfig(_Strict):
    # a name in the text backend registry (text/backends/__init__.py), checked by the text stage and
    # `scenavox validate`; `scenavox schema` lists the registered names (the scenario knows no stage)
    backend: str = "local"
    # local: GGUF path (None = the bundled SmolLM2); openai: the model name the server serves;
    # transformers: a local model folder or a hub name (None = the bundled SmolLM2 GGUF)
    model: str | None = None
    # command_first: the code plans intent and slot values, the LLM writes the words;
    # free: the LLM also picks the slot values (and may pick another declared intent) - for strong models
    mode: Literal["command_first", "free"] = "command_first"
    check_language: bool = True  # utterance and reply must be in one of the scenario's languages
    # 0.8: on car (300 items, bench/text_quality.py) the bundled 135M model repeats itself less than
    # at 0.4 (16% of valid items exact copies of another for the same command, against 32%) for
    # about the same validity after retries (95.3% against 96.3%): fewer items wasted, more variety
    temperature: float = Field(0.8, ge=0, le=2)
    max_tokens: int = Field(120, ge=16, le=2048)
    max_attempts: int = Field(4, ge=1, le=20)
    min_words: int = Field(2, ge=1)
    max_words: int = Field(30, ge=1)
    # The utterance's length cap in characters (the answer schema's maxLength): constrained decoding stops the
    # utterance there, and one cut there with no complete request before the cut is turned away. A candidate
    # runs as long as it writes, and an attempt as long as its longest candidate: a cap that suits the
    # scenario's requests (short commands in a car) ends the rambling ones early. At most 110 (the reply's cap).
    max_chars: int = Field(110, ge=16, le=110)
    template: str | None = None  # path to a Jinja2 template; None = prompts/templates/triple.j2
    # --- openai backend (any OpenAI-compatible server: OpenAI, vLLM, SGLang, llama.cpp, Ollama)
    base_url: str | None = None  # None = $OPENAI_BASE_URL, else https://api.openai.com/v1
    api_key_env: str = "OPENAI_API_KEY"  # the NAME of the variable holding the key; the key is never stored
    # json_schema: OpenAI, vLLM, SGLang; json_object (+schema): the llama.cpp server; none: parse and validate
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    concurrency: int = Field(8, ge=1, le=512)  # requests in flight at once
    request_timeout_s: float = Field(60.0, gt=0, le=3600)
    max_retries: int = Field(6, ge=0, le=50)  # per request, on 429 / 5xx / timeouts / connection errors
    price: Price | None = None  # per million tokens; None = no cost line
    # --- transformers backend
    gguf_file: str | None = None  # a .gguf file name inside `model` (transformers dequantizes it on load)
    device: str = "auto"  # auto (cuda when available, else cpu), cpu, cuda, cuda:N, mps
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # auto: bfloat16 on cuda, float32 elsewhere
    # --- dedup: within one command, drop utterances equal (after normalization) or this similar
    # (rapidfuzz ratio, 0..1; 1.0 = exact copies only) to an earlier one, before voicing
    dedup: bool = True
    dedup_threshold: float = Field(0.95, ge=0.5, le=1.0)
    # ... and drop an utterance whose wording (slot values masked) already makes up this share of its
    # intent's kept items (3 items always allowed), while the judge is on: a small model says "Take me to
    # X, please." for a third of its navigation requests otherwise. 1.0 = no cap.
    max_wording_share: float = Field(0.15, gt=0.0, le=1.0)
    # --- faithfulness: the judge gates every item; each attempt asks for `candidates` answers and
    # keeps the best-judged one not worded like the scenario's examples (text/stage.py)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    candidates: int = Field(3, ge=1, le=16)  # per attempt, while the judge is on (else 1)
    # How many of each intent's examples the shared prompt prefix shows (in file order; None: all). The item's
    # own-intent example still comes right before its request. A small local model pays for every prefix token
    # at every token it writes; see prompts/car.yaml for what a short prefix measured.
    prefix_examples: int | None = Field(None, ge=1, le=50)
    # How an utterance may begin ("Can you", "Hey,", "I'd like to"; "" leaves it to the model): one is
    # drawn per one-turn item, seeded. The prompt asks for it, and the local backend writes the answer
    # from it, so a small model cannot fall back on its favourite wording: without them the bundled
    # model said "Set the temperature to X." or "Take me to X, please." for a third of an intent.
    openings: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("openings")
    @classmethod
    def _openings(cls, v: list[str]) -> list[str]:
        for o in v:
            if len(o) > 60 or any(c in o for c in '"\\\n\r\t') or o != o.strip():
                raise ValueError(f"opening {o!r}: at most 60 characters, no quotes, backslashes, line breaks "
                                 "or surrounding spaces")
        return v

    def judged(self, backend: str | None = None) -> bool:
        """Whether the judge gates this scenario's items with this backend (None: text.backend)."""
        on = self.judge.enabled
        return (backend or self.backend) != "fake" if on is None else on

    # Settings that change how answers are fetched or which are kept, never what an answer says: they
    # stay out of item ids (a rerun with another concurrency, server address or key reuses every item).
    NOT_IN_ID: ClassVar[frozenset[str]] = frozenset(
        {"base_url", "api_key_env", "concurrency", "request_timeout_s", "max_retries", "price", "dedup",
         "dedup_threshold", "max_wording_share", "device"}
    )
    # Settings added after corpora existed: left out of item ids while at their default, so those
    # corpora keep their ids (and a rerun reuses their items).
    ID_IF_SET: ClassVar[frozenset[str]] = frozenset({"mode", "check_language", "gguf_file", "dtype",
                                                     "prefix_examples", "max_chars"})

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import urlsplit

        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{v}' is not an http(s) URL such as http://127.0.0.1:8000/v1")
        return v.strip()

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.match(r"^(auto|cpu|mps|cuda(:\d+)?)$", v):
            raise ValueError(f"'{v}' is not a device; use auto, cpu, cuda, cuda:N or mps")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str) -> str:
        if v.startswith(("sk-", "sk_")) or not ENV_VAR_RE.match(v):
            raise ValueError(
                "give the NAME of an environment variable that holds the API key (e.g. OPENAI_API_KEY), "
                "never the key itself"
            )
        return v

    @model_validator(mode="after")
    def _words(self) -> "TextConfig":
        if self.min_words > self.max_words:
            raise ValueError("min_words must be <= max_words")
        return self

    def identity(self) -> dict[str, Any]:
        """What shapes the answers (part of item ids): everything but NOT_IN_ID."""
        skip = set(self.NOT_IN_ID)
        if self.backend != "openai":
            skip.add("structured_output")  # only the openai backend reads it; keeps other ids unchanged
        skip.update(k for k in self.ID_IF_SET if getattr(self, k) == type(self).model_fields[k].default)
        # added with the judge: out of ids at their defaults (a judged item's id carries the judge's
        # version through the prompt fingerprint, text/stage.py), so unjudged corpora keep their ids
        if self.judge == JudgeConfig():
            skip.add("judge")
        if self.candidates == type(self).model_fields["candidates"].default:
            skip.add("candidates")
        if not self.openings:
            skip.add("openings")
        return self.model_dump(mode="json", exclude=skip)


class VoicesConfig(_Strict):
    registry: str = "default"  # a file in voices/ (without .yaml) or a path
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    held_out: list[str] = Field(default_factory=list)  # voice ids kept for the test split only
    # the device's own voice for replies when output_form voices them; None = the registry's voice with
    # role assistant for the primary language, else one that no user accent uses (voice/replies.py: assistant_voice)
    assistant: str | None = None


class ProsodyConfig(_Strict):
    min_rate: float = Field(0.85, gt=0.3, le=3)
    max_rate: float = Field(1.2, gt=0.3, le=3)
    min_level_dbfs: float = Field(-26.0, ge=-60, le=-3)  # loudness (RMS) of a clip: the "energy" of the voice
    max_level_dbfs: float = Field(-18.0, ge=-60, le=-3)
    # pitch shift of the voice's base pitch, set natively where the backend can (eSpeak NG);
    # backends without a pitch control speak at their own pitch and record 0
    min_pitch_semitones: float = Field(-2.0, ge=-12, le=12)
    max_pitch_semitones: float = Field(2.0, ge=-12, le=12)
    # extra pause at clause and sentence marks inside an utterance (eSpeak SSML breaks,
    # Kokoro clause/sentence pauses, silence between Piper sentences)
    min_pause_ms: int = Field(0, ge=0, le=2000)
    max_pause_ms: int = Field(150, ge=0, le=2000)

    @model_validator(mode="after")
    def _ranges(self) -> "ProsodyConfig":
        if (self.min_rate > self.max_rate or self.min_level_dbfs > self.max_level_dbfs
                or self.min_pitch_semitones > self.max_pitch_semitones or self.min_pause_ms > self.max_pause_ms):
            raise ValueError("each min_* must be <= its max_*")
        return self


class AudioConfig(_Strict):
    sample_rate: Literal[8000, 16000, 22050, 24000, 44100, 48000] = 16000
    format: Literal["flac", "wav"] = "flac"
    prosody: ProsodyConfig = Field(default_factory=ProsodyConfig)


class AcousticsConfig(_Strict):
    enabled: bool = True
    preset: str | None = None  # None = chosen from noise.environment; see `scenavox.acoustics.available_presets()`
    noise_dirs: list[str] = Field(default_factory=list)  # folders of noise recordings (MUSAN style), relative to the scenario
    rir_dirs: list[str] = Field(default_factory=list)  # folders of room impulse responses
    user_noise_weight: float = Field(0.5, ge=0, le=1)  # share of clips that get user noise when noise_dirs is set
    keep_clean: bool = True  # also keep the clean audio (clean/<id>.flac) for QA and re-mixing

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from .acoustics import available_presets

        if v not in available_presets():
            raise ValueError(f"unknown preset '{v}'; available: {', '.join(available_presets())}")
        return v


DEFAULT_SYNTHETIC_SHARE = {"train": 0.5, "validation": 0.5, "test": 0.0}  # real-only evaluation


class MixConfig(_Strict):
    """Blending real recordings into the synthetic corpus (see `scenavox.mix`).

    Without `real` the corpus is synthetic only (the run summary says so). With it, each split
    holds `synthetic_share[split]` synthetic rows (or audio hours, with `share_unit: hours`);
    real speakers never appear in two splits.
    """

    real: str | None = Field(None, description=(
        "Real speech: a local folder (parquet files, a `save_to_disk` folder, or an audiofolder with "
        "metadata.csv/jsonl), a NeMo/JSONL manifest file, or a Hub dataset id (only when online). "
        "Relative paths are relative to the scenario file. None = synthetic only."))
    format: Literal["auto", "parquet", "disk", "audiofolder", "manifest", "hub"] = Field(
        "auto", description="How to read `real`; auto guesses from what the path holds.")
    synthetic_share: dict[str, float] = Field(default_factory=dict, description=(
        "Share of synthetic data per split, 0..1 (0 = real only, 1 = synthetic only). Splits not given take "
        "the default {train: 0.5, validation: 0.5, test: 0.0}."), json_schema_extra={
            "propertyNames": {"enum": list(SPLITS)},
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}})
    share_unit: Literal["rows", "hours"] = Field("rows", description="Whether shares count rows or audio hours.")
    hours: dict[str, float] = Field(default_factory=dict, description=(
        "Optional target size per split in hours (synthetic + real); both are subsampled to reach it. "
        "Implies share_unit: hours."), json_schema_extra={
            "propertyNames": {"enum": list(SPLITS)},
            "additionalProperties": {"type": "number", "exclusiveMinimum": 0}})
    voice_disjoint: bool = Field(False, description=(
        "Re-split synthetic rows so that no synthetic voice is in two splits (held-out voices stay in test)."))
    stratify_by: list[Literal["accent", "intent"]] = Field(default_factory=lambda: ["accent", "intent"], description=(
        "Labels used to balance speaker assignment and subsampling, where the rows carry them."))
    # columns / fields of the real source; the first of the defaults that exists is used when not given
    audio_column: str | None = Field(None, description="Audio column/field (default: audio, or audio_filepath/file_name)")
    text_column: str | None = Field(None, description="Transcript column (default: text, transcription, sentence, transcript)")
    speaker_column: str | None = Field(None, description="Speaker column (default: speaker_id, speaker, client_id)")
    accent_column: str | None = Field(None, description="Accent column, optional (default: accent, accents)")
    intent_column: str | None = Field(None, description="Intent label column, optional (default: intent)")
    language: str | None = Field(None, description="Language tag of the real rows (default: the scenario's primary language)")
    hub_split: str | None = Field(None, description="Split(s) to read from a Hub dataset, e.g. 'train' (default: all)")
    hub_config: str | None = Field(None, description="Configuration (subset) name of a Hub dataset")
    name: str = Field("", description="Name of the real source for provenance (default: the folder/file/id)")
    licence: str = Field("", description="Licence of the real recordings, carried into provenance and the card")

    @field_validator("synthetic_share", "hours")
    @classmethod
    def _split_values(cls, v: dict[str, float], info: Any) -> dict[str, float]:
        bad = set(v) - set(SPLITS)
        if bad:
            raise ValueError(f"unknown split {sorted(bad)}; allowed: {', '.join(SPLITS)}")
        for k, x in v.items():
            if info.field_name == "synthetic_share" and not 0.0 <= x <= 1.0:
                raise ValueError(f"synthetic_share of {k} is {x:g}; give a share between 0 and 1")
            if info.field_name == "hours" and not x > 0:
                raise ValueError(f"hours of {k} is {x:g}; give a positive number of hours")
        return v

    @field_validator("real")
    @classmethod
    def _real(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("real is empty; give a folder, manifest or Hub dataset id, or leave it out")
        return v

    def shares(self) -> dict[str, float]:
        """The synthetic share of every split (defaults filled in)."""
        return {s: float(self.synthetic_share.get(s, DEFAULT_SYNTHETIC_SHARE[s])) for s in SPLITS}

    @property
    def unit(self) -> str:
        return "hours" if self.hours else self.share_unit


class QAConfig(_Strict):
    """Round-trip QA. Thresholds left out come from the failure_cost preset (qa/thresholds.py)."""

    enabled: bool = True
    recognizer: Literal["faster-whisper", "transformers"] = "faster-whisper"
    recognizer_model: str | None = None  # None = the bundled Whisper base; a local folder otherwise
    max_wer: float | None = Field(None, ge=0)
    min_entity_recall: float | None = Field(None, ge=0, le=1)
    min_dnsmos_sig: float | None = Field(None, ge=1, le=5)
    min_words_per_s: float | None = Field(None, ge=0)
    max_words_per_s: float | None = Field(None, gt=0)
    max_leading_silence_s: float | None = Field(None, ge=0)
    max_trailing_silence_s: float | None = Field(None, ge=0)
    max_pause_s: float | None = Field(None, ge=0)
    min_speech_ratio: float | None = Field(None, ge=0, le=1)
    max_clipped_fraction: float | None = Field(None, ge=0, le=1)
    min_rms_dbfs: float | None = Field(None, le=0)
    max_rms_dbfs: float | None = Field(None, le=0)
    # None: gate on the clean copy's DNSMOS SIG (else on the clip's, if no noise under 20 dB SNR was added);
    # true: on the clip's as it is in the corpus; false: no DNSMOS gate
    gate_mos: bool | None = None
    # which transcript the WER/entity gates read: clean (speech before the scenario's noise; default),
    # noisy, or both; clips without a clean copy always use the noisy one
    recognition_on: Literal["clean", "noisy", "both"] | None = None


class Compliance(_Strict):
    purpose: str = ""
    retention: str = ""
    consent: str = ""
    training_use: bool = True
    region_notes: str = ""


class Size(_Strict):
    n: int = Field(200, ge=1, le=1_000_000)
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})

    @field_validator("splits")
    @classmethod
    def _splits(cls, v: dict[str, float]) -> dict[str, float]:
        bad = set(v) - set(SPLITS)
        if bad:
            raise ValueError(f"unknown split {sorted(bad)}; allowed: {', '.join(SPLITS)}")
        if "train" not in v:
            raise ValueError("splits needs a train share")
        _check_weights(list(v.values()), "split")
        return v


class Scenario(_Strict):
    name: str
    description: str = Field(min_length=1)
    # the six questions
    output_form: OutputForm = OutputForm.text_only
    interaction_rhythm: InteractionRhythm = Field(default_factory=InteractionRhythm)
    noise: Noise = Field(default_factory=Noise)
    languages: list[Language] = Field(min_length=1)
    privacy: Privacy = Field(default_factory=Privacy)
    failure_cost: FailureCost = FailureCost.medium
    # what is said
    intents: list[Intent] = Field(min_length=1)
    personas: list[Persona] = Field(default_factory=list)
    styles: list[str] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    # stage sections
    text: TextConfig = Field(default_factory=TextConfig)
    voices: VoicesConfig = Field(default_factory=VoicesConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    acoustics: AcousticsConfig = Field(default_factory=AcousticsConfig)
    mix: MixConfig = Field(default_factory=MixConfig)
    qa: QAConfig = Field(default_factory=QAConfig)
    compliance: Compliance = Field(default_factory=Compliance)
    size: Size = Field(default_factory=Size)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    # set by load_scenario, not part of the file
    source_path: Path | None = Field(None, exclude=True)
    # folders outside the scenario's own from which it may read text (--allow-path). Private, so that
    # a scenario file can never widen its own reach.
    _allow_paths: tuple[Path, ...] = PrivateAttr(default=())

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"'{v}' is not a valid name (lower-case letters, digits, _ and -; at most 64)")
        return v

    @model_validator(mode="after")
    def _cross(self) -> "Scenario":
        _check_weights([lang.weight for lang in self.languages], "language")
        names = [i.name for i in self.intents]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"intent names must be unique; repeated: {', '.join(sorted(dup))}")
        weights = [i.weight for i in self.intents]
        if any(w is not None for w in weights):
            if any(w is None for w in weights):
                raise ValueError("give every intent a weight, or none (equal shares)")
            _check_weights([float(w) for w in weights], "intent")  # type: ignore[arg-type]
        by_name = {i.name: i for i in self.intents}
        for k, ex in enumerate(self.examples):
            if ex.intent not in by_name:
                raise ValueError(f"examples.{k}.intent '{ex.intent}' is not a declared intent ({', '.join(names)})")
            unknown = set(ex.slots) - set(by_name[ex.intent].slots)
            if unknown:
                raise ValueError(f"examples.{k}.slots has unknown slot(s) {sorted(unknown)} for intent {ex.intent}")
        for h in self.voices.held_out:
            if h in self.voices.exclude:
                raise ValueError(f"voices.held_out voice '{h}' is also excluded")
        return self

    # -- helpers ---------------------------------------------------------------
    @property
    def intent_weights(self) -> list[float]:
        if all(i.weight is None for i in self.intents):
            return [1.0 / len(self.intents)] * len(self.intents)
        return normalized([float(i.weight or 0) for i in self.intents])

    @property
    def accent_weights(self) -> dict[str, float]:
        """Share of each accent tag over the whole corpus (language weight x accent weight)."""
        out: dict[str, float] = {}
        lw = normalized([lang.weight for lang in self.languages])
        for share, lang in zip(lw, self.languages):
            if not lang.accents:
                out[lang.language] = out.get(lang.language, 0) + share
                continue
            for aw, acc in zip(normalized([a.weight for a in lang.accents]), lang.accents):
                out[acc.accent] = out.get(acc.accent, 0) + share * aw
        return out

    @property
    def primary_language(self) -> str:
        return max(self.languages, key=lambda lang: lang.weight).language

    def base_dir(self) -> Path:
        return self.source_path.parent if self.source_path else Path.cwd()

    @property
    def allow_paths(self) -> tuple[Path, ...]:
        return self._allow_paths

    def with_allow_paths(self, paths: Iterable[str | Path]) -> "Scenario":
        """A copy that may also read text files under these folders (besides its own folder)."""
        roots = []
        for p in paths:
            root = Path(p).expanduser().resolve()
            if not root.is_dir():
                raise UserError(f"--allow-path {p}: not a folder")
            roots.append(root)
        copy = self.model_copy()
        copy._allow_paths = tuple(dict.fromkeys([*self._allow_paths, *roots]))
        return copy

    def text_file(self, ref: str, where: str) -> Path:
        """The file a scenario field names for text (slot values, a template), checked: it must resolve,
        symlinks followed, inside the scenario's folder or an allowed folder, and hold UTF-8 text of at
        most TEXT_FILE_MAX_BYTES. Otherwise a shared scenario could read any file of the machine
        (`file: ../../../etc/shadow`) into prompts, and from there into a published dataset."""
        label = str(self.source_path) if self.source_path else "<string>"
        return _checked_text_file(label, str(self.base_dir()), self._allow_paths, ref, where)

    def read_text_file(self, ref: str, where: str) -> str:
        return self.text_file(ref, where).read_text(encoding="utf-8")

    def fingerprint(self, *sections: str) -> str:
        """Hash of the named sections: ids change only when what shaped them changes."""
        data = self.model_dump(mode="json", include=set(sections) if sections else None)
        if "text" in data:
            data["text"] = self.text.identity()
        for intent in data.get("intents") or []:
            if intent.get("replies") is None:  # added later: absent keeps the ids of corpora made before
                intent.pop("replies", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def with_text(self, **overrides: Any) -> "Scenario":
        """A copy with text settings overridden (command-line options), validated like the file."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if not overrides:
            return self
        try:
            text = TextConfig.model_validate({**self.text.model_dump(mode="json", exclude_unset=True), **overrides})
        except ValidationError as err:
            e = err.errors()[0]
            where = ".".join(str(p) for p in e["loc"])
            raise UserError(f"text.{where}: {e['msg'].removeprefix('Value error, ')}") from None
        return self.model_copy(update={"text": text})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


# --- loading ----------------------------------------------------------------------
def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def format_validation_error(path: Path | str, err: ValidationError, model: type[BaseModel] = Scenario) -> str:
    errors = err.errors()
    e = errors[0]
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = _loc(loc)
    if e["type"] == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        msg = f"unknown field '{loc[-1]}'" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
        where = _loc(loc[:-1]) if len(loc) > 1 else "(top level)"
    elif e["type"] == "missing":
        msg = "required field is missing"
    else:
        msg = e["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{path}: {where}: {msg}{more}"


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Walk the model along loc (skipping list indices and dict keys) to list its fields."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _model_in(field.annotation, typing)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [n for n, f in current.model_fields.items() if not f.exclude]
    return []


def _model_in(annotation: Any, typing: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg, typing)
        if found is not None:
            return found
    return None


def parse_scenario(text: str, path: Path | str = "<string>", *, allow_paths: Iterable[str | Path] = ()) -> Scenario:
    """allow_paths: folders besides the scenario's own from which it may read text files (slot `file:`,
    text.template, voices.registry)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: {where}: YAML syntax error: {problem}") from None
    if data is None:
        raise UserError(f"{path}: (file): the file is empty; start from `scenavox init NAME` or prompts/car.yaml")
    if not isinstance(data, dict):
        raise UserError(f"{path}: (top level): expected a mapping of fields, got {type(data).__name__}")
    if "name" not in data:
        stem = Path(str(path)).stem.lower().replace(" ", "_")
        data["name"] = stem
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as err:
        raise UserError(format_validation_error(path, err)) from None
    sc.source_path = Path(path) if str(path) != "<string>" else None
    if allow_paths:
        sc = sc.with_allow_paths(allow_paths)
    _check_slot_files(sc, path)
    return sc


def _check_slot_files(sc: Scenario, path: Path | str) -> None:
    if sc.mix.real is not None:
        from .real_source import locate_real

        try:
            locate_real(sc.mix, sc.base_dir(), check_online=False)
        except UserError as exc:
            raise UserError(f"{path}: mix.real: {exc}") from None
    for field in ("noise_dirs", "rir_dirs"):
        for k, folder in enumerate(getattr(sc.acoustics, field)):
            if not (sc.base_dir() / folder).is_dir():
                raise UserError(f"{path}: acoustics.{field}.{k}: folder '{folder}' not found (relative to the scenario file)")
    for k, intent in enumerate(sc.intents):
        for slot, src in intent.slots.items():
            if src.file is None:
                continue
            where = f"intents.{k}.slots.{slot}.file"
            if not file_values(sc.read_text_file(src.file, where)):
                raise UserError(f"{path}: {where}: file '{src.file}' has no values (one per line)")
        for slot, src in intent.slots.items():
            psrc = intent.slots.get(src.depends_on or "")
            if psrc is not None and psrc.file is not None:
                parent_values = file_values(sc.read_text_file(psrc.file, f"intents.{k}.slots.{src.depends_on}.file"))
                try:
                    _check_mapping(slot, str(src.depends_on), parent_values, src.values)  # type: ignore[arg-type]
                except ValueError as exc:
                    raise UserError(f"{path}: intents.{k}.slots.{exc}") from None
    if sc.text.template:
        sc.text_file(sc.text.template, "text.template")
    if not NAME_RE.match(sc.voices.registry):  # a path to a registry file, not a name from voices/
        sc.text_file(sc.voices.registry, "voices.registry")


def file_values(text: str) -> list[str]:
    """The values of a slot `file:`: one per line; blank lines and # comments skipped."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


# Slot value lists and templates are far smaller; a bigger file is not one of them.
TEXT_FILE_MAX_BYTES = 2 * 1024 * 1024


@lru_cache(maxsize=1024)
def _checked_text_file(label: str, base: str, allow: tuple[Path, ...], ref: str, where: str) -> Path:
    """Scenario.text_file, cached: the planner asks for every item's slots."""
    root = Path(base).resolve()
    p = Path(ref)
    real = (p if p.is_absolute() else root / p).resolve()  # symlinks followed: a link may not lead out
    # refused before looking at the file, so that a scenario cannot probe what exists outside
    if not any(real.is_relative_to(r) for r in (root, *allow)):
        raise UserError(f"{label}: {where}: '{ref}' is outside the scenario's folder ({root}); move the file "
                        "there, or pass --allow-path with the folder that holds it")
    if not real.is_file():
        raise UserError(f"{label}: {where}: file '{ref}' not found (paths are relative to the scenario file)")
    size = real.stat().st_size
    if size > TEXT_FILE_MAX_BYTES:
        raise UserError(f"{label}: {where}: '{ref}' is too large ({size:,} bytes); a text file a scenario names "
                        f"may hold at most {TEXT_FILE_MAX_BYTES // 2**20} MiB")
    if not _is_text(real.read_bytes()):
        raise UserError(f"{label}: {where}: '{ref}' is not a text file (binary data, or not UTF-8); give a "
                        "UTF-8 text file")
    return real


def _is_text(data: bytes) -> bool:
    """UTF-8 without NUL bytes (valid UTF-8 may hold NULs; no text file a person writes does)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in data


def prompts_dir() -> Path:
    """The bundled prompts/: the shipped scenarios and the default prompt templates."""
    return Path(__file__).resolve().parents[2] / "prompts"


def user_prompts_dir() -> Path:
    """./prompts of the working folder: the user's own scenarios (`scenavox init` writes there)."""
    return Path.cwd() / "prompts"


def scenario_dirs() -> list[Path]:
    """Where scenario names are looked up, first match wins: ./prompts, then the bundled prompts/."""
    out: dict[Path, Path] = {}
    for d in (user_prompts_dir(), prompts_dir()):
        if d.is_dir():
            out.setdefault(d.resolve(), d)
    return list(out.values())


def available_scenarios() -> list[str]:
    return sorted({p.stem for d in scenario_dirs() for p in d.glob("*.yaml") if NAME_RE.match(p.stem)})


def resolve_scenario_path(ref: str | Path) -> Path:
    """A name from ./prompts or the bundled prompts/, or a path to a .yaml file; anything else is refused."""
    s = str(ref).strip()
    if NAME_RE.match(s):
        for d in scenario_dirs():
            if (d / f"{s}.yaml").is_file():
                return d / f"{s}.yaml"
    elif s.endswith((".yaml", ".yml")) and Path(s).is_file():
        return Path(s)
    avail = ", ".join(available_scenarios()) or "(none found)"
    raise UserError(f"unknown scenario '{s}': give a name from ./prompts or the bundled prompts/ ({avail}) "
                    "or a path to a .yaml file")


def load_scenario(ref: str | Path, *, allow_paths: Iterable[str | Path] = ()) -> Scenario:
    """A name (./prompts, then the bundled prompts/) or a path to a .yaml file. The scenario may read
    text files (slot `file:`, text.template, voices.registry) from its own folder and from allow_paths."""
    path = resolve_scenario_path(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: (file): cannot read: {exc}") from None
    return parse_scenario(text, path, allow_paths=allow_paths)
