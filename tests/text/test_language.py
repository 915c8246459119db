"""The language check (py3langid's bundled model and a script test) and its place in validation."""

import json

import pytest

from scenavox.records import Command, TextTask
from scenavox.scenario import load_scenario
from scenavox.text.language import detect_language, language_problem
from scenavox.text.stage import TextStage, check_answer

from ..conftest import copy_scenario


@pytest.mark.parametrize("text, allowed", [
    ("Take me to the train station, please.", {"en"}),
    ("Um, could you set the cabin to twenty-one degrees?", {"en"}),
    ("Call Mom", {"en"}),  # too short to judge: passes
    ("Hola, can I get 2 tacos?", {"en"}),  # a word of Spanish in English: still English
    ("Play some Bob Marley, gracias amigo", {"en"}),
    ("帮我叫车去广州塔。", {"zh", "yue"}),
    ("唔該幫我叫車去尖沙咀", {"yue"}),
    ("Bring mich bitte zum Bahnhof.", {"en", "de"}),  # a bilingual scenario allows both
    ("Set the temperature to 20 degrees.", {"en-US"}),  # tags with a region are reduced to the language
])
def test_text_in_an_allowed_language_passes(text, allowed):
    assert detect_language(text, allowed) is None


@pytest.mark.parametrize("text, allowed, found", [
    ("Llévame a la estación de tren, por favor.", {"en"}, "es"),
    ("Bring mich bitte zum Bahnhof, danke schön.", {"en"}, "de"),
    ("Emmène-moi à la gare, s'il te plaît.", {"en", "es"}, "fr"),
    ("帮我叫车去广州塔。", {"en"}, "zh"),
    ("Позвони маме, пожалуйста", {"en"}, "ru"),
    ("東京駅まで行ってください", {"zh"}, "ja"),
    ("Please book a ride to the airport now", {"zh", "yue"}, "en"),
])
def test_text_in_another_language_is_named(text, allowed, found):
    assert detect_language(text, allowed) == found


def test_slot_values_do_not_count():
    # a Latin brand name in a Chinese sentence, a Chinese place name in an English one
    assert detect_language("帮我放 Taylor Swift 的歌吧", {"zh"}, ["Taylor Swift"]) is None
    assert detect_language("Take me to 白云机场 right now please", {"en"}, ["白云机场"]) is None
    assert language_problem("Llévame al aeropuerto, por favor.", ["en"]) == "utterance language es, expected en"
    assert language_problem("Llévame al aeropuerto, por favor.", ["en", "es"]) == ""


def test_check_answer_reports_the_language():
    task = TextTask(id="t", index=0, command=Command(intent="x", slots={"dest": "Oak Street"}), seed=0)
    raw = json.dumps({"utterance": "Llévame a Oak Street ahora mismo, por favor.", "reply": "Claro, vamos."})
    fields, why = check_answer(raw, task, 2, 30, ["en"])
    assert fields is None and why == "utterance language es, expected en"
    assert check_answer(raw, task, 2, 30)[0] is not None  # no languages given: no check
    raw = json.dumps({"utterance": "Take me to Oak Street please", "reply": "Claro, vamos a la calle ahora mismo."})
    assert check_answer(raw, task, 2, 30, ["en"])[1] == "reply language es, expected en"


def test_english_answers_in_a_chinese_scenario_are_quarantined(tmp_path, repo_cwd):
    """The fake backend writes English around the Chinese slot values: every item is set aside with the
    language reason after its retries; with text.check_language: false the same answers pass."""
    sc = load_scenario(copy_scenario("taxi_zh", tmp_path)).with_text(backend="fake")
    task = TextTask(id="t1", index=0, command=Command(intent="book_ride", slots={"destination": "白云机场"}), seed=3)
    out = TextStage(sc).run_one(task)
    assert out.record is None
    assert out.quarantined.reason == "utterance language en, expected yue or zh"
    assert len(out.quarantined.attempts) == sc.text.max_attempts
    out = TextStage(sc.with_text(check_language=False)).run_one(task)
    assert out.record is not None and "白云机场" in out.record.utterance


def test_the_last_example_before_the_request_has_the_items_intent(repo_cwd):
    """A small model copies the last example's shape: the prompt repeats one example of the item's own
    intent right before the request, after a prefix that is the same for every item (KV cache reuse)."""
    sc = load_scenario("car")
    stage = TextStage(sc, backend="fake")
    from scenavox.text.commands import plan_commands

    tasks = plan_commands(sc, 8, seed=2)
    msgs = [stage.prompts.messages(t) for t in tasks]
    n = len(stage.prompts.prefix)
    assert all(m[:n] == stage.prompts.prefix for m in msgs)
    for t, m in zip(tasks, msgs):
        assert len(m) == n + 3 and m[-1]["content"].startswith(f"Intent: {t.command.intent}")
        assert m[-3]["content"].startswith(f"Intent: {t.command.intent}")
        assert json.loads(m[-2]["content"])["utterance"] in {e.utterance for e in sc.examples}
