"""How many items a build tries, and which passing clips make the corpus (the top-up policy).

QA drops some voices' clips far more often than others' (Whisper base hears eSpeak's Caribbean
English much worse than Piper's US English), so "the first n clips that passed" would drift off
the scenario's accent weights. Instead:
- each accent's quota comes from the first n planned slots;
- top-ups plan the next untried items of the accents still short, at each accent's own pass rate;
- the corpus takes each accent's quota in plan order;
- an accent whose planned items run out gives its places to the others (`shortfall` names it).

Everything here is a function of the plan and of which clips passed, so a resumed run decides
the same way as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from .records import TextTask
from .sampling import largest_remainder

# Plan at most this many items per requested utterance before giving up on the rest.
MAX_PLANNED_FACTOR = 5


class AccentQuotas:
    """tasks: the whole plan (MAX_PLANNED_FACTOR x n items); accent_of[i]: the accent of plan index i;
    weights: the scenario's accent weights (accent -> weight)."""

    def __init__(self, tasks: Sequence[TextTask], accent_of: Sequence[str], n: int, weights: dict[str, float]):
        self.tasks, self.accent_of, self.n, self.weights = tasks, accent_of, n, weights
        self.quotas = Counter(accent_of[i] for i in range(min(n, len(accent_of))))
        self.tried: set[int] = set()  # plan indices sent through the stages

    def first(self) -> list[TextTask]:
        return list(self.tasks[: self.n])

    def mark_tried(self, tasks: Sequence[TextTask]) -> None:
        self.tried.update(t.index for t in tasks)

    def targets(self, have: Counter[str]) -> dict[str, int]:
        """Passing clips wanted per accent (`have`: passing so far): the quotas of the first n planned
        slots, except that an accent whose planned items are all used keeps what it has and its
        places go to the others."""
        untried = Counter(self.accent_of[t.index] for t in self.tasks if t.index not in self.tried)
        targets = dict(self.quotas)
        while True:
            spent = {a for a in targets if untried[a] == 0 and have[a] < targets[a]}
            open_ = [a for a in targets if a not in spent and untried[a] > 0]
            if not spent or not open_:
                return targets
            for a in spent:
                targets[a] = have[a]
            spare = self.n - sum(targets.values())
            for a, k in zip(open_, largest_remainder(spare, [self.weights[a] for a in open_])):
                targets[a] += k

    def top_up(self, have: Counter[str]) -> tuple[list[TextTask], dict[str, int]]:
        """(the next untried tasks in plan order for the accents still short, the targets).

        Each short accent gets as many tasks as its pass rate so far says it needs; a dialogue
        is planned whole."""
        targets = self.targets(have)
        need = {a: k - have[a] for a, k in targets.items() if k > have[a]}
        if not need:
            return [], targets
        tried = Counter(self.accent_of[i] for i in self.tried)
        budget = {a: math.ceil(k / max(0.25, have[a] / max(1, tried[a]))) for a, k in need.items()}
        todo: list[TextTask] = []
        decided: dict[Any, bool] = {}
        for t in self.tasks:
            if t.index in self.tried:
                continue
            unit = t.index if t.dialogue is None else ("dialogue", t.dialogue.number)
            if unit not in decided:
                if all(b <= 0 for b in budget.values()):
                    break
                decided[unit] = budget.get(self.accent_of[t.index], 0) > 0
            if decided[unit]:
                todo.append(t)
                budget[self.accent_of[t.index]] -= 1
        return todo, targets

    def choose(self, passing: Sequence[Any], index_of: Callable[[Any], int], targets: dict[str, int]) -> list[Any]:
        """The corpus: per accent, its target of passing clips in plan order, then (when the plan
        ran out) the next passing clips of any accent up to n."""
        left = dict(targets)
        chosen, spare = [], []
        for c in sorted(passing, key=index_of):
            a = self.accent_of[index_of(c)]
            if left.get(a, 0) > 0:
                left[a] -= 1
                chosen.append(c)
            else:
                spare.append(c)
        return chosen + spare[: self.n - len(chosen)]

    def shortfall(self, targets: dict[str, int]) -> dict[str, int]:
        """Accents that got fewer clips than their quota, and by how many."""
        return {a: q - targets[a] for a, q in self.quotas.items() if targets[a] < q}

