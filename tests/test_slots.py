"""Slot sources for real domains (issue 18): identifiers sampled without enumeration, values that depend
on another slot, and the form a number is said in."""

import pytest

from scenavox.errors import UserError
from scenavox.scenario import parse_scenario
from scenavox.text.checks import check_texts
from scenavox.text.commands import _permute, plan_commands, prompt_slots
from scenavox.text.spoken import forms_said, possible, say

HEAD = """
name: t
description: a telephone service line
languages: [{language: en, weight: 1}]
intents:
"""


def scenario(intents: str):
    return parse_scenario(HEAD + intents)


def values(sc, n=300, seed=1, slot=None):
    return [t.command.slots.get(slot) for t in plan_commands(sc, n, seed)]


# --- identifiers: sampled, seeded, no repeats ----------------------------------------------------------
def test_six_digit_identifiers_never_repeat_and_are_seeded():
    sc = scenario("  - {name: check, slots: {ref: {digits: 6}}}\n")
    a = values(sc, 3000, seed=1, slot="ref")
    assert len(set(a)) == 3000
    assert all(len(v) == 6 and v.isdigit() and v[0] != "0" for v in a)
    assert a == values(sc, 3000, seed=1, slot="ref")  # same seed, same values
    assert a[:50] != values(sc, 50, seed=2, slot="ref")
    assert values(sc, 100, seed=1, slot="ref") == a[:100]  # item i does not depend on n


def test_a_large_number_range_is_sampled_instead_of_refused():
    sc = scenario("  - {name: check, slots: {ref: {number: {min: 100000, max: 999999}}}}\n")
    a = values(sc, 2000, slot="ref")
    assert len(set(a)) == 2000 and all(100000 <= int(v) <= 999999 for v in a)


def test_a_small_space_is_used_up_before_any_value_repeats():
    sc = scenario("  - {name: check, slots: {ref: {pattern: 'A#'}}}\n")  # 24 letters x 10 digits
    a = values(sc, 480, slot="ref")
    assert len(set(a[:240])) == 240 and set(a[240:]) == set(a[:240])
    assert not any(c in v for v in a for c in "IO")  # letters that pass for 1 and 0 are left out


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 12345])
def test_permutation_is_a_bijection(n):
    assert sorted(_permute(i, n, "k") for i in range(n)) == list(range(n))


def test_phone_formats():
    sc = scenario("  - {name: call, slots: {uk: {phone: uk}, us: {phone: us}, own: {phone: '0### ### ####'}}}\n")
    for t in plan_commands(sc, 50, 3):
        s = t.command.slots
        assert s["uk"].startswith("07") and len(s["uk"]) == 12 and s["uk"][5] == " "
        assert s["us"][0] == "(" and s["us"][1] != "0" and s["us"][4:6] == ") " and s["us"][9] == "-"
        assert s["own"][0] == "0" and len(s["own"].split()) == 3


# --- depends_on -----------------------------------------------------------------------------------------
DOSES = {"metformin": ["500 mg", "850 mg", "1000 mg"], "ibuprofen": ["200 mg", "400 mg"], "aspirin": ["75 mg"]}
DEP = """  - name: refill
    slots:
      drug: {values: [metformin, ibuprofen, aspirin]}
      dose:
        depends_on: drug
        values: {metformin: [500 mg, 850 mg, 1000 mg], ibuprofen: [200 mg, 400 mg], aspirin: [75 mg]}
"""


def test_dependent_values_stay_in_their_parents_list_and_cover_it():
    sc = scenario(DEP)
    tasks = plan_commands(sc, 300, 1)
    seen = {}
    for t in tasks:
        s = t.command.slots
        assert s["dose"] in DOSES[s["drug"]], s
        assert list(s) == ["drug", "dose"]
        seen.setdefault(s["drug"], []).append(s["dose"])
    for drug, doses in seen.items():  # every dose of a drug before any repeats
        k = len(DOSES[drug])
        assert sorted(doses[:k]) == sorted(DOSES[drug])


def test_a_dependent_slot_declared_before_its_parent_and_an_optional_parent():
    sc = scenario("""  - name: refill
    slots:
      dose: {depends_on: drug, values: {metformin: [500 mg], ibuprofen: [200 mg]}}
      drug: {values: [metformin, ibuprofen], optional: true}
""")
    tasks = plan_commands(sc, 100, 1)
    assert any("drug" not in t.command.slots for t in tasks)
    for t in tasks:
        s = t.command.slots
        assert ("dose" in s) == ("drug" in s)
        if s:
            assert list(s) == ["dose", "drug"] and s["dose"] == {"metformin": "500 mg", "ibuprofen": "200 mg"}[s["drug"]]


@pytest.mark.parametrize("slots, message", [
    ("drug: {values: [a]}\n      dose: {depends_on: drugs, values: {a: [1]}}",
     "intents.0.slots: dose.depends_on: 'drugs' is not another slot of this intent (drug, dose)"),
    ("drug: {values: [a, b]}\n      dose: {depends_on: drug, values: {a: [1]}}",
     "intents.0.slots: dose.values: no values for drug 'b'; map every value of drug"),
    ("drug: {values: [a]}\n      dose: {depends_on: drug, values: {a: [1], c: [2]}}",
     "intents.0.slots: dose.values: 'c' is not a value of drug"),
    ("a: {depends_on: b, values: {x: [y]}}\n      b: {depends_on: a, values: {y: [x]}}",
     "intents.0.slots: a.depends_on: depends_on forms a cycle (a -> b -> a)"),
    ("drug: {values: [a]}\n      dose: {values: {a: [1]}}",
     "intents.0.slots.dose: values is a mapping; give depends_on"),
    ("drug: {values: [a]}\n      dose: {depends_on: drug, values: [1]}",
     "intents.0.slots.dose: depends_on needs values as a mapping"),
    ("ref: {values: [abc], spoken: digits}", "intents.0.slots.ref: spoken applies to number"),
])
def test_dependency_errors_are_one_line_naming_the_field(slots, message):
    with pytest.raises(UserError) as exc:
        scenario(f"  - name: refill\n    slots:\n      {slots}\n")
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_parent_without_a_value_list_is_refused():
    with pytest.raises(UserError, match=r"b\.depends_on: 'a' must take its values from a list"):
        scenario("  - name: r\n    slots:\n      a: {digits: 4}\n      b: {depends_on: a, values: {x: [y]}}\n")


def test_numbers_in_value_lists_are_values():
    sc = scenario("  - name: r\n    slots:\n      a: {values: [1, 2]}\n      b: {depends_on: a, values: {1: [500], 2: [850]}}\n")
    assert {t.command.slots["b"] for t in plan_commands(sc, 4, 1)} == {"500", "850"}


def test_a_file_parent_must_be_fully_mapped(tmp_path):
    (tmp_path / "drugs.txt").write_text("metformin\nibuprofen\n")
    text = HEAD + """  - name: r
    slots:
      drug: {file: drugs.txt}
      dose: {depends_on: drug, values: {metformin: [500 mg]}}
"""
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(UserError, match=r"intents\.0\.slots\.dose\.values: no values for drug 'ibuprofen'"):
        parse_scenario(text, tmp_path / "s.yaml")


# --- spoken forms ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("utterance, forms", [
    ("reference five seven one four nine zero please", {"digits"}),
    ("reference five seven one, four nine zero", {"digits"}),
    ("reference 5 7 1 4 9 0", {"digits"}),
    ("reference 571490", {"cardinal"}),
    ("reference 571,490", {"cardinal"}),
    ("reference five hundred and seventy-one thousand four hundred and ninety", {"cardinal"}),
    ("reference fifty-seven, fourteen, ninety", {"grouped"}),
    ("reference 571 490", {"grouped"}),
    ("reference five seven one four nine", set()),            # a digit short
    ("reference five seven one four nine zero zero", set()),  # a longer number is another value
    ("reference five seven one four nine one", set()),        # a wrong digit
])
def test_forms_said(utterance, forms):
    assert forms_said(utterance, "571490") == forms


def test_oh_and_double_are_digits():
    assert forms_said("call double five seven", "557") == {"digits"}
    assert forms_said("call oh seven seven double oh, nine oh oh", "07700 900") == {"digits"}
    assert not possible("0207", "cardinal") and possible("571490", "cardinal")


@pytest.mark.parametrize("value", ["571490", "0207 946 0000", "(555) 123-4567", "KM-2291", "850 milligrams"])
@pytest.mark.parametrize("form", ["digits", "cardinal", "grouped"])
def test_the_words_the_prompt_gives_pass_the_check_in_that_form_only(value, form):
    if not possible(value, form):
        return
    words = say(value, form)
    assert forms_said(f"my number is {words} thanks", value) == {form}, words


def test_check_accepts_exactly_the_allowed_form():
    data = lambda u: {"utterance": u, "reply": "Done, I have found it."}  # noqa: E731
    slots = {"ref": "571490"}
    ok, why = check_texts(data("Where is order five seven one four nine zero?"), slots, 2, 30, forms={"ref": "digits"})
    assert ok and not why
    ok, why = check_texts(data("Where is order 571490?"), slots, 2, 30, forms={"ref": "digits"})
    assert ok is None and why == "slot ref='571490' is said as one number, not said digit by digit"
    ok, why = check_texts(data("Where is order five seven one four nine?"), slots, 2, 30, forms={"ref": "digits"})
    assert ok is None and why.startswith("utterance lacks slot value ref='571490'")
    ok, why = check_texts(data("Order five seven one four nine zero (said digit by digit)"), slots, 2, 30,
                          forms={"ref": "digits"})
    assert ok is None and why == "utterance copies the prompt's note 'said digit by digit'"
    # without forms, the old check: numbers compared as words
    assert check_texts(data("Where is order 571490?"), slots, 2, 30)[0]


def test_plan_draws_forms_by_weight_and_the_prompt_shows_the_words():
    sc = scenario("  - {name: check, slots: {ref: {digits: 6, spoken: {digits: 0.5, grouped: 0.5}}, "
                  "n: {number: {min: 1, max: 9}}}}\n")
    tasks = plan_commands(sc, 200, 1)
    kinds = [t.forms["ref"] for t in tasks]
    assert 70 < kinds.count("digits") < 130 and set(kinds) == {"digits", "grouped"}
    assert all("n" not in t.forms for t in tasks)  # no spoken: as before, no form
    t = tasks[0]
    shown = prompt_slots(t)["ref"]
    assert shown == f"{say(t.command.slots['ref'], t.forms['ref'])} (said {'digit by digit' if t.forms['ref'] == 'digits' else 'in groups'})"
    assert "forms" not in plan_commands(scenario("  - {name: x, slots: {n: {number: {min: 1, max: 9}}}}\n"), 1, 1)[0].model_dump()


def test_any_form_is_accepted_and_not_hinted():
    sc = scenario("  - {name: check, slots: {ref: {digits: 6, spoken: any}}}\n")
    t = plan_commands(sc, 1, 1)[0]
    ref = t.command.slots["ref"]
    assert t.forms == {"ref": "any"} and prompt_slots(t) == {"ref": ref}
    for form in ("digits", "cardinal", "grouped"):
        words = say(ref, form)
        assert check_texts({"utterance": f"order {words} please", "reply": "Found it."}, {"ref": ref}, 2, 30,
                           forms=t.forms)[0], words
    assert check_texts({"utterance": "order one two please", "reply": "Found it."}, {"ref": ref}, 2, 30,
                       forms=t.forms)[0] is None


def test_identifier_with_a_leading_zero_is_never_asked_as_a_cardinal():
    sc = scenario("  - {name: check, slots: {ref: {pattern: '####', spoken: cardinal}}}\n")
    for t in plan_commands(sc, 300, 1):
        assert t.forms["ref"] == ("digits" if t.command.slots["ref"].startswith("0") else "cardinal")
