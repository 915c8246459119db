import itertools
import json
import random

from scenavox.api import build
from scenavox.quotas import MAX_PLANNED_FACTOR
from scenavox.records import Command, Triple
from scenavox.text.dedup import InOrderDeduper

from .servers import FakeOpenAI


def _t(i, utt, **slots):
    return Triple(id=f"id{i}", index=i, command=Command(intent="set_temperature", slots=slots), utterance=utt,
                  reply="ok")


ITEMS = [
    _t(0, "Set the temperature to 21 degrees", temperature="21 degrees"),
    _t(1, "set the temperature to 21 degrees!", temperature="21 degrees"),  # exact after normalization
    _t(2, "Set the temperature to 21 degree", temperature="21 degrees"),  # near
    _t(3, "Set the temperature to 22 degrees", temperature="22 degrees"),  # other command: kept
    _t(4, "Could you make it 21 degrees in here", temperature="21 degrees"),  # same command, different words
    None,  # an item set aside by the text stage
]


def _run(order, threshold=0.95):
    d = InOrderDeduper(list(range(len(ITEMS))), threshold)
    kept = []
    for i in order:
        kept += d.add(i, ITEMS[i])
    return [t.id for t in kept], d


def test_exact_and_near_within_a_command_only():
    kept, d = _run(range(len(ITEMS)))
    assert kept == ["id0", "id3", "id4"]
    assert d.counts() == {"exact": 1, "near": 1, "wording": 0}
    assert {x.id: (x.kind, x.duplicate_of) for x in d.duplicates} == {"id1": ("exact", "id0"), "id2": ("near", "id0")}
    kept, d = _run(range(len(ITEMS)), threshold=1.0)  # exact copies only
    assert kept == ["id0", "id2", "id3", "id4"] and d.counts() == {"exact": 1, "near": 0, "wording": 0}


def test_kept_set_does_not_depend_on_completion_order():
    want, _ = _run(range(len(ITEMS)))
    rng = random.Random(0)
    for _ in range(20):
        order = list(range(len(ITEMS)))
        rng.shuffle(order)
        got, _ = _run(order)
        assert got == want
    assert all(_run(p)[0] == want for p in itertools.islice(itertools.permutations(range(6)), 50))


def test_pipeline_removes_and_counts_duplicates(make_scenario, tmp_path):
    """A server that always says the same thing for the same command: repeated commands are dropped."""

    def behave(n, body, k):
        body["seed"] = 0  # the fake answer then depends on the command only
        return "ok"

    with FakeOpenAI(behave) as srv:
        sc = make_scenario(srv.url, n=12, concurrency=4)
        # only 10 distinct commands exist: 10 of 12 is the expected short corpus
        res = build(sc, out=tmp_path / "c", workers=0, progress=False, allow_short=True)
    dup = res.summary["duplicates_removed"]
    # Only 3 contacts + 7 temperatures exist: dropped duplicates are topped up with further planned
    # items (up to 5 x n = 60), which keeps the 10 distinct commands and drops the other 50 as copies.
    assert MAX_PLANNED_FACTOR == 5
    assert res.summary["utterances"] == 10 and dup == {"exact": 50, "near": 0, "wording": 0}
    lines = [json.loads(x) for x in (res.out / "duplicates.jsonl").read_text().splitlines()]
    assert len(lines) == 50 and all(x["kind"] == "exact" for x in lines)
    assert len({(t.command.intent, tuple(t.command.slots.items())) for t in res.triples}) == 10


def test_a_wording_over_its_share_of_the_intent_is_dropped_in_index_order():
    temps = [f"{t} degrees" for t in range(16, 29)]
    same = [_t(i, f"Set the temperature to {v}", temperature=v) for i, v in enumerate(temps)]  # one wording
    other = [_t(100 + i, w.format(v), temperature=v) for i, (w, v) in enumerate(zip(
        ["Make it {} please", "Could you do {} in here", "I want {} now", "Change it to {} for me",
         "Turn the heat to {}", "Please go {}", "Cabin at {} thanks", "Warm it to {}", "Cool it to {}",
         "Put it on {}", "Adjust to {}", "{} would be nice", "Go with {}"], temps))]
    items = [x for pair in zip(same, other) for x in pair]
    items = [t.model_copy(update={"index": k}) for k, t in enumerate(items)]  # interleaved in index order
    d = InOrderDeduper([t.index for t in items], 1.0, max_wording_share=0.15)
    kept = []
    for t in sorted(items, key=lambda t: t.index, reverse=True):  # completion order does not matter
        kept += d.add(t.index, t)
    copies = [t for t in kept if t.utterance.startswith("Set the temperature to")]
    assert 3 <= len(copies) <= max(3, 0.15 * len(kept)) + 1
    assert len(copies) / len(kept) <= 0.2
    assert d.counts()["wording"] == len(same) - len(copies)
    assert all(x.kind == "wording" and x.duplicate_of == "id0" for x in d.duplicates)
    # without the cap everything distinct is kept
    d = InOrderDeduper([t.index for t in items], 1.0)
    assert sum(len(d.add(t.index, t)) for t in items) == len(items)


def _alt(t, *wordings):
    """t with other judge-accepted candidates, as the text stage records them."""
    alts = [{"candidate": k + 1, "text_seed": 1000 + k, "utterance": w, "reply": f"reply {k + 1}"}
            for k, w in enumerate(wordings)]
    return t.model_copy(update={"provenance": {"text_seed": 999, "alternatives": alts,
                                               "judge": {"utterance_p": 0.9, "candidates": [
                                                   {"candidate": 0, "utterance_p": 0.9},
                                                   {"candidate": 1, "utterance_p": 0.8},
                                                   {"candidate": 2, "utterance_p": 0.7}]}}})


def test_an_alternative_replaces_a_repeated_wording_and_saves_a_duplicate():
    first = _t(0, "Set the temperature to 21 degrees", temperature="21 degrees")
    # same wording as item 0 (masked): the alternative worded otherwise is kept instead
    second = _alt(_t(1, "Set the temperature to 22 degrees", temperature="22 degrees"),
                  "Warm the cabin up to 22 degrees please")
    # an exact copy of item 0, with an alternative that is not: the item is kept, worded as the alternative
    third = _alt(_t(2, "Set the temperature to 21 degrees", temperature="21 degrees"),
                 "Could you make it 21 degrees")
    # both wordings are made of word pairs kept before (items 0 and 1): the judge's first choice stays
    fourth = _alt(_t(3, "Warm the cabin up to 23 degrees", temperature="23 degrees"),
                  "Set the temperature to 23 degrees")
    d = InOrderDeduper([0, 1, 2, 3], 0.95)
    kept = []
    for t in (fourth, third, second, first):
        kept += d.add(t.index, t)
    by = {t.index: t for t in kept}
    assert [t.index for t in kept] == [0, 1, 2, 3] and d.duplicates == []
    assert by[1].utterance == "Warm the cabin up to 22 degrees please" and by[1].reply == "reply 1"
    assert by[1].provenance["text_seed"] == 1000
    assert by[1].provenance["kept_for_variety"] == {"candidate": 1, "instead_of": 999}
    assert by[1].provenance["judge"]["utterance_p"] == 0.8
    assert by[2].utterance == "Could you make it 21 degrees"
    assert by[3].utterance == "Warm the cabin up to 23 degrees" and "kept_for_variety" not in by[3].provenance
    assert all("alternatives" not in t.provenance for t in kept)


def test_alternatives_that_are_all_duplicates_drop_the_item_with_the_first_choices_reason():
    first = _t(0, "Set the temperature to 21 degrees", temperature="21 degrees")
    copy = _alt(_t(1, "set the temperature to 21 degrees!", temperature="21 degrees"),
                "Set the temperature to 21 degrees.")
    d = InOrderDeduper([0, 1], 0.95)
    assert [t.id for t in d.add(0, first) + d.add(1, copy)] == ["id0"]
    assert [(x.id, x.kind, x.duplicate_of) for x in d.duplicates] == [("id1", "exact", "id0")]
