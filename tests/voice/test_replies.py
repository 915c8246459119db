"""The assistant voice: a role-assistant voice speaks the replies and is never a user voice."""

from collections import Counter

import pytest

from scenavox.errors import UserError
from scenavox.records import Command, Triple
from scenavox.scenario import load_scenario
from scenavox.voice.registry import load_registry, scenario_voices
from scenavox.voice.replies import assistant_voice
from scenavox.voice.speakers import voice_slots
from scenavox.voice.stage import VoicePlanner

REG = """voices:
  - {id: device, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0, role: assistant}
  - {id: user-us, backend: fake, model: sine, language: en, accent: en-US, licence: CC0-1.0}
  - {id: user-gb, backend: fake, model: sine, language: en, accent: en-GB, licence: CC0-1.0}
  - {id: spare-in, backend: fake, model: sine, language: en, accent: en-IN, licence: CC0-1.0}
"""


def triples(n):
    return [Triple(id=f"t{i:04d}", index=i, command=Command(intent="x"), utterance="Call Mom now.", reply="ok")
            for i in range(n)]


@pytest.fixture
def scenario(tmp_path, mini_yaml):
    reg = tmp_path / "roles.yaml"
    reg.write_text(REG)
    sc = load_scenario(str(mini_yaml))
    sc.voices.registry = str(reg)
    return sc


def test_the_default_car_replies_are_hibari_and_no_user_speaks_with_it(repo_cwd):
    sc = load_scenario("prompts/car.yaml")
    planner = VoicePlanner(sc, sc.seed)
    assert planner.assistant.id == "hibari-heart"
    device = {v.id for v in load_registry("default") if v.role == "assistant"}
    assert device == {"hibari-heart"}
    assert not device & {v.id for v in planner.voices}
    n = sc.size.n
    tasks = [planner.task_for(t, slot) for t, slot in zip(triples(n), voice_slots(planner, triples(n)))]
    assert not device & {t.voice["id"] for t in tasks}
    assert Counter(t.reply["voice"]["id"] for t in tasks) == {"hibari-heart": n}
    assert tasks[0].reply["voice"]["role"] == "assistant"
    assert "role" not in tasks[0].voice  # a user voice's dict (hashed into clip ids) is as before


def test_role_assistant_is_preferred_and_never_sampled(scenario):
    planner = VoicePlanner(scenario, 7)
    assert [v.id for v in planner.voices] == ["user-us", "user-gb", "spare-in"]
    slots = planner.schedule(40)
    assert {planner.voice_for(*s).id for s in slots} == {"user-us", "user-gb"}
    assert planner.assistant.id == "device"


def test_the_older_rules_still_apply(scenario):
    users = scenario_voices(scenario)[:2]
    scenario.voices.assistant = "user-gb"  # named: any voice, a user voice too
    assert assistant_voice(scenario, users).id == "user-gb"
    scenario.voices.assistant = None
    scenario.voices.exclude = ["device"]  # the device voice opted out: one that no user accent uses
    assert assistant_voice(scenario, users).id == "spare-in"


@pytest.mark.parametrize("field", ["include", "held_out"])
def test_naming_an_assistant_voice_for_users_is_refused(scenario, field):
    setattr(scenario.voices, field, ["device"])
    with pytest.raises(UserError, match=f"voices.{field}: device only speak the assistant's replies"):
        scenario_voices(scenario)


def test_docs_say_how_to_choose_the_assistant_voice(repo_cwd):
    readme = (repo_cwd / "README.md").read_text()
    for said in ("**The assistant voice.**", "`voices.assistant: <voice id>`", "`role: assistant`",
                 "`hibari-heart`", "| `hibari` |", "kokoro-af-heart-en-029"):
        assert said in readme, said
    registry = (repo_cwd / "voices" / "default.yaml").read_text()
    assert "role (speaker, the default: a user voice |" in registry
    heart = next(v for v in load_registry("default") if v.id == "hibari-heart")
    assert "af_heart" in heart.description and "kokoro-af-heart-en-029" in heart.description
