"""The records between stages: content-addressed ids, strict schemas, lossless round trips."""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from scenavox.records import Clip, Command, DialogueTurn, Quarantined, TextTask, Triple, VoiceTask, content_id
from scenavox.store import Store

PARTS = ("text", "abc", 7, {"b": 1, "a": [1, 2.5, None]})


def test_content_id_is_pinned():
    """Ids name the files of every corpus folder: if this hash changes, every stored item is redone
    on the next run and no corpus is reproducible across versions."""
    assert content_id(*PARTS) == "2e8f27b03676d37f"


def test_content_id_depends_on_content_only():
    assert content_id({"a": 1, "b": 2}) == content_id({"b": 2, "a": 1})  # key order is not content
    assert content_id("a", "b") != content_id("b", "a")  # part order is
    assert content_id("1") != content_id(1) and content_id(1) != content_id(1.5)
    assert content_id("day", datetime.date(2027, 1, 4)) == content_id("day", "2027-01-04")  # dates as text
    assert content_id("p", Path("a/b")) == content_id("p", "a/b")
    assert len(content_id(*PARTS, length=8)) == 8 and content_id(*PARTS).startswith(content_id(*PARTS, length=8))


def test_content_id_is_the_same_in_every_process():
    """No str hash, set order or dict order leaks in: workers and reruns agree."""
    code = f"from scenavox.records import content_id; print(content_id(*{PARTS!r}))"
    seen = set()
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        seen.add(r.stdout.strip())
    assert seen == {content_id(*PARTS)}


def full_records():
    previous = Command(intent="set_temperature", slots={"temperature": "20 degrees"})
    turn = DialogueTurn(id="d1", number=0, turn=1, n_turns=2, kind="correction", barge_in=True, speaker="driver",
                        speaker_index=0, previous=previous, changed=["temperature"])
    cmd = Command(intent="set_temperature", slots={"temperature": "22 degrees", "zone": "driver side"})
    task = TextTask(id="t1", index=3, command=cmd, persona="commuter", style="terse", seed=11, dialogue=turn)
    triple = Triple(id="t1", index=3, command=cmd, utterance="No, make it 22 degrees – ça va?", reply="Done.",
                    persona="commuter", style="terse", provenance={"text_backend": "fake", "nested": {"k": [1, 2]}},
                    dialogue=turn)
    voice = VoiceTask(id="v1", triple=triple, voice={"id": "piper-joe-us", "options": {"espeak_voice": "en-us"}},
                      prosody={"rate": 1.1, "level_dbfs": -20.0}, sample_rate=16000, format="flac", seed=5,
                      acoustics={"preset": "cabin", "noise": {"environment": "vehicle_cabin"}},
                      reply={"id": "r1", "text": "Done."})
    clip = Clip(id="v1", triple_id="t1", audio_path="audio/v1.flac", text=triple.utterance, sample_rate=16000,
                duration_s=1.25, voice_id="piper-joe-us", accent="en-US", language="en", prosody={"rate": 1.1},
                acoustics={"snr_db": 12.5, "measured_snr_db": 12.4}, clean_audio_path="clean/v1.flac",
                provenance={"tts_backend": "piper"}, reply_audio_path="replies/r1.flac", reply_duration_s=0.5,
                reply_voice_id="espeak-en-gb")
    quarantined = Quarantined(id="t9", stage="text", reason="utterance lacks slot value(s)",
                              attempts=[{"raw": "{}"}], input=task.model_dump(mode="json"))
    return [task, triple, voice, clip, quarantined]


@pytest.mark.parametrize("record", full_records(), ids=lambda r: type(r).__name__)
def test_round_trip_json_store_and_manifest(tmp_path, record):
    model = type(record)
    assert model.model_validate_json(record.model_dump_json()) == record
    store = Store(tmp_path)
    store.put("kind", record)
    assert store.get("kind", record.id, model) == record
    line = store.write_jsonl("m.jsonl", [record]).read_text(encoding="utf-8")
    assert model.model_validate(json.loads(line)) == record


@pytest.mark.parametrize("record", full_records(), ids=lambda r: type(r).__name__)
def test_unknown_fields_are_refused(tmp_path, record):
    """A field this version does not know (a typo, or a newer format) is an error, never silently dropped."""
    model = type(record)
    data = record.model_dump(mode="json")
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate({**data, "surprise": 1})
    # and in a nested record
    if "command" in data:
        bad = {**data, "command": {**data["command"], "slot": {}}}
        with pytest.raises(ValidationError, match="extra"):
            model.model_validate(bad)
    # the store treats such a file as missing: the item is redone rather than half read
    store = Store(tmp_path)
    (tmp_path / "kind").mkdir()
    (tmp_path / "kind" / f"{record.id}.json").write_text(json.dumps({**data, "surprise": 1}))
    assert store.get("kind", record.id, model) is None


def test_required_fields_are_required():
    with pytest.raises(ValidationError):
        Triple(id="t", index=0, command=Command(intent="x"), utterance="u")  # no reply
    assert Command(intent="x").slots == {} and Triple(id="t", index=0, command=Command(intent="x"), utterance="u",
                                                      reply="r").dialogue is None
