"""The voice registry: YAML files in voices/ describing every voice a corpus may use."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

from ..errors import UserError
from ..scenario import BCP47_RE, NAME_RE, Scenario, format_validation_error
from .backends import backend_class, is_cloud
from .backends import names as backend_names
from .files import voices_dir


class Voice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    backend: str  # a name in the TTS backend registry (voice/backends/base.py)
    model: str
    speaker: str | int | None = None
    language: str
    accent: str
    gender: str = "unknown"
    age_group: str = "adult"
    licence: str
    engine_licence: str = ""
    origin: Literal["stock", "cloned", "blended"] = "stock"
    # assistant: the device's own voice, for voiced replies only; never drawn for a user (a corpus whose
    # users sound like the device would teach a model to answer itself)
    role: Literal["speaker", "assistant"] = "speaker"
    options: dict[str, Any] = Field(default_factory=dict)
    # relative share among the voices of its accent (e.g. 3 to voice a natural neural voice
    # three times as often as each formant voice); held-out voices ignore it
    weight: float = Field(1.0, gt=0)
    # the recordings a cloned voice comes from (paths relative to the registry file); each needs a
    # consent record beside it (voice/consent.py). Required for, and only for, origin: cloned
    reference: list[str] = Field(default_factory=list)
    # speaker metadata where the source corpus has it (VCTK: age and region of each speaker)
    age: int | None = None
    region: str | None = None
    # what the voice is, in a sentence, where the accent tag alone would claim more (e.g. Hindi-trained
    # voices reading English with eSpeak's phonemes); it travels into the clip provenance and the card
    description: str | None = None

    @field_validator("backend")
    @classmethod
    def _registered(cls, v: str) -> str:
        if v not in backend_names():
            raise ValueError(f"unknown TTS backend '{v}'; available: {', '.join(backend_names())}")
        return v

    @field_validator("reference", mode="before")
    @classmethod
    def _one_or_more(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_serializer(mode="wrap")
    def _omit_unset_extras(self, handler: Any) -> dict[str, Any]:
        # The voice dict is hashed into clip ids: fields added after the first corpora are left out
        # while unset, so every voice that does not use them keeps its ids.
        data = handler(self)
        for key in ("reference", "age", "region", "description"):
            if data.get(key) in (None, []):
                data.pop(key, None)
        if data.get("role") == "speaker":
            data.pop("role")
        return data

    @model_validator(mode="after")
    def _backend_options(self) -> Voice:
        """The options the backend declares, and its own checks, so a typo fails at load time and not mid-run."""
        try:
            backend = backend_class(self.backend)
        except UserError as exc:
            raise ValueError(f"voice '{self.id}': {exc}") from None
        allowed = backend.options
        if allowed is not None:
            unknown = sorted(set(self.options) - set(allowed))
            if unknown:
                raise ValueError(f"voice '{self.id}': unknown {self.backend} option(s) {', '.join(unknown)}; "
                                 f"allowed: {', '.join(sorted(allowed)) or '(none)'}")
        try:
            backend.check_voice(self)
        except (ValueError, UserError) as exc:
            raise ValueError(f"voice '{self.id}': {exc}") from None
        if self.origin == "cloned" and not self.reference:
            raise ValueError(f"voice '{self.id}': a cloned voice must list the clips it is cloned from in `reference`")
        if self.reference and self.origin != "cloned":
            raise ValueError(f"voice '{self.id}': a voice with `reference` clips is cloned: say origin: cloned")
        return self


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voices: list[Voice] = Field(min_length=1)


def load_registry(ref: str, base_dir: Path | None = None) -> list[Voice]:
    """A registry name from voices/ or a path (relative paths are relative to base_dir)."""
    path = voices_dir() / f"{ref}.yaml" if NAME_RE.match(ref) else (base_dir or Path.cwd()) / ref
    if not path.is_file():
        avail = ", ".join(sorted(p.stem for p in voices_dir().glob("*.yaml"))) or "(none)"
        raise UserError(f"voices.registry: '{ref}' not found; available in voices/: {avail}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        reg = Registry.model_validate(data)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: YAML syntax error: {exc}") from None
    except ValidationError as err:
        raise UserError(format_validation_error(path, err, Registry)) from None
    ids = [v.id for v in reg.voices]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise UserError(f"{path}: voices: repeated voice id(s) {', '.join(dup)}")
    for k, v in enumerate(reg.voices):
        if not BCP47_RE.match(v.accent):
            raise UserError(f"{path}: voices.{k}.accent: '{v.accent}' is not a BCP-47 tag such as en-US")
        _resolve_paths(v, path.parent)
    return reg.voices


def _resolve_paths(voice: Voice, base: Path) -> None:
    """Reference clips, and a coqui model folder found beside the registry, are relative to the registry file."""
    voice.reference = [str((base / r).resolve()) for r in voice.reference]
    if voice.backend == "coqui" and not Path(voice.model).is_absolute() and (base / voice.model).exists():
        voice.model = str((base / voice.model).resolve())


def scenario_voices(scenario: Scenario) -> list[Voice]:
    """The user voices: the registry without its assistant voices, filtered by the scenario's
    include/exclude lists and languages."""
    voices = load_registry(scenario.voices.registry, scenario.base_dir())
    known = {v.id for v in voices}
    for field in ("include", "exclude", "held_out"):
        unknown = [v for v in getattr(scenario.voices, field) if v not in known]
        if unknown:
            raise UserError(
                f"{scenario.source_path}: voices.{field}: unknown voice id(s) {', '.join(unknown)}; "
                f"see `scenavox voices list`"
            )
    device = {v.id for v in voices if v.role == "assistant"}
    for field in ("include", "held_out"):
        named = [v for v in getattr(scenario.voices, field) if v in device]
        if named:
            raise UserError(
                f"{scenario.source_path}: voices.{field}: {', '.join(named)} only speak the assistant's replies "
                f"(role: assistant), never a user; choose the reply voice with voices.assistant"
            )
    voices = [v for v in voices if v.id not in device]
    if scenario.voices.include:
        voices = [v for v in voices if v.id in scenario.voices.include]
    voices = [v for v in voices if v.id not in scenario.voices.exclude]
    if not scenario.privacy.cloud_upload:
        named = [v.id for v in voices if is_cloud(v.backend) and v.id in scenario.voices.include]
        if named:
            raise UserError(
                f"{scenario.source_path}: voices.include: {', '.join(named)} use a cloud TTS backend, but "
                f"privacy.cloud_upload is false; remove them or allow cloud upload"
            )
        voices = [v for v in voices if not is_cloud(v.backend)]
    langs = {lang.language.split("-")[0] for lang in scenario.languages}
    voices = [v for v in voices if v.language.split("-")[0] in langs]
    voices = _cloning_gate(scenario, voices)
    if not voices:
        raise UserError(
            f"{scenario.source_path}: voices: no voice in registry '{scenario.voices.registry}' speaks "
            f"{', '.join(sorted(langs))} after include/exclude"
            + ("" if scenario.privacy.voice_cloning else " (cloned voices need privacy.voice_cloning)")
        )
    return voices


def _cloning_gate(scenario: Scenario, voices: list[Voice]) -> list[Voice]:
    """Cloned voices only where the scenario allows cloning and every reference clip has a consent record."""
    from .consent import check_consent

    cloned = [v for v in voices if v.origin == "cloned"]
    if not scenario.privacy.voice_cloning:
        named = [v.id for v in cloned if v.id in scenario.voices.include]
        if named:
            raise UserError(
                f"{scenario.source_path}: voices.include: {', '.join(named)} are cloned voices, but "
                f"privacy.voice_cloning is false; remove them or allow cloning (with consent records)"
            )
        return [v for v in voices if v.origin != "cloned"]
    for v in cloned:
        check_consent(v.id, v.reference)
    return voices
