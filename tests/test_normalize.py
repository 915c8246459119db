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
