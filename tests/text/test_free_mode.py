"""text.mode: free - the model writes the command too. Checks on its command (pure logic), the
prompt it gets, and the whole stage against a REAL llama.cpp server (the bundled SmolLM2)."""

import json

import pytest

from scenavox.errors import UserError
from scenavox.executors import LocalExecutor
from scenavox.records import Command
from scenavox.scenario import load_scenario
from scenavox.text.bundled import bundled_gguf
from scenavox.text.commands import plan_commands
from scenavox.text.free import check_free_answer
from scenavox.text.stage import TextStage

from ..conftest import copy_scenario
from .servers import LlamaServer


@pytest.fixture
def car(tmp_path, repo_cwd):
    return load_scenario(copy_scenario("car", tmp_path)).with_text(mode="free")


def _answer(**kw):
    base = {"intent": "navigate_to", "slots": {"destination": "Elm Street"},
            "utterance": "Take me to Elm Street, please.", "reply": "Starting the route to Elm Street."}
    return json.dumps({**base, **kw})


def test_a_new_command_is_accepted_as_the_model_wrote_it(car):
    intents = {i.name: i for i in car.intents}
    fields, why = check_free_answer(_answer(), intents, 2, 30, ["en"])
    assert why == "" and fields["command"] == Command(intent="navigate_to", slots={"destination": "Elm Street"})
    # another declared intent than the planned one is fine, as long as it is consistent
    fields, why = check_free_answer(_answer(intent="call_contact", slots={"contact": "Grandma Jo"},
                                            utterance="Call Grandma Jo for me", reply="Calling Grandma Jo."),
                                    intents, 2, 30)
    assert fields["command"].intent == "call_contact"


@pytest.mark.parametrize("kw, reason", [
    ({"intent": "open_sunroof"}, "intent 'open_sunroof' is not declared"),
    ({"slots": {"destination": "Elm Street", "speed": "fast"}}, "slot(s) speed do not belong to intent navigate_to"),
    ({"slots": {}}, "required slot(s) destination of intent navigate_to are not filled"),
    ({"slots": {"destination": "Pine Road"}}, "utterance lacks slot value(s) destination='Pine Road'"),
    ({"slots": ["Elm Street"]}, "slots is not a JSON object"),
    ({"utterance": "Llévame a Elm Street ahora mismo, por favor."}, "utterance language es, expected en"),
])
def test_bad_commands_are_refused_with_a_reason(car, kw, reason):
    fields, why = check_free_answer(_answer(**kw), {i.name: i for i in car.intents}, 2, 30, ["en"])
    assert fields is None and why.startswith(reason), why


def test_the_prompt_lists_intents_and_slots_and_asks_for_the_planned_intent(car):
    stage = TextStage(car, backend="fake")
    assert stage.schema["required"] == ["intent", "slots", "utterance", "reply"]
    assert stage.schema["properties"]["intent"]["enum"] == [i.name for i in car.intents]
    task = plan_commands(car, 1, seed=1)[0]
    msgs = stage.free.messages(task)
    system = msgs[0]["content"]
    for i in car.intents:
        assert i.name in system
    assert "temperature = a number from 16 to 28 degrees" in system
    assert "destination = a value like the airport, Central Station" in system
    assert msgs[-1]["content"].startswith(f"Intent: {task.command.intent}")
    assert all(v not in msgs[-1]["content"] for v in task.command.slots.values())  # values are the model's to pick
    shots = [json.loads(m["content"]) for m in msgs if m["role"] == "assistant"]
    assert shots and all(set(s) == {"intent", "slots", "utterance", "reply"} for s in shots)


def test_a_template_without_free_macros_is_a_clear_error(car, tmp_path):
    t = tmp_path / "plain.j2"
    t.write_text("{% macro system(scenario) %}S{% endmacro %}{% macro request(i, s, p, st) %}R{% endmacro %}")
    with pytest.raises(UserError, match="system_free"):
        TextStage(car.with_text(template=str(t)), backend="fake")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_free_mode_against_a_real_llama_cpp_server(car, tmp_path):
    """The 135M model invents commands badly: what counts is that every kept item is consistent and
    every other one is set aside with a reason, not how many pass."""
    srv = LlamaServer(bundled_gguf(), log=tmp_path / "server.log").start()
    try:
        sc = car.with_text(backend="openai", model="smollm2", base_url=srv.url, structured_output="json_object",
                           concurrency=2, max_attempts=2, request_timeout_s=120)
        stage = TextStage(sc)
        tasks = plan_commands(sc, 4, seed=4)
        outs = list(LocalExecutor().map(stage, tasks))
    finally:
        srv.stop()
    assert len(outs) == 4
    intents = {i.name: i for i in sc.intents}
    for o in outs:
        if o.record is not None:
            t = o.record
            assert t.provenance["text_mode"] == "free" and t.provenance["planned_intent"] in intents
            cmd = t.command
            assert cmd.intent in intents and set(cmd.slots) <= set(intents[cmd.intent].slots)
            # the record holds the model's own command, re-checked from scratch
            _, why = check_free_answer(json.dumps({"intent": cmd.intent, "slots": cmd.slots,
                                                       "utterance": t.utterance, "reply": t.reply}), intents, 2, 30)
            assert why == "", why
        else:
            q = o.quarantined
            assert q.reason and "request failed" not in q.reason
            # an attempt keeps its raw answer, or (judged best-of-k) every candidate's answer or score
            assert len(q.attempts) == 2 and all((a["raw"] or a.get("candidates")) and a["reason"] for a in q.attempts)
    assert sum(o.metrics.get("completion_tokens", 0) for o in outs) > 0
