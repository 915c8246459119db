"""The top-up policy on its own: quotas from the plan, top-ups by pass rate, the corpus in plan order."""

from collections import Counter

from scenavox.quotas import AccentQuotas
from scenavox.records import Command, TextTask


def _plan(accents: str) -> tuple[list[TextTask], list[str]]:
    tasks = [TextTask(id=f"t{i}", index=i, command=Command(intent="x"), seed=0) for i in range(len(accents))]
    return tasks, [{"u": "en-US", "g": "en-GB"}[a] for a in accents]


def test_quotas_come_from_the_first_n_slots():
    tasks, acc = _plan("uugugugugg")
    q = AccentQuotas(tasks, acc, 4, {"en-US": 1, "en-GB": 1})
    assert q.quotas == Counter({"en-US": 3, "en-GB": 1})
    assert [t.index for t in q.first()] == [0, 1, 2, 3]


def test_top_up_goes_to_the_short_accent_at_its_pass_rate():
    tasks, acc = _plan("ugugugugugugugug")
    q = AccentQuotas(tasks, acc, 4, {"en-US": 1, "en-GB": 1})
    q.mark_tried(q.first())
    # en-US: 2 of 2 passed; en-GB: 0 of 2 passed (rate floor 0.25 -> 4 tries per missing clip)
    todo, targets = q.top_up(Counter({"en-US": 2}))
    assert targets == {"en-US": 2, "en-GB": 2}
    assert {acc[t.index] for t in todo} == {"en-GB"}
    assert len(todo) == 6  # only 6 en-GB items are left untried, fewer than the 8 the budget allows
    assert q.top_up(Counter({"en-US": 2, "en-GB": 2}))[0] == []


def test_spent_accent_gives_its_places_to_the_others():
    tasks, acc = _plan("uguuuu")
    q = AccentQuotas(tasks, acc, 2, {"en-US": 1, "en-GB": 1})
    q.mark_tried(tasks[:2])
    targets = q.targets(Counter({"en-US": 1}))  # the one en-GB item failed and no other is planned
    assert targets == {"en-US": 2, "en-GB": 0}
    assert q.shortfall(targets) == {"en-GB": 1}


def test_choose_takes_each_quota_in_plan_order_then_fills_up():
    tasks, acc = _plan("uuuugg")
    q = AccentQuotas(tasks, acc, 4, {"en-US": 1, "en-GB": 1})
    chosen = q.choose([5, 3, 0, 1, 2, 4], lambda i: i, {"en-US": 2, "en-GB": 2})
    assert chosen == [0, 1, 4, 5]
    assert q.choose([0, 1, 2, 3], lambda i: i, {"en-US": 1, "en-GB": 3}) == [0, 1, 2, 3]
