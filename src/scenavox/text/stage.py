"""The text stage: a planned command in, a validated Triple (or a quarantine entry) out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jinja2

from ..errors import UserError
from ..records import Quarantined, TextTask, Triple
from ..scenario import Scenario, prompts_dir
from ..stages import Outcome, Resources, Stage
from .answers import MAX_CHARS, parse_answer
from .backends import BackendRequestError, TextBackend, backend_class, config_fields, is_remote, make_backend
from .checks import check_texts
from .commands import prompt_slots
from .dialogue import dialogue_request, spoken_slots
from .free import FreePrompts, check_free_answer
from .free import answer_schema as free_schema

# Version of the message assembly in PromptBuilder (not the template): 2 = an example of the
# item's own intent repeated right before the request.
PROMPT_ASSEMBLY = 2

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # maxLength keeps constrained decoding from running into max_tokens
        "utterance": {"type": "string", "minLength": 2, "maxLength": MAX_CHARS},
        "reply": {"type": "string", "minLength": 2, "maxLength": MAX_CHARS},
    },
    "required": ["utterance", "reply"],
}


def template_path(scenario: Scenario) -> Path:
    if scenario.text.template:  # inside the scenario's folder or an allowed one, and text (Scenario.text_file)
        return scenario.text_file(scenario.text.template, "text.template")
    return prompts_dir() / "templates" / "triple.j2"


class PromptBuilder:
    def __init__(self, scenario: Scenario):
        path = template_path(scenario)
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self._module: Any = None
        self.scenario = scenario
        self.intents = {i.name: i for i in scenario.intents}
        self.prefix = self._prefix()

    @property
    def module(self) -> Any:
        if self._module is None:
            env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
            try:
                module = env.from_string(self.source).module
            except jinja2.TemplateError as exc:
                raise UserError(f"{self.path}: template error: {exc}") from None
            if not hasattr(module, "system") or not hasattr(module, "request"):
                raise UserError(f"{self.path}: a text template must define the macros system(scenario) and request(...)")
            self._module = module
        return self._module

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_module": None}  # compiled macros do not pickle; rebuilt in the worker

    @property
    def fingerprint(self) -> str:
        """Part of every text item's id: a new template, or a new way of assembling the messages
        (bump PROMPT_ASSEMBLY), gives new ids, so no stored answer to another prompt is reused."""
        return hashlib.sha256(f"{self.source}\0{PROMPT_ASSEMBLY}".encode()).hexdigest()[:12]

    def _request(self, intent: str, slots: dict[str, str], persona: str = "", style: str = "") -> str:
        # the persona's name only: descriptions are long for a small model
        return str(self.module.request(self.intents[intent], slots, persona, style)).strip()

    def _prefix(self) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": str(self.module.system(self.scenario)).strip()}]
        for ex in self.scenario.examples:
            msgs.append({"role": "user", "content": self._request(ex.intent, ex.slots)})
            msgs.append({"role": "assistant", "content": json.dumps({"utterance": ex.utterance, "reply": ex.reply})})
        return msgs

    def messages(self, task: TextTask) -> list[dict[str, str]]:
        if task.dialogue is not None:  # a dialogue turn: the one-turn prompt stays byte-identical
            return [*self.prefix, {"role": "user", "content": dialogue_request(self, task)}]
        req = self._request(task.command.intent, prompt_slots(task), task.persona, task.style)
        return [*self.prefix, *self._nearest_example(task), {"role": "user", "content": req}]

    def _nearest_example(self, task: TextTask) -> list[dict[str, str]]:
        """One example of the item's own intent (chosen by the item's seed), repeated right before the
        request: a small model copies the shape of the last example it saw, so that one must fit the
        intent. After the shared prefix, so a local model still reuses its KV cache for the rest."""
        same = [ex for ex in self.scenario.examples if ex.intent == task.command.intent]
        if not same:
            return []
        ex = same[task.seed % len(same)]
        return [{"role": "user", "content": self._request(ex.intent, ex.slots)},
                {"role": "assistant", "content": json.dumps({"utterance": ex.utterance, "reply": ex.reply})}]


def check_answer(
    raw: str, task: TextTask, min_words: int, max_words: int, languages: list[str] | None = None
) -> tuple[dict[str, str] | None, str]:
    """Parse and validate one answer; return (fields, "") or (None, reason).
    languages: the scenario's language tags, to check the text is in one of them (None: no check)."""
    data, reason = parse_answer(raw)
    if data is None:
        return None, reason
    return check_texts(data, spoken_slots(task), min_words, max_words, languages, forms=task.forms)


def check_backend(scenario: Scenario, name: str | None = None) -> None:
    """One line naming the file and the field when the text backend is not registered (or cannot be imported)."""
    try:
        backend_class(name or scenario.text.backend)
    except UserError as exc:
        raise UserError(f"{scenario.source_path}: text.backend: {exc}") from None


class TextStage(Stage):
    name = "text"

    def __init__(self, scenario: Scenario, backend: str | None = None, threads: int = 2):
        self.scenario = scenario
        self.cfg = scenario.text
        self.backend_name = backend or self.cfg.backend
        check_backend(scenario, self.backend_name)
        self.prompts = PromptBuilder(scenario)
        self.free = FreePrompts(self.prompts) if self.cfg.mode == "free" else None
        self.schema = free_schema(scenario) if self.free else ANSWER_SCHEMA
        self.languages = [lang.language for lang in scenario.languages] if self.cfg.check_language else None
        self.remote = is_remote(self.backend_name)
        if self.remote:  # waits on a server: no cores of its own, `concurrency` requests in flight
            self.resources = Resources(cpus=0.0, threads=1, concurrency=self.cfg.concurrency)
        else:
            self.resources = Resources(cpus=threads, threads=threads)
        self._backend: TextBackend | None = None
        if self.remote:
            _ = self.backend  # checks model, URL and privacy now, before any request

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_backend"] = None  # models are loaded in each worker, never pickled
        return state

    @property
    def backend(self) -> TextBackend:
        if self._backend is None:
            # what the backend declares it reads from the scenario's text section (text/backends/__init__.py)
            options: dict[str, Any] = {"model": self.cfg.model, "threads": self.resources.threads,
                                       **{f: getattr(self.cfg, f) for f in config_fields(self.backend_name)}}
            if self.remote:
                options["cloud_upload"] = self.scenario.privacy.cloud_upload
            self._backend = make_backend(self.backend_name, **options)
        return self._backend

    def _usage(self) -> dict[str, float]:
        take = getattr(self.backend, "take_usage", None)
        return take() if take is not None else {}

    def setup(self) -> None:
        self.backend.load()

    def check(self, raw: str, task: TextTask) -> tuple[dict[str, Any] | None, str]:
        if self.free:
            return check_free_answer(raw, self.prompts.intents, self.cfg.min_words, self.cfg.max_words, self.languages)
        return check_answer(raw, task, self.cfg.min_words, self.cfg.max_words, self.languages)

    def process(self, task: TextTask) -> Outcome:
        backend = self.backend
        attempts: list[dict[str, Any]] = []
        messages = (self.free or self.prompts).messages(task)
        self._usage()  # start this item's count from zero
        for attempt in range(self.cfg.max_attempts):
            seed = (task.seed + 7919 * attempt) % (2**31)
            try:
                raw = backend.complete(
                    messages, schema=self.schema, seed=seed, temperature=self.cfg.temperature,
                    max_tokens=self.cfg.max_tokens,
                )
            except BackendRequestError as exc:  # the server failed for good on this item: set it aside
                attempts.append({"seed": seed, "raw": None, "reason": f"request failed: {exc}"})
                break
            fields, reason = self.check(raw, task)
            if fields is not None:
                provenance = {"text_backend": backend.name, "text_model": backend.model, "text_seed": seed,
                              "attempts": attempt + 1, "template": self.prompts.fingerprint}
                if self.free:  # the model's command; the planned intent is kept to measure drift
                    provenance.update(text_mode="free", planned_intent=task.command.intent)
                triple = Triple(
                    id=task.id, index=task.index, command=fields.get("command", task.command), persona=task.persona,
                    style=task.style, utterance=fields["utterance"], reply=fields["reply"], dialogue=task.dialogue,
                    provenance=provenance,
                )
                return Outcome(id=task.id, record=triple, metrics=self._usage())
            attempts.append({"seed": seed, "raw": raw, "reason": reason})
        return Outcome(
            id=task.id,
            quarantined=Quarantined(
                id=task.id, stage=self.name, reason=attempts[-1]["reason"], attempts=attempts,
                input=task.model_dump(mode="json"),
            ),
            metrics=self._usage(),
        )
