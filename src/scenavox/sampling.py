"""Deterministic ways to share a whole number of items out by weights.

Both keep every prefix (or every total) as close to the weights as whole items allow, without
randomness, so a plan is a pure function of its inputs: intents and accents are scheduled with
`SmoothWeightedRoundRobin`, split sizes and accent quotas are cut with `largest_remainder`.
"""

from __future__ import annotations

from collections.abc import Sequence


class SmoothWeightedRoundRobin:
    """Smooth weighted round-robin over indices 0..len(weights)-1 (nginx's scheduler).

    Every prefix of the sequence of `next()` values is within one item of the exact shares,
    and the sequence does not depend on how long it will be (growing a plan keeps its start).
    Ties go to the lower index.
    """

    def __init__(self, weights: Sequence[float]):
        total = sum(weights)
        self.weights = [w / total for w in weights]
        self.current = [0.0] * len(self.weights)

    def next(self) -> int:
        for k, w in enumerate(self.weights):
            self.current[k] += w
        best = max(range(len(self.current)), key=lambda k: (self.current[k], -k))
        self.current[best] -= 1.0
        return best


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split into whole numbers proportional to `weights` that sum to `total`.

    Each part gets the whole part of its exact share; the items left over go to the largest
    fractional remainders (ties: the lower index). Zero weights get nothing.
    """
    if total <= 0 or not weights:
        return [0] * len(weights)
    s = sum(weights)
    exact = [total * w / s for w in weights]
    out = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - out[i], reverse=True)[: total - sum(out)]:
        out[i] += 1
    return out
