"""A small model's rambling after the request is cut; the request itself is never shortened."""

import pytest

from scenavox.text.checks import check_texts, request_only


@pytest.mark.parametrize("utt, slots, want", [
    ("Call Mom for me. I'm calling you today.", {"contact": "Mom"}, "Call Mom for me."),
    ("Set the temperature to 20 degrees., here I am.", {"temperature": "20 degrees"},
     "Set the temperature to 20 degrees."),
    ("Um, can you play some Elvis Presley? I don't know what to say.", {"artist": "Elvis Presley"},
     "Um, can you play some Elvis Presley?"),
    # context before the request stays; so does a request that needs two sentences
    ("It is cold in here. Set it to 21 degrees, please.", {"temperature": "21 degrees"},
     "It is cold in here. Set it to 21 degrees, please."),
    ("Call Aunt Lucy. Then play Queen.", {"contact": "Aunt Lucy", "artist": "Queen"},
     "Call Aunt Lucy. Then play Queen."),
    ("Call Doctor Patel now.", {"contact": "Doctor Patel"}, "Call Doctor Patel now."),
    ("Open the window. It is hot.", {}, "Open the window. It is hot."),  # no slot marks the end
])
def test_request_only(utt, slots, want):
    assert request_only(utt, slots, {}) == want


def test_check_texts_keeps_the_request_and_still_refuses_a_missing_value():
    fields, _ = check_texts({"utterance": "Call Sarah for me. Here is your phone number.", "reply": "Calling Sarah."},
                            {"contact": "Sarah"}, 2, 30)
    assert fields["utterance"] == "Call Sarah for me."
    fields, reason = check_texts({"utterance": "Call her for me. She is nice.", "reply": "Calling."},
                                 {"contact": "Sarah"}, 2, 30)
    assert fields is None and "lacks slot value" in reason
