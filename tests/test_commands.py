"""Command-first sampling: balanced, covering, deterministic and prefix-stable."""

from collections import Counter

import pytest

from scenavox.errors import UserError
from scenavox.scenario import load_scenario, parse_scenario
from scenavox.text.commands import plan_commands, slot_values

from .conftest import MINIMAL


def test_same_seed_same_plan_and_prefix_stable(repo_cwd):
    sc = load_scenario("car")
    a = plan_commands(sc, 50, seed=1)
    b = plan_commands(sc, 80, seed=1)
    assert [t.model_dump() for t in a] == [t.model_dump() for t in b[:50]]
    c = plan_commands(sc, 50, seed=2)
    assert [t.id for t in a] != [t.id for t in c]
    assert len({t.id for t in b}) == 80


def test_intent_shares_follow_weights(repo_cwd):
    sc = load_scenario("car")
    tasks = plan_commands(sc, 200, seed=0)
    counts = Counter(t.command.intent for t in tasks)
    for intent, w in zip(sc.intents, sc.intent_weights):
        assert abs(counts[intent.name] - 200 * w) <= 1, (intent.name, counts)


def test_every_listed_value_is_covered_before_repeats(repo_cwd):
    sc = load_scenario("car")
    tasks = plan_commands(sc, 200, seed=0)
    nav = [t.command.slots["destination"] for t in tasks if t.command.intent == "navigate_to"]
    values = sc.intents[0].slots["destination"].values
    assert set(nav[: len(values)]) == set(values)
    temps = {t.command.slots["temperature"] for t in tasks if t.command.intent == "set_temperature"}
    assert temps == {f"{d} degrees" for d in range(16, 29)}


def test_value_sources(tmp_path):
    (tmp_path / "names.txt").write_text("# comment\nAlice\n\nBob\n")
    text = MINIMAL.replace("values: [Mom, Sarah, David]", "file: names.txt") + """
  - name: book
    slots:
      date: {date: {start: 2027-01-01, end: 2027-01-03}}
      time: {time: {start: "08:00", end: "09:00", step_minutes: 30}}
"""
    p = tmp_path / "s.yaml"
    p.write_text(text)
    sc = parse_scenario(text, p)
    assert slot_values(sc.intents[1].slots["contact"], sc) == ["Alice", "Bob"]
    assert slot_values(sc.intents[2].slots["date"], sc) == ["January 1st", "January 2nd", "January 3rd"]
    assert slot_values(sc.intents[2].slots["time"], sc) == ["8 am", "8:30 am", "9 am"]


def test_openings_are_drawn_per_item_and_leave_the_other_draws_alone(repo_cwd):
    sc = load_scenario("car").with_text(openings=["", "Can you", "Hey, can you", "I'd like to"])
    plain = sc.with_text(openings=[])
    with_o, without = plan_commands(sc, 200, seed=3), plan_commands(plain, 200, seed=3)
    for a, b in zip(with_o, without):
        assert (a.command, a.persona, a.style, a.seed, a.forms) == (b.command, b.persona, b.style, b.seed, b.forms)
        assert a.opening in sc.text.openings and b.opening == ""
        assert "opening" not in b.model_dump()  # records of corpora without openings keep their bytes
    assert {t.opening for t in with_o} == set(sc.text.openings)  # every opening drawn in 200 items
    assert {t.id for t in with_o}.isdisjoint({t.id for t in without})
    assert [t.opening for t in with_o] == [t.opening for t in plan_commands(sc, 200, seed=3)]


@pytest.mark.parametrize("bad", ['say "hi', "two\nlines", " padded", "x" * 61])
def test_a_bad_opening_is_a_one_line_error(repo_cwd, bad):
    with pytest.raises(UserError, match="opening"):
        load_scenario("car").with_text(openings=["Can you", bad])


def test_a_template_without_openings_refuses_a_scenario_with_them(repo_cwd, tmp_path):
    from scenavox.text.stage import PromptBuilder

    sc = load_scenario("car").with_text(openings=["Can you"])
    (tmp_path / "old.j2").write_text(  # a template written before text.openings
        "{% macro system(scenario) %}Write JSON.{% endmacro %}"
        "{% macro request(intent, slots, persona, style) %}Intent: {{ intent.name }}{% endmacro %}")
    sc.text.template = str(tmp_path / "old.j2")
    sc.source_path = tmp_path / "car.yaml"
    with pytest.raises(UserError, match="openings"):
        PromptBuilder(sc)
    sc.text.openings = []
    PromptBuilder(sc).messages(plan_commands(sc, 1, seed=0)[0])  # the old template still works without


def test_dialogue_turns_get_no_opening(repo_cwd):
    from scenavox.text.dialogue import plan_tasks

    sc = load_scenario("street_food").with_text(openings=["Can I get"])  # a barge-in dialogue scenario
    tasks = plan_tasks(sc, 12, 0)
    assert tasks and all(t.dialogue is not None and t.opening == "" for t in tasks)


def test_prefix_examples_shortens_the_shared_prefix_and_keeps_the_items_own_example(repo_cwd, tmp_path):
    """text.prefix_examples: 1 shows each intent's first example in the shared prefix; the item's own-intent
    example still comes right before its request. Unset, the prefix and the item ids are as before."""
    import json

    from scenavox.text.stage import PromptBuilder

    car = load_scenario("car")  # shows two examples per intent (prefix_examples: 2)
    assert len(PromptBuilder(car).prefix) == 1 + 2 * 2 * len(car.intents)
    sc = car.model_copy(update={"text": car.text.model_copy(update={"prefix_examples": None})})
    full = PromptBuilder(sc)
    assert len(full.prefix) == 1 + 2 * len(sc.examples)
    short_sc = sc.with_text(prefix_examples=1)
    short = PromptBuilder(short_sc)
    assert len(short.prefix) == 1 + 2 * len(sc.intents)
    firsts = {}
    for ex in sc.examples:
        firsts.setdefault(ex.intent, ex.utterance)
    shown = [json.loads(m["content"])["utterance"] for m in short.prefix if m["role"] == "assistant"]
    assert sorted(shown) == sorted(firsts.values())
    task = plan_commands(short_sc, 3, seed=1)[2]
    msgs = short.messages(task)
    own = [ex.utterance for ex in sc.examples if ex.intent == task.command.intent]
    assert json.loads(msgs[-2]["content"])["utterance"] in own and msgs[:len(short.prefix)] == short.prefix
    # set, it is part of the item ids; unset, the ids are those of corpora built before the field existed
    assert plan_commands(short_sc, 3, seed=1)[0].id != plan_commands(sc, 3, seed=1)[0].id
    yaml_text = (repo_cwd / "prompts" / "car.yaml").read_text(encoding="utf-8")
    assert "\n  prefix_examples: 2\n" in yaml_text
    (tmp_path / "car.yaml").write_text(yaml_text.replace("\n  prefix_examples: 2\n", "\n"), encoding="utf-8")
    assert plan_commands(load_scenario(tmp_path / "car.yaml"), 3, seed=1)[0].id == plan_commands(sc, 3, seed=1)[0].id


def test_where_templates_give_every_reply_the_prompt_shows_and_asks_for_the_utterance_only(repo_cwd, tmp_path):
    """The model writes no reply where the scenario's reply templates give them all; its prompt then shows none
    (car: 1435 -> 1157 shared prefix tokens). An intent without templates, text.openings, or a template whose
    system() takes no `replies` argument: the examples show replies as before."""
    import json

    from scenavox.text.stage import UTTERANCE_SCHEMA, PromptBuilder, TextStage, capped

    sc = load_scenario("car")
    pb = PromptBuilder(sc)
    task = plan_commands(sc, 1, seed=0)[0]
    answers = [json.loads(m["content"]) for m in pb.messages(task) if m["role"] == "assistant"]
    # car's shared prefix shows two examples per intent, then the item's own-intent example
    assert len(answers) == 2 * len(sc.intents) + 1 and all(list(a) == ["utterance"] for a in answers)
    system = pb.prefix[0]["content"]
    assert "reply" not in system and 'Answer with JSON: {"utterance": "..."}' in system
    assert TextStage(sc, "fake").schema == capped(UTTERANCE_SCHEMA, sc.text.max_chars)

    one = sc.model_copy(deep=True)
    one.intents[0].replies = []  # navigate_to has no templates now: the model writes its replies
    pb = PromptBuilder(one)
    answers = [json.loads(m["content"]) for m in pb.prefix if m["role"] == "assistant"]
    assert all(set(a) == {"utterance", "reply"} for a in answers) and "reply" in pb.prefix[0]["content"]
    # the intents (their templates included) are part of every item's id: no answer to the other prompt is reused
    assert plan_commands(one, 1, seed=0)[0].id != task.id

    # from a forced opening, the bundled model lost the slot value without replies in the examples (4 of 8 items)
    opened = PromptBuilder(sc.with_text(openings=["Can you"]))
    assert all(set(json.loads(m["content"])) == {"utterance", "reply"}
               for m in opened.prefix if m["role"] == "assistant")

    (tmp_path / "old.j2").write_text(  # a template written before the `replies` argument
        "{% macro system(scenario) %}Write JSON.{% endmacro %}"
        "{% macro request(intent, slots, persona, style) %}Intent: {{ intent.name }}{% endmacro %}")
    old = sc.model_copy(deep=True)
    old.text.template = str(tmp_path / "old.j2")
    old.source_path = tmp_path / "car.yaml"
    answers = [json.loads(m["content"]) for m in PromptBuilder(old).prefix if m["role"] == "assistant"]
    assert all(set(a) == {"utterance", "reply"} for a in answers)


def test_a_request_head_is_its_intents_line_up_to_the_first_slot_value(repo_cwd):
    from scenavox.text.dialogue import plan_tasks
    from scenavox.text.stage import PromptBuilder

    sc = load_scenario("prompts/car.yaml")
    pb = PromptBuilder(sc)
    heads: dict[str, set[str]] = {}
    for t in plan_commands(sc, 60, seed=3):
        request = pb.messages(t)[-1]["content"]
        head = pb.request_head(t, request)
        assert request.startswith(head) and head.endswith(": ")
        assert not any(str(v) in head for v in t.command.slots.values())
        heads.setdefault(t.command.intent, set()).add(head)
    # one head per intent: every item that shows an example of that intent saves the same one with it
    assert {i: len(h) for i, h in heads.items()} == {i.name: 1 for i in sc.intents}
    assert heads["navigate_to"] == {"Intent: navigate_to (start route guidance to a place)\nSlots:\n- destination: "}
    food = load_scenario("street_food")  # dialogue turns: their prompt has no intent example to save it with
    turns, fb = plan_tasks(food, 6, 0), PromptBuilder(food)
    assert turns and all(t.dialogue is not None and fb.request_head(t, fb.messages(t)[-1]["content"]) == ""
                         for t in turns)
