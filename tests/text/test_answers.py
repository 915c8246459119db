"""Parsing answers: the repairs an unconstrained model needs, and no more."""

import pytest

from scenavox.text.answers import first_object_end, parse_answer


@pytest.mark.parametrize("raw", [
    '{"utterance": "Call Mom", "reply": "Calling."}',
    '```json\n{"utterance": "Call Mom", "reply": "Calling."}\n```',
    'Sure! Here it is: {"utterance": "Call Mom", "reply": "Calling."} Hope that helps {x}',
    '{"utterance": "Call Mom", "reply": "Calling."}\n{"utterance": "again", "reply": "again"}',
])
def test_repairs(raw):
    assert parse_answer(raw) == ({"utterance": "Call Mom", "reply": "Calling."}, "")


@pytest.mark.parametrize("raw, reason", [
    ('{"utterance": "Call Mom", "reply": "Call', "not valid JSON"),  # cut off: never completed
    ("[1, 2]", "not a JSON object"),
    ("", "not valid JSON"),
    ("no json here", "not valid JSON"),
])
def test_failures(raw, reason):
    data, why = parse_answer(raw)
    assert data is None and reason in why


def test_braces_inside_strings():
    text = '{"utterance": "say }{ now", "slots": {"a": "b"}} tail'
    assert text[: first_object_end(text)] == '{"utterance": "say }{ now", "slots": {"a": "b"}}'
    assert first_object_end('{"a": {"b": 1}') == -1
