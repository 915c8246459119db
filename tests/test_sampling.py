"""Largest-remainder cuts and smooth weighted round-robin: whole items that follow the weights."""

from __future__ import annotations

import pytest

from scenavox.sampling import SmoothWeightedRoundRobin, largest_remainder
from scenavox.splits import SPLITS, Member, assign_splits


@pytest.mark.parametrize("total,weights,want", [
    (10, [1, 1, 1], [4, 3, 3]),  # a tie goes to the lower index
    (7, [0.8, 0.1, 0.1], [5, 1, 1]),
    (20, [0.8, 0.1, 0.1], [16, 2, 2]),
    (5, [0.5, 0.0, 0.5], [3, 0, 2]),  # a zero weight gets nothing
    (0, [1, 2], [0, 0]),
    (3, [], []),
])
def test_largest_remainder(total, weights, want):
    assert largest_remainder(total, weights) == want


def test_largest_remainder_sums_to_total_and_stays_within_one_of_exact():
    weights = [0.37, 0.21, 0.29, 0.13]
    for total in range(200):
        got = largest_remainder(total, weights)
        assert sum(got) == total
        assert all(abs(g - total * w / sum(weights)) < 1 for g, w in zip(got, weights))


def test_round_robin_prefixes_follow_the_weights():
    weights = [3, 1, 2]
    rr = SmoothWeightedRoundRobin(weights)
    seq = [rr.next() for _ in range(600)]
    assert seq[:6] == [0, 2, 0, 1, 2, 0]
    for n in range(1, len(seq) + 1):
        for k, w in enumerate(weights):
            assert abs(seq[:n].count(k) - n * w / sum(weights)) <= 1


def test_split_assignment_keeps_groups_and_sends_held_out_voices_to_test():
    members = [Member(f"c{i}", f"d{i // 3}", "held" if i // 3 == 5 else f"v{i % 4}") for i in range(60)]
    shares = {"train": 0.8, "validation": 0.1, "test": 0.1}
    split_of = assign_splits(members, shares, seed=7, held_out={"held"})
    by_group: dict[str, set[str]] = {}
    for m in members:
        by_group.setdefault(m.group, set()).add(split_of[m.id])
    assert all(len(s) == 1 for s in by_group.values())  # a group (a dialogue's turns) shares one split
    assert by_group["d5"] == {"test"}
    # the other 19 groups are cut by the shares: 15.2/1.9/1.9 -> 15, 2, 2
    counts = {s: sum(1 for g, ss in by_group.items() if g != "d5" and ss == {s}) for s in SPLITS}
    assert counts == {"train": 15, "validation": 2, "test": 2}
    # the order members come in does not matter; the seed does
    assert assign_splits(reversed(members), shares, seed=7, held_out={"held"}) == split_of
    assert assign_splits(members, shares, seed=8, held_out={"held"}) != split_of


def test_a_split_without_a_share_gets_nothing_but_held_out_voices():
    members = [Member(f"c{i}", f"c{i}", "h" if i == 0 else "v") for i in range(10)]
    split_of = assign_splits(members, {"train": 1.0}, seed=0, held_out={"h"})
    assert split_of["c0"] == "test" and {split_of[m.id] for m in members[1:]} == {"train"}
