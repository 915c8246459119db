import pytest

from scenavox.text.normalize import contains, missing_slots, normalize


@pytest.mark.parametrize(
    "text, value",
    [
        ("Set it to twenty-one degrees please", "21 degrees"),
        ("set it to 21 degrees.", "21 degrees"),
        ("Book me at seven thirty PM", "7:30 pm"),
        ("Book me at 7:30 p.m.", "7:30 pm"),
        ("on March third", "March 3rd"),
        ("Call MOM!", "Mom"),
        ("one hundred and five milligrams", "105 milligrams"),
        ("at 9 o'clock am", "9 am"),
        ("Play Adele's new album", "Adele"),  # a possessive names the same artist
        ("Put on Elvis Presley\u2019s greatest hits", "Elvis Presley"),
        ("Drive to St. James's Park", "St. James's Park"),
    ],
)
def test_contains_after_normalization(text, value):
    assert contains(text, value)


@pytest.mark.parametrize(
    "text, value",
    [("set it to 22 degrees", "21 degrees"), ("call Momo", "Mom"), ("twenty degrees", "21 degrees"), ("", "x"),
     ("play Adeles album", "Adele"), ("call Mom's office", "Mom's office manager")],
)
def test_does_not_contain(text, value):
    assert not contains(text, value)


def test_missing_slots_names_the_missing_ones():
    assert missing_slots("Take me to Oak Street", {"destination": "Oak Street", "time": "8 am"}) == ["time"]


def test_normalize_is_stable():
    assert normalize("  Hello,   WORLD!! ") == "hello world"


# Clock times said in words (issue 18: "a time in several ways"), both ways, in the text check's
# normalize() and in QA's canonical() alike.
@pytest.mark.parametrize(
    "said, value",
    [
        ("Book me for half past two in the afternoon", "2:30 pm"),
        ("two thirty pm, please", "2:30 pm"),
        ("at 2.30 pm", "2:30 pm"),  # British style
        ("at 14:30", "2:30 pm"),
        ("quarter to three", "2:45"),
        ("a quarter past nine in the morning", "9:15 am"),
        ("nine o'clock in the morning", "9 am"),
        ("seven forty-five in the evening", "7:45 pm"),
        ("at noon", "12 pm"),
        ("quarter to one", "12:45"),
    ],
)
def test_clock_times_in_words_match_the_written_time(said, value):
    from scenavox.text.normalize import contains_canonical

    assert contains(said, value), (normalize(said), normalize(value))
    assert contains_canonical(said, value)


@pytest.mark.parametrize(
    "said, value",
    [
        ("half past two", "2:30 pm"),  # the part of the day is part of the value
        ("quarter past two", "2:45"),
        ("quarter to three", "3:15"),
        ("half past two in the morning", "2:30 pm"),
        ("it costs 2.30 pounds", "2:30"),  # a price is not a time
    ],
)
def test_clock_times_that_differ_do_not_match(said, value):
    from scenavox.text.normalize import contains_canonical

    assert not contains(said, value)
    assert not contains_canonical(said, value)
