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


# session 16, a 60-row sample of a default car build: two exported utterances stopped mid-sentence
CUT = "Turn up the temperature to 17 degrees and play the new electronic station with me, you won't believe it, I'll "


@pytest.mark.parametrize("utt, slots, reason", [
    # constrained decoding stopped it at the schema's 110 characters; stripped, it was 109 and passed
    (CUT, {"temperature": "17 degrees"}, "cut off at 110 characters"),
    # the model wrote a quote ("Bob Dylan's "Blowin'...") that closed the JSON string
    ("Can you play Bob Dylan's", {"artist": "Bob Dylan"}, "ends mid-sentence ('Dylan's')"),
    ("Please call Mom and", {"contact": "Mom"}, "ends mid-sentence ('and')"),
    ("I'd like you to play Queen for my", {"artist": "Queen"}, "ends mid-sentence ('my')"),
])
def test_an_utterance_that_stops_mid_sentence_is_refused(utt, slots, reason):
    assert len(CUT) == 110
    fields, why = check_texts({"utterance": utt, "reply": "Okay."}, slots, 2, 30)
    assert fields is None and reason in why


@pytest.mark.parametrize("utt, slots", [
    ("Take me to Joe's", {"destination": "Joe's"}),  # the value ends with the possessive
    ("Turn it on and set it to 20 degrees", {"temperature": "20 degrees"}),
    ("Can you call Mom for me?", {"contact": "Mom"}),
    ("Call Mom, please,", {"contact": "Mom"}),  # the comma a model puts before "reply" goes
    # cut at 110 characters after a complete request: the request is kept, the cut tail dropped
    ("Call Mom for me. " + CUT[: 110 - 17], {"contact": "Mom"}),
])
def test_a_whole_utterance_passes(utt, slots):
    fields, why = check_texts({"utterance": utt, "reply": "Okay."}, slots, 2, 30)
    assert fields is not None, why
    assert not fields["utterance"].endswith(",")


def test_the_scenarios_cap_decides_what_counts_as_cut_off():
    # car's text.max_chars is 72: an utterance of 72 characters was stopped by constrained decoding there
    cut = "Please set the cabin temperature to 17 degrees and play something calm f"
    assert len(cut) == 72
    fields, why = check_texts({"utterance": cut, "reply": "Okay."}, {"temperature": "17 degrees"}, 2, 30, max_chars=72)
    assert fields is None and "cut off at 72 characters" in why
    # under the default cap the same words are not cut off: the next check speaks
    fields, why = check_texts({"utterance": cut, "reply": "Okay."}, {"temperature": "17 degrees"}, 2, 30)
    assert "cut off" not in why
    # a complete request before the cut is kept, the cut tail dropped
    fields, _ = check_texts({"utterance": "Call Mom for me. " + cut[: 72 - 17], "reply": "Calling."},
                            {"contact": "Mom"}, 2, 30, max_chars=72)
    assert fields["utterance"] == "Call Mom for me."


@pytest.mark.parametrize("utt, reply, why", [
    ("Play [artist: Whitney Houston].", "Playing Whitney Houston.", "utterance has markup no one says ('[')"),
    ("Call Sarah at {phone number}.", "Calling Sarah.", "utterance has markup no one says ('{')"),
    ("Play Whitney Houston.", "Playing <artist>.", "reply has markup no one says ('<')"),
])
def test_a_placeholder_left_in_the_text_is_refused(utt, reply, why):
    slots = {"artist": "Whitney Houston"} if "Whitney" in utt else {"contact": "Sarah"}
    assert check_texts({"utterance": utt, "reply": reply}, slots, 2, 30) == (None, why)


def test_a_bracket_inside_a_slot_value_is_said_as_given():
    fields, why = check_texts({"utterance": "Play [Untitled] by Nirvana.", "reply": "Playing [Untitled]."},
                              {"track": "[Untitled]"}, 2, 30)
    assert fields and not why


def test_typographic_apostrophes_are_read_and_kept_as_plain_ones():
    """The checks spell "I'll": a cut-off "I\u2019ll" passed them; an accepted text keeps plain quotes (the dataset's
    text, and what the judge reads)."""
    fields, why = check_texts({"utterance": "Call Mom, and then I\u2019ll", "reply": "Calling Mom."},
                              {"contact": "Mom"}, 2, 30)
    assert fields is None and why == "utterance ends mid-sentence ('I'll')"
    fields, why = check_texts({"utterance": "Don\u2019t wait, call Mom.", "reply": "Calling \u201cMom\u201d."},
                              {"contact": "Mom"}, 2, 30)
    assert fields == {"utterance": "Don't wait, call Mom.", "reply": 'Calling "Mom".'}, why
